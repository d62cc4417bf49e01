#!/usr/bin/env python3
"""Writes tests/fixtures/activations.json: PyTorch 1.13 reference values for Tanh, Sigmoid,
LeakyReLU, GELU (exact and tanh), Identity and Dropout, read by tests/test_tanh.cpp,
test_sigmoid.cpp, test_leaky_relu.cpp, test_gelu.cpp, test_identity.cpp and test_dropout.cpp.

Each case holds x, a random upstream gradient dy, and what PyTorch computes in float32: y = f(x)
and dx, the gradient of L = sum(y * dy), plus the module's repr. The inputs mix a normal sample
with exact zeros and values far in the tails (+-12, +-40), where tanh, sigmoid and GELU saturate.

Dropout's mask comes from PyTorch's generator, which minigrad does not reproduce: the case
stores the output and gradient of a large input, from which a test reads the scale kept values
get (1 / (1 - p), rounded as PyTorch rounds it) and checks minigrad's own mask against it.
Run with /usr/bin/python3 (python3-torch); scripts/make_fixtures.sh runs every generator.
"""
import json
import os
import re

import torch

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "activations.json")


def tensor(t):
    return {"shape": list(t.shape), "data": [float(v) for v in t.detach().reshape(-1).tolist()]}


def case(module, x, dy):
    x = x.clone().requires_grad_(True)
    y = module(x)
    y.backward(dy)
    return {"repr": repr(module), "x": tensor(x), "dy": tensor(dy), "y": tensor(y),
            "dx": tensor(x.grad)}


def test_input():
    x = torch.randn(6, 7)
    x[0, :6] = torch.tensor([0.0, -0.0, 12.0, -12.0, 40.0, -40.0])
    x[1, :3] = torch.tensor([1e-4, -1e-4, 3.0])
    return x


def main():
    torch.manual_seed(2024)
    cases = {}
    modules = {
        "tanh": torch.nn.Tanh(),
        "sigmoid": torch.nn.Sigmoid(),
        "leaky_relu": torch.nn.LeakyReLU(),
        "leaky_relu negative_slope=0.2": torch.nn.LeakyReLU(0.2),
        "leaky_relu negative_slope=-1.5": torch.nn.LeakyReLU(-1.5),
        "gelu": torch.nn.GELU(),
        "gelu approximate=tanh": torch.nn.GELU(approximate="tanh"),
        "identity": torch.nn.Identity(),
    }
    for name, module in modules.items():
        cases[name] = case(module, test_input(), torch.randn(6, 7))
    # Three dimensions: the layers are elementwise, any shape works.
    cases["gelu (2, 3, 4)"] = case(torch.nn.GELU(), torch.randn(2, 3, 4), torch.randn(2, 3, 4))

    for p in (0.1, 0.3, 0.5):
        cases[f"dropout p={p}"] = case(torch.nn.Dropout(p), torch.randn(10, 20),
                                       torch.randn(10, 20))
    dropout = torch.nn.Dropout(0.3)
    dropout.eval()
    cases["dropout p=0.3 eval"] = case(dropout, torch.randn(4, 5), torch.randn(4, 5))
    cases["dropout p=0 train"] = case(torch.nn.Dropout(0.0), torch.randn(4, 5), torch.randn(4, 5))

    errors = {}
    for p in (-0.1, 1.5):
        try:
            torch.nn.Dropout(p)
            errors[str(p)] = None
        except ValueError as e:
            errors[str(p)] = str(e)

    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    text = json.dumps({"generator": "scripts/fixtures_activations.py", "torch": torch.__version__,
                       "cases": cases, "dropout_errors": errors}, indent=1)
    # One line per list of numbers, so the file stays short and diffs stay readable.
    text = re.sub(r"\[[-0-9.e,\s]*\]", lambda m: re.sub(r"\s+", "", m.group(0)), text)
    with open(OUT, "w") as f:
        f.write(text + "\n")


if __name__ == "__main__":
    main()
