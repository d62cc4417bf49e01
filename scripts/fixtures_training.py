#!/usr/bin/env python3
"""Writes tests/fixtures/training_parity.json: 20 SGD steps of an MLP with BatchNorm in
PyTorch 1.13, replayed step by step by tests/test_training_parity.cpp.

The network is Linear(2, 8) - BatchNorm1d(8) - ReLU - Linear(8, 8) - BatchNorm1d(8) - ReLU -
Linear(8, 3) with cross-entropy. Weights of the Linear layers are decayed (weight_decay 1e-3);
biases and BatchNorm's gamma/beta are in a second group without decay. SGD runs with lr 0.1 and
momentum 0.9, once with Nesterov off and once on. The fixture holds the initial state_dict, the
data, the batch order, the loss of every step, and at the end all parameters, momentum buffers,
running statistics and batch counters. Run with /usr/bin/python3 (python3-torch);
scripts/make_fixtures.sh runs every generator.
"""
import json
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "training_parity.json")
STEPS, BATCH, SAMPLES = 20, 16, 64


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def make_net():
    return nn.Sequential(nn.Linear(2, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 8),
                         nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))


def run(initial, x, y, order, nesterov):
    net = make_net()
    net.load_state_dict(initial)
    decay = [p for n, p in net.named_parameters() if n.endswith("weight") and p.dim() == 2]
    no_decay = [p for n, p in net.named_parameters() if not (n.endswith("weight") and p.dim() == 2)]
    opt = torch.optim.SGD([{"params": decay, "weight_decay": 1e-3},
                           {"params": no_decay, "weight_decay": 0.0}],
                          lr=0.1, momentum=0.9, nesterov=nesterov)
    losses = []
    for step in range(STEPS):
        idx = order[step]
        opt.zero_grad()
        loss = F.cross_entropy(net(x[idx]), y[idx])
        loss.backward()
        opt.step()
        losses.append(float(loss))
    params = {n: flat(p) for n, p in net.named_parameters()}
    buffers = {n: flat(opt.state[p]["momentum_buffer"]) for n, p in net.named_parameters()}
    state = {}
    for n, v in net.state_dict().items():
        if "running" in n or "num_batches" in n:
            state[n] = flat(v.to(torch.float64))
    return {"nesterov": nesterov, "losses": losses, "params": params,
            "momentum_buffers": buffers, "buffers": state}


def main():
    torch.manual_seed(0)
    initial = make_net().state_dict()
    x = torch.randn(SAMPLES, 2)
    y = ((x[:, 0] > 0).long() + (x[:, 1] > 0.5).long())  # three classes
    order = [torch.randperm(SAMPLES)[:BATCH].tolist() for _ in range(STEPS)]
    fixture = {
        "initial": {n: {"shape": list(v.shape), "data": flat(v.to(torch.float64))}
                    for n, v in initial.items()},
        "x": flat(x), "y": y.tolist(), "order": order,
        "runs": [run(initial, x, y, order, nesterov) for nesterov in (False, True)],
    }
    with open(OUT, "w") as f:
        json.dump(fixture, f)


if __name__ == "__main__":
    main()
