#!/usr/bin/env python3
"""Writes tests/fixtures/ops.json: PyTorch 1.13 reference values for every primitive op and loss,
read by tests/test_ops_fixtures.cpp.

Each case names an op, its arguments and a dtype (float32 or float64), and holds what PyTorch
computes in that dtype: the inputs, the output y, a random upstream gradient dy, and the gradient
of L = sum(y * dy) with respect to each input. A zero-dimensional PyTorch result (a full sum, a
loss) is stored with shape [1], as minigrad returns it. Run with /usr/bin/python3 (python3-torch);
scripts/make_fixtures.sh runs every generator.
"""
import json
import os

import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "ops.json")


def tensor(t):
    t = t.detach()
    if t.dim() == 0:
        t = t.reshape(1)
    return {"shape": list(t.shape), "data": [float(v) for v in t.reshape(-1).tolist()]}


# Input generators: values are drawn in float64 and then cast, so both dtypes see the same numbers
# up to float32 rounding. Domains keep away from poles (log, sqrt, div near 0) and kinks (relu).
def normal(*shape):
    return torch.randn(*shape, dtype=torch.float64)


def positive(*shape):
    return torch.rand(*shape, dtype=torch.float64) * 1.5 + 0.5


def away_from_zero(*shape):
    sign = torch.where(torch.rand(*shape) < 0.5, -1.0, 1.0).double()
    return sign * (torch.rand(*shape, dtype=torch.float64) * 1.3 + 0.2)


def elementwise(name, fn, gen, args=None):
    """An elementwise op at two shapes."""
    return [(name, args or {}, [gen(3, 4)], fn), (name, args or {}, [gen(2, 3, 2)], fn)]


def cases():
    """(op, args, inputs, function of the inputs) for every op at a couple of shapes."""
    out = []
    binary = {"add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div}
    for name, fn in binary.items():
        second = away_from_zero if name == "div" else normal
        for sa, sb in [((3, 4), (3, 4)), ((4, 3), (3,)), ((2, 3, 4), (1, 3, 1)), ((3, 1), (2, 1, 4))]:
            out.append((name, {}, [normal(*sa), second(*sb)], fn))
    for s in [2.5, -0.7]:
        out.append(("add_scalar", {"scalar": s}, [normal(3, 4)], lambda x, s=s: x + s))
        out.append(("mul_scalar", {"scalar": s}, [normal(2, 3, 2)], lambda x, s=s: x * s))
    out += elementwise("neg", torch.neg, normal)
    out += elementwise("exp", torch.exp, normal)
    out += elementwise("log", torch.log, positive)
    out += elementwise("sqrt", torch.sqrt, positive)
    for p in [2.0, 3.0]:
        out += elementwise("pow", lambda x, p=p: torch.pow(x, p), normal, {"exponent": p})
    for p in [0.5, -1.5]:
        out += elementwise("pow", lambda x, p=p: torch.pow(x, p), positive, {"exponent": p})
    out += elementwise("relu", torch.relu, away_from_zero)
    out += elementwise("tanh", torch.tanh, normal)
    out += elementwise("sigmoid", torch.sigmoid, normal)
    for shape in [(5,), (3, 4), (2, 3, 4)]:
        for name, fn in [("sum", torch.sum), ("mean", torch.mean)]:
            out.append((name, {}, [normal(*shape)], fn))
            for dim in range(-1, len(shape)):
                for keepdim in [False, True]:
                    out.append((name, {"dim": dim, "keepdim": keepdim}, [normal(*shape)],
                                lambda x, fn=fn, d=dim, k=keepdim: fn(x, d, keepdim=k)))
    for sa, sb in [((2, 3), (3, 4)), ((5, 1), (1, 3)), ((4, 4), (4, 2))]:
        out.append(("matmul", {}, [normal(*sa), normal(*sb)], torch.matmul))
    for shape, d0, d1 in [((3, 4), 0, 1), ((2, 3, 4), 0, 2), ((2, 3, 4), 1, 2), ((2, 3, 4), -1, 0)]:
        out.append(("transpose", {"dim0": d0, "dim1": d1}, [normal(*shape)],
                    lambda x, a=d0, b=d1: torch.transpose(x, a, b)))
    for shape, new in [((2, 3, 4), (6, 4)), ((12,), (3, 4)), ((3, 4), (2, 2, 3))]:
        out.append(("reshape", {"shape": list(new)}, [normal(*shape)],
                    lambda x, n=new: torch.reshape(x, n)))
    for shape in [(5,), (3, 4), (2, 3, 4)]:
        out.append(("mse_loss", {}, [normal(*shape), normal(*shape)], F.mse_loss))
    for n, k in [(4, 3), (2, 5), (6, 2)]:
        targets = torch.randint(0, k, (n,))
        out.append(("cross_entropy", {"targets": targets.tolist()}, [normal(n, k) * 2],
                    lambda z, t=targets: F.cross_entropy(z, t)))
    return out


def run(op, args, inputs, fn, dtype):
    xs = [x.to(dtype).clone().requires_grad_(True) for x in inputs]
    y = fn(*xs)
    dy = torch.randn(y.shape, dtype=torch.float64).to(dtype)
    y.backward(dy)
    return {
        "op": op,
        "args": args,
        "dtype": "float32" if dtype == torch.float32 else "float64",
        "inputs": [tensor(x) for x in xs],
        "output": tensor(y),
        "upstream": tensor(dy),
        "grads": [tensor(x.grad) for x in xs],
    }


def main():
    torch.manual_seed(2024)
    out = []
    for op, args, inputs, fn in cases():
        for dtype in [torch.float32, torch.float64]:
            out.append(run(op, args, inputs, fn, dtype))
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump({"generator": "scripts/fixtures_ops.py", "torch": torch.__version__,
                   "cases": out}, f)
        f.write("\n")
    print(f"wrote {len(out)} cases to {os.path.relpath(OUT)}")


if __name__ == "__main__":
    main()
