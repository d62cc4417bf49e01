#!/usr/bin/env python3
"""Writes tests/fixtures/batchnorm_huge.json: PyTorch 1.13 nn.BatchNorm1d on float32 inputs whose
values are spread by 1e18 to 1e19 (squares near float32's largest value, 3.4e38), replayed by
tests/test_batchnorm1d_huge.cpp on both of minigrad's BatchNorm1d paths.

Regenerate with `/usr/bin/python3 scripts/fixtures_batchnorm_huge.py` (python3-torch), or run every
generator with scripts/make_fixtures.sh. The C++ build and tests never need Python.

Each case is one training forward and backward of a fresh affine BatchNorm1d (weight and bias set
to the stored values), then one eval forward of the same input. It records the inputs as float32
values (exact in the JSON text), and the outputs twice:

- `float32`: PyTorch in float32, what minigrad must match;
- `float64`: PyTorch in float64 on the same float32 inputs (the exact result),

plus `torch_float32_overflows`: PyTorch float32 keeps the sum of squares sum((x - mean)^2) in a
float32 tensor, which overflows once it passes 3.4e38 even where the variance itself fits; it then
normalises every value to beta (s = 1 / sqrt(inf) = 0) and its running_var is inf. minigrad keeps
that sum in double, so where float32 PyTorch overflows it returns the exact (float64) result
rounded to float32; everywhere else it matches float32 PyTorch.
"""
import json
import math
import os

import torch

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "batchnorm_huge.json")
EPS = 1e-5
MOMENTUM = 0.1

# (shape, mean, spread): values mean + spread * N(0, 1), rounded to float32.
CASES = [
    ((8, 3), 1e19, 1e18),      # |mean| >> spread, everything fits
    ((8, 3), 0.0, 3e18),       # squares near 1e37: fits
    ((4, 3, 5), 1e19, 1e18),   # (N, C, L)
    ((3, 3), 0.0, 8e18),       # three values per channel, squares near 1e38: fits
    ((8, 3), 0.0, 1e19),       # the sum of squares passes 3.4e38: float32 PyTorch overflows
    ((64, 3), 1e19, 3e18),     # a larger batch: PyTorch's sum overflows, the variance is 1e37
    ((16, 2, 3), 0.0, 5e18),   # (N, C, L), PyTorch's sum overflows
]


def run(x, dy, weight, bias, dtype):
    bn = torch.nn.BatchNorm1d(x.shape[1], eps=EPS, momentum=MOMENTUM).to(dtype)
    with torch.no_grad():
        bn.weight.copy_(weight)
        bn.bias.copy_(bias)
    xr = x.to(dtype).clone().requires_grad_()
    y = bn(xr)
    y.backward(dy.to(dtype))
    out = {
        "y": y,
        "dx": xr.grad,
        "dweight": bn.weight.grad,
        "dbias": bn.bias.grad,
        "running_mean": bn.running_mean,
        "running_var": bn.running_var,
    }
    bn.eval()
    with torch.no_grad():
        out["y_eval"] = bn(x.to(dtype))
    return {k: [float(v) for v in t.detach().double().reshape(-1).tolist()] for k, t in out.items()}


def as_json(values):
    # inf as a string: JSON has no infinity
    return [v if math.isfinite(v) else ("inf" if v > 0 else "-inf") for v in values]


def main():
    torch.manual_seed(0)
    cases = []
    for shape, mean, spread in CASES:
        x = (mean + spread * torch.randn(*shape, dtype=torch.float64)).float()
        dy = torch.randn(*shape).float()
        weight = (1 + 0.5 * torch.randn(shape[1])).float()
        bias = torch.randn(shape[1]).float()
        f32 = run(x, dy, weight, bias, torch.float32)
        f64 = run(x, dy, weight, bias, torch.float64)
        overflows = not all(math.isfinite(v) for v in f32["running_var"])
        cases.append({
            "shape": list(shape),
            "x": [float(v) for v in x.double().reshape(-1).tolist()],
            "dy": [float(v) for v in dy.double().reshape(-1).tolist()],
            "weight": [float(v) for v in weight.double().tolist()],
            "bias": [float(v) for v in bias.double().tolist()],
            "torch_float32_overflows": overflows,
            "float32": {k: as_json(v) for k, v in f32.items()},
            "float64": {k: as_json(v) for k, v in f64.items()},
        })
    with open(OUT, "w") as f:
        json.dump({"torch_version": torch.__version__, "eps": EPS, "momentum": MOMENTUM,
                   "cases": cases}, f, indent=None)
        f.write("\n")


if __name__ == "__main__":
    main()
