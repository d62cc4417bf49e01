#!/usr/bin/env python3
"""Writes tests/fixtures/layernorm.json: PyTorch 1.13 reference values for nn.LayerNorm over the
last dimension, read by tests/test_layernorm.cpp.

Each case gives the input shape, eps, elementwise_affine and a dtype (float32 or float64), and
holds what PyTorch computes in that dtype: the input x, weight and bias (random, so that a
backward that ignored gamma would show), the output y, a random upstream gradient dy, and the
gradients of L = sum(y * dy) with respect to x, weight and bias. A float32 case also holds
"exact": the same computation in float64 on the same float32 values, because PyTorch's own
float32 result is itself off by about 1e-5 on rows far from zero. Run with /usr/bin/python3
(python3-torch); scripts/make_fixtures.sh runs every generator.
"""
import json
import os

import torch

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "layernorm.json")


def tensor(t):
    t = t.detach()
    return {"shape": list(t.shape), "data": [float(v) for v in t.reshape(-1).tolist()]}


# (input shape, eps, elementwise_affine, offset added to x): rows of (N, C) and of (N, L, C), a
# row of two values, a large eps, no affine, and rows far from zero (mean 100, std 1).
CASES = [
    ((4, 5), 1e-5, True, 0.0),
    ((2, 3, 4), 1e-5, True, 0.0),
    ((3, 2), 1e-5, True, 0.0),
    ((5, 6), 1e-2, True, 0.0),
    ((2, 2, 3), 1e-5, False, 0.0),
    ((4, 8), 1e-5, True, 100.0),
]


def forward_backward(x, weight, bias, dy, eps, dtype):
    """nn.LayerNorm in `dtype` on the given values: y and the gradients for upstream dy."""
    c = x.shape[-1]
    ln = torch.nn.LayerNorm(c, eps=eps, elementwise_affine=weight is not None).to(dtype)
    if weight is not None:
        with torch.no_grad():
            ln.weight.copy_(weight)
            ln.bias.copy_(bias)
    x = x.detach().to(dtype).clone().requires_grad_(True)
    y = ln(x)
    y.backward(dy.to(dtype))
    out = {"y": tensor(y), "dx": tensor(x.grad)}
    if weight is not None:
        out.update(dweight=tensor(ln.weight.grad), dbias=tensor(ln.bias.grad))
    return out


def run(shape, eps, affine, offset, dtype):
    c = shape[-1]
    # Draw in float64 and round once to the case's dtype: every value below is exactly representable.
    x = (torch.randn(*shape, dtype=torch.float64) * 2 + offset).to(dtype)
    weight = (torch.randn(c, dtype=torch.float64) * 0.5 + 1).to(dtype) if affine else None
    bias = (torch.randn(c, dtype=torch.float64) * 0.5).to(dtype) if affine else None
    dy = torch.randn(*shape, dtype=torch.float64).to(dtype)
    case = {
        "shape": list(shape),
        "eps": eps,
        "elementwise_affine": affine,
        "offset": offset,
        "dtype": "float32" if dtype == torch.float32 else "float64",
        "x": tensor(x),
        "upstream": tensor(dy),
    }
    if affine:
        case.update(weight=tensor(weight), bias=tensor(bias))
    case.update(forward_backward(x, weight, bias, dy, eps, dtype))
    if dtype == torch.float32:
        w64 = weight.double() if affine else None
        b64 = bias.double() if affine else None
        case["exact"] = forward_backward(x.double(), w64, b64, dy.double(), eps, torch.float64)
    return case


def main():
    torch.manual_seed(2025)
    out = []
    for shape, eps, affine, offset in CASES:
        for dtype in [torch.float32, torch.float64]:
            out.append(run(shape, eps, affine, offset, dtype))
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump({"generator": "scripts/fixtures_layernorm.py", "torch": torch.__version__,
                   "repr": repr(torch.nn.LayerNorm(4)), "cases": out}, f)
        f.write("\n")
    print(f"wrote {len(out)} cases to {os.path.relpath(OUT)}")


if __name__ == "__main__":
    main()
