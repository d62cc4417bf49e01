#!/usr/bin/python3
"""Checks a minigrad BatchNorm1d step in PyTorch (docs/compare_with_pytorch.md).

    build/release/examples/dump_batchnorm bn.json 8 4 3
    /usr/bin/python3 scripts/compare_batchnorm_with_pytorch.py bn.json

Reads the JSON dump_batchnorm writes, runs the same step in torch.nn.BatchNorm1d (float32, train
mode) on the same x, weight, bias and upstream gradient, and prints, for the output, the three
gradients and the running statistics, the largest difference from minigrad's values and where.
Exit code 1 if one is larger than the tolerance (float32 rounding of sums over the batch).
"""
import json
import sys

import torch

TOLERANCE = 1e-5  # times the scale: the largest |value| of the tensor, at least 1


def tensor(entry):
    return torch.tensor(entry["values"], dtype=torch.float32).reshape(entry["shape"])


def main():
    with open(sys.argv[1]) as f:
        dump = json.load(f)
    x = tensor(dump["x"]).requires_grad_()
    channels = x.shape[1]
    bn = torch.nn.BatchNorm1d(channels, eps=dump["eps"], momentum=dump["momentum"])
    with torch.no_grad():
        bn.weight.copy_(tensor(dump["weight"]))
        bn.bias.copy_(tensor(dump["bias"]))
    bn.train()
    y = bn(x)
    y.backward(tensor(dump["dy"]))

    print(f"torch {torch.__version__}, BatchNorm1d({channels}) on {tuple(x.shape)}, train mode")
    print(f"{'tensor':>14} {'max |minigrad - torch|':>24} {'scale':>16}  verdict")
    ok = True
    for name, theirs in [("y", y), ("dx", x.grad), ("dweight", bn.weight.grad),
                         ("dbias", bn.bias.grad), ("running_mean", bn.running_mean),
                         ("running_var", bn.running_var)]:
        ours = tensor(dump[name])
        difference = (ours - theirs.detach()).abs().max().item()
        scale = max(theirs.detach().abs().max().item(), 1.0)
        agrees = difference <= TOLERANCE * scale
        ok = ok and agrees
        print(f"{name:>14} {difference:>24.3e} {scale:>16.4g}  {'agrees' if agrees else 'DIFFERS'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
