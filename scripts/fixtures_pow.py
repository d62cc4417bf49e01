#!/usr/bin/env python3
"""Writes tests/fixtures/pow.json: PyTorch 1.13's x^p and its gradient for the exponents PyTorch
computes by their own formulas (0, 1, 0.5, -0.5, -1, 2, 3, -2), at special inputs (zeros of both
signs, infinities, NaN, a float32 denormal) and random ones, in float32 and float64, read by
tests/test_ops_unary.cpp, which requires minigrad's pow to give the same bits.

Each case holds x, a random upstream gradient dy, y = x^p and dx, the gradient of L = sum(y * dy).
JSON has no infinity or NaN: those are written as the strings "inf", "-inf" and "nan".
Run with /usr/bin/python3 (python3-torch); scripts/make_fixtures.sh runs every generator.
"""
import json
import math
import os

import torch

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "pow.json")
EXPONENTS = [0.0, 1.0, 0.5, -0.5, -1.0, 2.0, 3.0, -2.0]


def values(t):
    out = []
    for v in t.detach().reshape(-1).tolist():
        if math.isnan(v):
            out.append("nan")
        elif math.isinf(v):
            out.append("inf" if v > 0 else "-inf")
        else:
            out.append(v)
    return out


def main():
    torch.manual_seed(2024)
    special = [0.0, -0.0, math.inf, -math.inf, math.nan, 1e-40, -1e-40, 1.0, -1.0]
    cases = []
    for dtype in [torch.float32, torch.float64]:
        x0 = torch.cat([torch.tensor(special, dtype=torch.float64),
                        torch.randn(23, dtype=torch.float64) * 3]).to(dtype)
        dy = torch.randn(x0.shape, dtype=torch.float64).to(dtype)
        for p in EXPONENTS:
            x = x0.clone().requires_grad_(True)
            y = torch.pow(x, p)
            y.backward(dy)
            cases.append({"exponent": p, "dtype": str(dtype).replace("torch.", ""),
                          "x": values(x), "dy": values(dy), "y": values(y),
                          "dx": values(x.grad)})
    with open(OUT, "w") as f:
        json.dump({"generator": "scripts/fixtures_pow.py", "torch": torch.__version__,
                   "cases": cases}, f)
        f.write("\n")
    print(f"wrote {len(cases)} cases to {os.path.relpath(OUT)}")


if __name__ == "__main__":
    main()
