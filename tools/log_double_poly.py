#!/usr/bin/env python3
"""The polynomial of VectorMath.logDoubleInto (kl_div's log t in double): regenerate it with

    python3 tools/log_double_poly.py [degree]

(mpmath; /work/V/bin/python has it). Prints the Java constants LD0..LDn to paste into
src/main/java/dev/vecloss/internal/panama/VectorMath.java.

logDoubleInto reduces w = 2^k z and r = z invc - 1 as the float log does (tools/log_table.py:
the same eight-entry tables, |r| <= 0.05714), but forms r exactly in double (z and invc are floats,
their product has 48 bits) and evaluates log1p(r) = r + r^2 P(r) in double. P is the minimax
polynomial (Remez on the absolute error, 50 digits, then rounded to double) of
(log1p(r) - r) / r^2 on [-RMAX, RMAX]; its error is multiplied by r^2 in the log. Degree 7 gives
8.9e-14 in P, 2.9e-16 in the log at |r| = RMAX (degree 6: 1.1e-14 in the log; degree 5: 4.5e-13).
"""
import sys

import mpmath as mp

DEG = int(sys.argv[1]) if len(sys.argv) > 1 else 7
RMAX = 0.05714  # the largest |r| of the float log's table (tools/log_table.py prints it)
mp.mp.dps = 50


def g(r):
    r = mp.mpf(r)
    if abs(r) < mp.mpf("1e-12"):  # log1p(r) - r cancels: the series, to 1e-48
        return -mp.mpf(1) / 2 + r / 3 - r**2 / 4 + r**3 / 5
    return (mp.log1p(r) - r) / r**2


n = DEG + 2
xs = [RMAX * mp.cos(mp.pi * (n - 1 - i) / (n - 1)) for i in range(n)]
grid = [mp.mpf(-RMAX) + 2 * mp.mpf(RMAX) * i / 4000 for i in range(4001)]
gg = [g(x) for x in grid]
for _ in range(15):
    a = mp.matrix([[x**i for i in range(DEG + 1)] + [(-1) ** k] for k, x in enumerate(xs)])
    sol = mp.lu_solve(a, mp.matrix([g(x) for x in xs]))
    coef = [sol[i] for i in range(DEG + 1)]
    err = [mp.polyval(coef[::-1], x) - gx for x, gx in zip(grid, gg)]
    # the new reference: the extremum of each sign run
    idx, start = [], 0
    for i in range(1, len(grid) + 1):
        if i == len(grid) or (err[i] > 0) != (err[start] > 0):
            idx.append(max(range(start, i), key=lambda k: abs(err[k])))
            start = i
    while len(idx) > n:  # drop the smaller end
        idx = idx[1:] if abs(err[idx[0]]) < abs(err[idx[-1]]) else idx[:-1]
    if len(idx) == n:
        xs = [grid[k] for k in idx]
cd = [float(c) for c in coef]
fine = [mp.mpf(-RMAX) + 2 * mp.mpf(RMAX) * i / 20000 for i in range(20001)]
err_p = max(abs(mp.polyval([mp.mpf(c) for c in cd[::-1]], x) - g(x)) for x in fine)
err_log = max(abs(mp.polyval([mp.mpf(c) for c in cd[::-1]], x) - g(x)) * x * x for x in fine)
print(f"// tools/log_double_poly.py {DEG}: |r| <= {RMAX}, error {mp.nstr(err_p, 3)} in P, "
      f"{mp.nstr(err_log, 3)} in the log (double coefficients)")
print("private static final double " + ", ".join(f"LD{i} = {c!r}" for i, c in enumerate(cd)) + ";")
