#!/usr/bin/env python3
"""Writes tests/fixtures/layers.json: PyTorch 1.13 reference values for Linear, ReLU and a
Sequential MLP (Linear-ReLU-Linear), read by tests/test_linear.cpp, test_relu.cpp and
test_sequential.cpp.

Each case holds the inputs (weights, x, the upstream gradient dy) and what PyTorch computes from
them in float32: the output y = f(x), and the gradients of L = sum(y * dy) with respect to x and
every parameter, under the parameter's state_dict name. Run with /usr/bin/python3 (python3-torch);
scripts/make_fixtures.sh runs every generator.
"""
import json
import os
import re

import torch

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "layers.json")


def tensor(t):
    return {"shape": list(t.shape), "data": [float(v) for v in t.detach().reshape(-1).tolist()]}


def case(module, x, dy):
    """Runs module on x, backpropagates dy, returns every input, output and gradient."""
    x = x.clone().requires_grad_(True)
    y = module(x)
    y.backward(dy)
    out = {
        "params": {name: tensor(p) for name, p in module.named_parameters()},
        "state_dict_keys": list(module.state_dict().keys()),
        "x": tensor(x),
        "dy": tensor(dy),
        "y": tensor(y),
        "dx": tensor(x.grad),
        "dparams": {name: tensor(p.grad) for name, p in module.named_parameters()},
    }
    return out


def main():
    torch.manual_seed(1234)
    cases = {}

    linear = torch.nn.Linear(3, 4)
    cases["linear"] = case(linear, torch.randn(5, 3), torch.randn(5, 4))

    linear_no_bias = torch.nn.Linear(6, 2, bias=False)
    cases["linear_no_bias"] = case(linear_no_bias, torch.randn(4, 6), torch.randn(4, 2))

    # Exact zeros in x check the convention relu'(0) = 0.
    x = torch.randn(4, 5)
    x[0, 0] = 0.0
    x[2, 3] = 0.0
    cases["relu"] = case(torch.nn.ReLU(), x, torch.randn(4, 5))

    mlp = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    cases["mlp"] = case(mlp, torch.randn(6, 3), torch.randn(6, 2))

    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    text = json.dumps({"generator": "scripts/fixtures_layers.py", "torch": torch.__version__,
                       "cases": cases}, indent=1)
    # One line per list of numbers, so the file stays short and diffs stay readable.
    text = re.sub(r"\[[-0-9.e,\s]*\]", lambda m: re.sub(r"\s+", "", m.group(0)), text)
    with open(OUT, "w") as f:
        f.write(text + "\n")


if __name__ == "__main__":
    main()
