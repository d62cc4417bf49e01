#!/usr/bin/env python3
"""Writes tests/fixtures/engine.json: PyTorch 1.13's answers to the engine's semantic questions,
read by tests/test_versions.cpp and tests/test_module.cpp.

inplace: for each case, whether backward() raises "modified by an inplace operation" after one
  tensor of a graph was written (in place, under no_grad, as an optimizer does) between the
  forward and the backward. Each case is an op (or a layer), which of its operands require grad
  (g) or not (c), and which tensor is written. The C++ test runs the same case by name and must
  throw mg::VersionError exactly when PyTorch raises, except where it lists why not.
retain_grad: x.grad and the retained non-leaf's .grad after two backward passes.
tied: an MLP whose two hidden Linear layers share one weight: its parameter names, and its
  parameters after each of three SGD steps (momentum 0.9) on a fixed batch; and the names a
  module reached twice (one BatchNorm1d at two places) lists.
Run with /usr/bin/python3 (python3-torch); scripts/make_fixtures.sh runs every generator.
"""
import json
import os

import torch

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "engine.json")
F = torch.nn.functional


def tensor(t):
    return {"shape": list(t.shape), "data": [float(v) for v in t.detach().reshape(-1).tolist()]}


def raises(run):
    try:
        run()
    except RuntimeError as e:
        assert "modified by an inplace operation" in str(e), str(e)
        return True
    return False


def write(t):
    with torch.no_grad():
        t.add_(1.0)


def binary(op, a_grad, b_grad, written):
    """y = op(a, b); writes a, b or y (the output); then backward of sum(y * r)."""
    def run():
        a = torch.tensor([1.0, 2.0, 3.0]).requires_grad_(a_grad)
        b = torch.tensor([4.0, 5.0, 6.0]).requires_grad_(b_grad)
        y = op(a, b)
        loss = (y * torch.tensor([0.5, -1.0, 2.0])).sum()
        write({"a": a, "b": b, "y": y}[written])
        loss.backward()
    return run


def unary(op, written):
    """h = w * 1 (a non-leaf), y = op(h); writes h (the input) or y (the output)."""
    def run():
        w = torch.tensor([0.5, 1.0, 2.0], requires_grad=True)
        h = w * 1.0
        y = op(h)
        loss = (y * torch.tensor([0.5, -1.0, 2.0])).sum()
        write({"x": h, "y": y}[written])
        loss.backward()
    return run


def layer(make, x_grad, written, train=True):
    """y = layer(x) for x (4, 3); writes x or one of the layer's tensors."""
    def run():
        torch.manual_seed(0)
        module = make()
        module.train(train)
        x = torch.randn(4, 3).requires_grad_(x_grad)
        y = module(x)
        loss = (y * torch.randn(y.shape)).sum()
        write(x if written == "x" else getattr(module, written))
        loss.backward()
    return run


def loss_case(which, written):
    def run():
        w = torch.tensor([[0.5, 1.0, 2.0], [1.0, -1.0, 0.0]], requires_grad=True)
        pred = w * 1.0
        target = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
        loss = F.mse_loss(pred, target) if which == "mse" else F.cross_entropy(pred, torch.tensor([2, 0]))
        write(pred if written == "pred" else target)
        loss.backward()
    return run


def shape_op(op):
    """y = op(h) for a non-leaf h (2, 3); writes h."""
    def run():
        w = torch.ones(2, 3, requires_grad=True)
        h = w * 1.0
        loss = (op(h) * 2.0).sum()
        write(h)
        loss.backward()
    return run


def inplace_cases():
    cases = {}
    ops = {"add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div}
    for name, op in ops.items():
        for a_grad, b_grad in [(True, False), (False, True), (True, True)]:
            for written in ["a", "b"]:
                key = f"{name}:{'g' if a_grad else 'c'}{'g' if b_grad else 'c'}:{written}"
                cases[key] = raises(binary(op, a_grad, b_grad, written))
    for a_grad, b_grad in [(True, False), (False, True), (True, True)]:
        for written in ["a", "b"]:
            def mm(a_grad=a_grad, b_grad=b_grad, written=written):
                a = torch.ones(2, 3).requires_grad_(a_grad)
                b = torch.ones(3, 2).requires_grad_(b_grad)
                loss = (a @ b).sum()
                write({"a": a, "b": b}[written])
                loss.backward()
            cases[f"matmul:{'g' if a_grad else 'c'}{'g' if b_grad else 'c'}:{written}"] = raises(mm)
    for name, op in {"neg": torch.neg, "exp": torch.exp, "log": torch.log, "sqrt": torch.sqrt,
                     "pow": lambda t: t ** 3, "relu": torch.relu, "tanh": torch.tanh,
                     "sigmoid": torch.sigmoid}.items():
        for written in ["x", "y"]:
            cases[f"{name}:{written}"] = raises(unary(op, written))
    for name, op in {"sum": torch.sum, "mean": torch.mean, "sum_dim": lambda h: h.sum(0),
                     "mean_dim": lambda h: h.mean(1), "transpose": torch.t,
                     "reshape": lambda h: h.reshape(6), "add_scalar": lambda h: h + 2.0,
                     "mul_scalar": lambda h: h * 3.0}.items():
        cases[f"{name}:x"] = raises(shape_op(op))
    for name in ["mse", "cross_entropy"]:
        for written in ["pred", "target"]:
            if name == "cross_entropy" and written == "target":
                continue
            cases[f"{name}:{written}"] = raises(loss_case(name, written))
    linear = lambda: torch.nn.Linear(3, 2)
    for x_grad in [False, True]:
        for written in ["x", "weight", "bias"]:
            cases[f"linear:{'g' if x_grad else 'c'}:{written}"] = raises(layer(linear, x_grad, written))
    bn = lambda: torch.nn.BatchNorm1d(3)
    for train in [True, False]:
        for written in ["x", "weight", "bias"]:
            cases[f"batch_norm:{'train' if train else 'eval'}:{written}"] = raises(layer(bn, True, written, train))
    for written in ["x", "weight"]:
        cases[f"layer_norm:{written}"] = raises(layer(lambda: torch.nn.LayerNorm(3), True, written))
    return cases


def retain_grad():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    loss = (x * x).sum()
    loss.retain_grad()
    loss.backward(retain_graph=True)
    loss.backward()
    out = {"root_x_grad": tensor(x.grad), "root_grad": tensor(loss.grad)}
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3.0
    h.retain_grad()
    loss = (h * h).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    out.update({"middle_x_grad": tensor(x.grad), "middle_h_grad": tensor(h.grad)})
    return out


def tied():
    torch.manual_seed(1)
    first, second = torch.nn.Linear(3, 3), torch.nn.Linear(3, 3)
    second.weight = first.weight  # tied: one Parameter in two layers
    model = torch.nn.Sequential(first, torch.nn.ReLU(), second, torch.nn.ReLU(), torch.nn.Linear(3, 1))
    names = [n for n, _ in model.named_parameters()]
    initial = {n: tensor(p) for n, p in model.named_parameters()}
    x = torch.randn(5, 3)
    target = torch.randn(5, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    steps = []
    for _ in range(3):
        opt.zero_grad()
        F.mse_loss(model(x), target).backward()
        opt.step()
        steps.append({n: tensor(p) for n, p in model.named_parameters()})
    shared = torch.nn.BatchNorm1d(2)
    twice = torch.nn.Sequential(shared, shared)
    return {"names": names, "state_dict_keys": list(model.state_dict().keys()), "initial": initial,
            "x": tensor(x), "target": tensor(target), "steps": steps,
            "shared_module": {"parameters": [n for n, _ in twice.named_parameters()],
                              "buffers": [n for n, _ in twice.named_buffers()],
                              "state_dict_keys": list(twice.state_dict().keys())}}


def main():
    out = {"inplace": inplace_cases(), "retain_grad": retain_grad(), "tied": tied()}
    with open(OUT, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
