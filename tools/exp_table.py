#!/usr/bin/env python3
"""The table of ScalarMath.exp (the scalar kernels' exponential): regenerate it with

    python3 tools/exp_table.py

(standard library only). Prints TWO_J_64 for
src/main/java/dev/vecloss/internal/ScalarMath.java: for j = 0..63, 2^(j/64) as the float64
nearest it (hi) and the float64 nearest the rest (lo), interleaved, each exact to 50 digits
before rounding (decimal module).
"""
from decimal import Decimal, getcontext

getcontext().prec = 50


def hexd(v):
    return v.hex() if v != 0 else "0.0"


pairs = []
for j in range(64):
    exact = (Decimal(2) ** (Decimal(j) / 64))
    hi = float(exact)  # Decimal -> float rounds to nearest
    lo = float(exact - Decimal(hi))
    pairs.append((hexd(hi), hexd(lo)))

print("    private static final double[] TWO_J_64 = { // 2^(j/64): hi, lo (tools/exp_table.py)")
for i in range(0, 64, 2):
    print("        " + ", ".join(f"{h}, {l}" for h, l in pairs[i:i + 2]) + ",")
print("    };")
