#!/usr/bin/env python3
"""Writes tests/fixtures/training_parity.json: 20 training steps of train_mlp's MLP in PyTorch
1.13, once per choice of activation and optimizer, replayed step by step by
tests/test_training_parity.cpp.

The network is Linear(2, 8) - [BatchNorm1d(8)] - act - [Dropout] - Linear(8, 8) -
[BatchNorm1d(8)] - act - [Dropout] - Linear(8, 3) with cross-entropy, act one of ReLU, Tanh, GELU (exact). As in
train_mlp, the Linear weights decay and the biases and BatchNorm's gamma/beta sit in a second
group without decay. The runs:

    sgd   relu   lr 0.1, momentum 0.9, weight decay 1e-3, Nesterov off, then on
    sgd   tanh, sgd gelu    the same, Nesterov off
    adamw relu   lr 0.01, weight decay 1e-2, betas (0.9, 0.999), eps 1e-8
    adamw gelu   the same without BatchNorm, with Dropout(0.3) after each activation

With AdamW, the biases of the Linear layers in front of a BatchNorm cannot be compared: their
true gradient is zero (the normalisation subtracts any shift), and Adam divides the float32
rounding noise left in their gradient by its own root mean square, turning it into steps of
size lr in directions that depend on the order of every sum. The running means absorb those
biases. The test leaves these out; the dropout run has no BatchNorm, so everything is compared.

PyTorch's Dropout draws its masks from its own generator, which minigrad cannot reproduce. The
dropout run therefore replays minigrad's masks: they come from minigrad's Generator (xoshiro256**
seeded through splitmix64, re-implemented below) with the fixture's dropout_seed, one uniform per
element in row-major order, an element kept when uniform < 1 - p; each mask is applied as
PyTorch 1.13's dropout applies its own (noise = mask.div_(1 - p); input * noise), which main()
first checks against F.dropout. After the run, the same weights in a plain nn.Sequential with
nn.Dropout(0.3) give the eval logits of every point (Dropout in eval mode is the identity), and
that model's state_dict keys are the ones minigrad's network must have (also with BatchNorm).

The fixture holds the initial state_dict, the data, the batch order, and per run the loss of
every step and at the end all parameters, the optimizer's state (momentum buffers; exp_avg,
exp_avg_sq and step), running statistics and batch counters. Run with /usr/bin/python3
(python3-torch); scripts/make_fixtures.sh runs every generator.
"""
import json
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "training_parity.json")
STEPS, BATCH, SAMPLES = 20, 16, 64
ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU}  # nn.GELU(): exact, with erf
RUNS = [
    {"optimizer": "sgd", "activation": "relu", "nesterov": False},
    {"optimizer": "sgd", "activation": "relu", "nesterov": True},
    {"optimizer": "sgd", "activation": "tanh", "nesterov": False},
    {"optimizer": "sgd", "activation": "gelu", "nesterov": False},
    {"optimizer": "adamw", "activation": "relu"},
    {"optimizer": "adamw", "activation": "gelu", "dropout": 0.3, "dropout_seed": 7,
     "batchnorm": False},
]
MASK64 = (1 << 64) - 1


class MinigradGenerator:
    """minigrad's Generator (core/random.cpp): xoshiro256** seeded through splitmix64."""

    def __init__(self, seed):
        self.s = []
        for _ in range(4):
            seed = (seed + 0x9E3779B97F4A7C15) & MASK64
            z = seed
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
            self.s.append(z ^ (z >> 31))

    def next_u64(self):
        s = self.s
        rotl = lambda x, k: ((x << k) | (x >> (64 - k))) & MASK64
        result = (rotl((s[1] * 5) & MASK64, 7) * 9) & MASK64
        t = (s[1] << 17) & MASK64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
        return result

    def uniform(self):
        return (self.next_u64() >> 11) * 2.0 ** -53


def pytorch_dropout(x, mask, p):
    """PyTorch 1.13's dropout in training (aten/src/ATen/native/Dropout.cpp), given its mask."""
    noise = mask.to(x.dtype)
    noise.div_(1 - p)
    return x * noise


class ReplayedDropout(nn.Module):
    """Dropout(p) whose masks are minigrad's: one uniform per element, row-major."""

    def __init__(self, p, gen):
        super().__init__()
        self.p, self.gen = p, gen

    def forward(self, x):
        if not self.training:
            return x
        keep = 1 - self.p
        mask = torch.tensor([self.gen.uniform() < keep for _ in range(x.numel())]).reshape(x.shape)
        return pytorch_dropout(x, mask, self.p)


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def make_net(activation, dropout=None, batchnorm=True):
    """dropout: None, or a function making the module that follows each activation."""
    layers, width = [], 2
    for h in (8, 8):
        layers += [nn.Linear(width, h)] + ([nn.BatchNorm1d(h)] if batchnorm else [])
        layers.append(ACTIVATIONS[activation]())
        if dropout:
            layers.append(dropout())
        width = h
    layers.append(nn.Linear(width, 3))
    return nn.Sequential(*layers)


def run(initial, x, y, order, spec):
    p = spec.get("dropout", 0)
    gen = MinigradGenerator(spec.get("dropout_seed", 0))
    batchnorm = spec.get("batchnorm", True)
    net = make_net(spec["activation"], (lambda: ReplayedDropout(p, gen)) if p > 0 else None,
                   batchnorm)
    # The initial weights, at this network's indices (a Dropout shifts the later ones).
    linears = [m for m in net if isinstance(m, nn.Linear)]
    norms = [m for m in net if isinstance(m, nn.BatchNorm1d)]
    source = make_net(spec["activation"])
    source.load_state_dict(initial)
    for mine, theirs in zip(linears + norms, [m for m in source if isinstance(m, nn.Linear)] +
                            [m for m in source if isinstance(m, nn.BatchNorm1d)]):
        mine.load_state_dict(theirs.state_dict())
    result = dict(spec)
    if p > 0 or not batchnorm:  # its own keys
        result["initial"] = {n: {"shape": list(v.shape), "data": flat(v.to(torch.float64))}
                             for n, v in net.state_dict().items()}
    decay = [p for n, p in net.named_parameters() if n.endswith("weight") and p.dim() == 2]
    no_decay = [p for n, p in net.named_parameters() if not (n.endswith("weight") and p.dim() == 2)]
    if spec["optimizer"] == "sgd":
        spec.update(lr=0.1, weight_decay=1e-3)
        opt = torch.optim.SGD([{"params": decay, "weight_decay": 1e-3},
                               {"params": no_decay, "weight_decay": 0.0}],
                              lr=0.1, momentum=0.9, nesterov=spec["nesterov"])
    else:
        spec.update(lr=0.01, weight_decay=1e-2)
        opt = torch.optim.AdamW([{"params": decay, "weight_decay": 1e-2},
                                 {"params": no_decay, "weight_decay": 0.0}],
                                lr=0.01, betas=(0.9, 0.999), eps=1e-8)
    losses = []
    for step in range(STEPS):
        idx = order[step]
        opt.zero_grad()
        loss = F.cross_entropy(net(x[idx]), y[idx])
        loss.backward()
        opt.step()
        losses.append(float(loss))
    result.update(spec, losses=losses, params={n: flat(p) for n, p in net.named_parameters()})
    result["optimizer_state"] = {
        n: {k: flat(v.to(torch.float64)) for k, v in opt.state[p].items()}
        for n, p in net.named_parameters()}
    result["buffers"] = {n: flat(v.to(torch.float64)) for n, v in net.state_dict().items()
                         if "running" in n or "num_batches" in n}
    if p > 0:  # the same weights under nn.Dropout, in eval mode
        plain = make_net(spec["activation"], lambda: nn.Dropout(p), batchnorm)
        plain.load_state_dict(net.state_dict())
        plain.eval()
        with torch.no_grad():
            result["eval_logits"] = flat(plain(x))
        result["state_dict_keys"] = list(plain.state_dict().keys())
    return result


def check_replay_is_pytorch_dropout():
    """pytorch_dropout with the mask PyTorch draws gives F.dropout's output, bit for bit."""
    x = torch.randn(64, 8)
    for p in (0.1, 0.3, 0.5):
        torch.manual_seed(11)
        want = F.dropout(x, p, training=True)
        torch.manual_seed(11)
        mask = torch.empty_like(x).bernoulli_(1 - p)
        assert torch.equal(pytorch_dropout(x, mask, p), want), p


def main():
    check_replay_is_pytorch_dropout()
    torch.manual_seed(0)
    initial = make_net("relu").state_dict()
    x = torch.randn(SAMPLES, 2)
    y = ((x[:, 0] > 0).long() + (x[:, 1] > 0.5).long())  # three classes
    order = [torch.randperm(SAMPLES)[:BATCH].tolist() for _ in range(STEPS)]
    fixture = {
        "initial": {n: {"shape": list(v.shape), "data": flat(v.to(torch.float64))}
                    for n, v in initial.items()},
        "x": flat(x), "y": y.tolist(), "order": order,
        "runs": [run(initial, x, y, order, dict(spec)) for spec in RUNS],
        # train_mlp's default network with Dropout: BatchNorm1d and Dropout both in the numbering.
        "keys_batchnorm_dropout": list(make_net("gelu", lambda: nn.Dropout(0.1)).state_dict()),
    }
    with open(OUT, "w") as f:
        json.dump(fixture, f)


if __name__ == "__main__":
    main()
