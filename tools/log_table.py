#!/usr/bin/env python3
"""Constants of VectorMath's table-driven float log (issue 10): regenerate them with

    python3 tools/log_table.py [degree]

(numpy only; /work/V/bin/python has it). Prints the Java constants to paste into
src/main/java/dev/vecloss/internal/panama/VectorMath.java.

The reduction: w = 2^k z, z in [OFF_z, 2 OFF_z) about [sqrt(1/2), sqrt(2)), taken from the bits
(tmp = bits(w) - LOG_OFF, k = tmp >> 23, z = bits(w) - (k << 23)); j = the top 3 bits of tmp's
mantissa field picks one of 8 sub-intervals, contiguous in the bits: 1/16 wide below 1, 1/8 above.
Entry 4 holds 1 (LOG_OFF places it so that 1 is about where |z - 1| is balanced) and has
invc = 1, logc = 0, so that r = z - 1 is exact next to 1, where log(z) is about r and must keep
its relative accuracy. Entries 3 and 5, on either side, where log(z) is still as small as r:
invc = C 2^-q with so few bits that z invc - 1 is exact (17/16 and 29/32), logc = -log(invc) in
two floats (LOG_LOGC + LOG_LOGC_LO). The other entries: invc a float near 2 / (a + b) (the value that makes
max |z invc - 1| smallest over the sub-interval [a, b)), searched among +-2^11 float neighbours
for the one whose -log(invc) is nearest a float (so that one float holds log c = -log(invc) to
about 2^-36 of its value; LOG_LOGC_LO keeps the rest all the same); then r = z invc - 1 (one fused multiply-add) and
log(z) = logc + log1p(r) exactly, whatever invc is.

The polynomial: log1p(r) = r + r^2 Q(r), Q the minimax polynomial (Remez in float64, then
rounded to float) of (log1p(r) - r) / r^2 over [-rmax, rmax], rmax the largest |r| of the
table. Its error in Q is multiplied by r^2: relative to log(z) it is at most about rmax times
the error of Q next to 1 (entry 4) and far less elsewhere.
"""
import sys

import numpy as np

DEG = int(sys.argv[1]) if len(sys.argv) > 1 else 4  # degree of Q


def f32(x):
    return float(np.float32(x))


def bits(x):
    return int(np.array([x], dtype=np.float32).view(np.uint32)[0])


def from_bits(b):
    return float(np.array([b], dtype=np.uint32).view(np.float32)[0])


ONE = bits(1.0)
# 1 sits DELTA bits above the start of entry 4: below 1 a bit is 2^-24, above 2^-23, so
# DELTA = 2^21 / 3 balances 1 - a and b - 1; rounded to a multiple of 2^12
DELTA = round((1 << 21) / 3 / 4096) * 4096
OFF = ONE - 4 * (1 << 20) - DELTA


def entry(j):
    return from_bits(OFF + j * (1 << 20)), from_bits(OFF + (j + 1) * (1 << 20))


def max_r(invc, a, b):
    return max(abs(a * invc - 1), abs(b * invc - 1))


invc, logc, rmax = [], [], 0.0
logc_lo_extra = {}
for j in range(8):
    a, b = entry(j)
    if j == 4:
        assert a < 1 < b
        invc.append(1.0)
        logc.append(0.0)
        rmax = max(rmax, max_r(1.0, a, b))
        continue
    if j in (3, 5):
        # next to 1's entry, where log z is as small as r: invc with few bits, so that
        # z invc - 1 is exact in the fused multiply-add (z has 24 bits, |r| < 2^-4: invc = C 2^-q
        # with 24 + q - 4 <= 24 bits below 1, 23 + q - 4 <= 24 above), logc in two floats
        q = 4 if b <= 1 else 5
        c = round(2 / (a + b) * 2**q) / 2**q
        assert max_r(c, a, b) < 2**-4
        invc.append(c)
        lc = -np.log(c)
        logc.append(f32(lc))
        logc_lo_extra[j] = f32(lc - f32(lc))
        rmax = max(rmax, max_r(c, a, b))
        continue
    centre = bits(2 / (a + b))
    best = None
    for d in range(-2048, 2049):
        c = from_bits(centre + d)
        lc = -np.log(c)  # float64: 29 bits beyond float's 24
        err = abs(lc - f32(lc)) / abs(lc)
        if best is None or err < best[0]:
            best = (err, c, f32(lc))
    invc.append(best[1])
    logc.append(best[2])
    rmax = max(rmax, max_r(best[1], a, b))

# Remez for Q(r) ~ g(r) = (log1p(r) - r) / r^2 on [-rmax, rmax], absolute error
def g(r):
    r = np.asarray(r, dtype=np.float64)
    out = np.empty_like(r)
    small = np.abs(r) < 1e-4
    rs = r[small]
    out[small] = -0.5 + rs / 3 - rs**2 / 4 + rs**3 / 5 - rs**4 / 6
    rb = r[~small]
    out[~small] = (np.log1p(rb) - rb) / rb**2
    return out


n = DEG + 2
x = rmax * np.cos(np.pi * np.arange(n)[::-1] / (n - 1))
grid = np.linspace(-rmax, rmax, 200001)
for _ in range(30):
    A = np.column_stack([x**i for i in range(DEG + 1)] + [(-1.0) ** np.arange(n)])
    sol = np.linalg.solve(A, g(x))
    coef = sol[:-1]
    err = np.polyval(coef[::-1], grid) - g(grid)
    # new reference: the extremum of each sign run
    sign = np.sign(err)
    idx, start = [], 0
    for i in range(1, len(grid) + 1):
        if i == len(grid) or sign[i] != sign[start]:
            run = np.arange(start, i)
            idx.append(run[np.argmax(np.abs(err[run]))])
            start = i
    if len(idx) >= n:
        idx = np.array(idx)
        while len(idx) > n:  # drop the smaller end
            idx = idx[1:] if abs(err[idx[0]]) < abs(err[idx[-1]]) else idx[:-1]
        x = grid[idx]
coef32 = [f32(c) for c in coef]
err32 = np.max(np.abs(np.polyval(np.array(coef32[::-1]), grid) - g(grid)))

print(f"// tools/log_table.py {DEG}: OFF 0x{OFF:08x}, max |r| {rmax:.6f}, error of Q {err32:.3e}"
      f" (float coefficients; {np.max(np.abs(err)):.3e} in float64)")
print(f"private static final int LOG_OFF = 0x{OFF:08x};")
def jf(v):  # a Java float literal that is exactly v
    return "0f" if v == 0 else v.hex().replace("0000000p", "p").replace("p+", "p") + "f"


print("private static final float[] LOG_INVC = {" + ", ".join(jf(v) for v in invc) + "};")
print("private static final float[] LOG_LOGC = {" + ", ".join(jf(v) for v in logc) + "};")
logc_lo = [logc_lo_extra.get(j, f32(-np.log(invc[j]) - logc[j])) for j in range(8)]
print("private static final float[] LOG_LOGC_LO = {" + ", ".join(jf(v) for v in logc_lo) + "};")
for j in range(8):
    a, b = entry(j)
    lc_err = abs(-np.log(invc[j]) - logc[j] - logc_lo[j])
    print(f"//   j={j}: z in [{a:.6f}, {b:.6f}), invc {invc[j]!r}, logc {logc[j]!r}, |logc err| {lc_err:.2e},"
          f" max|r| {max_r(invc[j], a, b):.5f}")
print("private static final float " + ", ".join(
    f"LQ{i} = {np.float32(c)}f" for i, c in enumerate(coef32)) + ";")
