#!/usr/bin/env python3
"""Writes tests/fixtures/batchnorm.json: PyTorch 1.13 nn.BatchNorm1d in float32, replayed by
tests/test_batchnorm1d_conformance.cpp.

Regenerate with `/usr/bin/python3 scripts/fixtures_batchnorm.py` (python3-torch), or run every
generator with scripts/make_fixtures.sh. The C++ build and tests never need Python.

Coverage: every combination of momentum 0.1 / 0.5 / None, affine on / off, track_running_stats
on / off, and shapes (2, 3), (32, 10), (16, 4, 7), (1, 3, 2). Each configuration runs TRAIN_STEPS
consecutive training forwards and backwards, then one in eval mode on a new batch. Every step
records the input x, the upstream gradient dy, the output y, dx, dweight, dbias (when affine),
running_mean, running_var and num_batches_tracked (when tracked).

Format, per shape: `inputs[step]` = {x, dy} (shared by all configurations of the shape);
`weight` and `bias` (the affine parameters, set before step 0, not trained); and `configs`, each
with its options and `steps[step]` = {name: array}. To stay small, every float array is stored
once per shape in `pool` and referred to by its index: training outputs do not depend on
momentum or track_running_stats, so twelve configurations share them. Inputs are rounded to 3
decimals (exact in the JSON text and the same float32 on both sides); outputs are float32 values
written with 8 significant digits (relative rounding below 1e-8, far inside the 1e-5 tolerance).

PyTorch's float32 result is itself off the exact value by more than 1e-5 in ill-conditioned
cases (a channel of a (2, 3) batch whose two values differ by 0.004: its variance is below eps).
The same configurations are therefore also run in float64 on the same float32 inputs, and
`exact` maps a pool index to that float64 result wherever float32 PyTorch is off it by more than
EXACT_ABOVE; the C++ test accepts a value that matches either.
"""
import json
import os

import torch

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "batchnorm.json")
SHAPES = [(2, 3), (32, 10), (16, 4, 7), (1, 3, 2)]
MOMENTA = [0.1, 0.5, None]
TRAIN_STEPS = 3
EPS = 1e-5
FLOOR = 0.1  # relative errors are taken against max(|value|, FLOOR), as in the C++ test
EXACT_ABOVE = 2e-6  # store the float64 twin of an output when float32 PyTorch is off it by more


def rounded(*shape, scale=1.0, shift=0.0):
    """float64 values with 3 decimals: stored as exact decimal text, and turned into the same
    float32 on both sides (decimal -> double -> float, as nlohmann_json + a cast do in C++)."""
    t = torch.randn(*shape, dtype=torch.float64) * scale + shift
    return (t * 1000).round() / 1000


class Pool:
    """Stores each distinct float array once; returns its index."""

    def __init__(self):
        self.arrays, self.index, self.exact = [], {}, {}

    def add(self, t, digits=None, t64=None):
        """digits=None: a 3-decimal input, stored exactly; else a float32 output with `digits`
        digits, and its float64 twin t64 in `exact` when float32 PyTorch is off by > EXACT_ABOVE."""
        values = tuple(float(v) for v in t.detach().double().reshape(-1).tolist())
        key = (values, digits)
        if key not in self.index:
            self.index[key] = len(self.arrays)
            text = [round(v, 3) if digits is None else float(f"{v:.{digits}g}") for v in values]
            self.arrays.append(text)
            if t64 is not None:
                t32 = t.detach().double()
                scale = t64.detach().abs().clamp(min=FLOOR)
                if ((t32 - t64.detach()).abs() / scale).max() > EXACT_ABOVE:
                    self.exact[str(len(self.arrays) - 1)] = [
                        float(f"{v:.{digits}g}") for v in t64.detach().reshape(-1).tolist()]
        return self.index[key]


def run_config(shape, inputs, weight, bias, momentum, affine, track, dtype):
    """The steps of one configuration in `dtype`: a list of {name: tensor}."""
    bn = torch.nn.BatchNorm1d(shape[1], eps=EPS, momentum=momentum, affine=affine,
                              track_running_stats=track, dtype=dtype)
    if affine:
        with torch.no_grad():
            bn.weight.copy_(weight.float())
            bn.bias.copy_(bias.float())
    steps = []
    for step, (x0, dy) in enumerate(inputs):
        if step == TRAIN_STEPS:
            bn.eval()
        bn.zero_grad()
        # float32 inputs in both runs: float64 is the exact answer for the same numbers
        x = x0.float().to(dtype).requires_grad_(True)
        y = bn(x)
        y.backward(dy.float().to(dtype))
        record = {"y": y, "dx": x.grad}
        if affine:
            record["dweight"] = bn.weight.grad.clone()
            record["dbias"] = bn.bias.grad.clone()
        if track:
            record["running_mean"] = bn.running_mean.clone()
            record["running_var"] = bn.running_var.clone()
            record["num_batches_tracked"] = int(bn.num_batches_tracked)
        steps.append(record)
    return steps


def config_record(shape, inputs, weight, bias, momentum, affine, track, pool):
    single = run_config(shape, inputs, weight, bias, momentum, affine, track, torch.float32)
    double = run_config(shape, inputs, weight, bias, momentum, affine, track, torch.float64)
    steps = []
    for s32, s64 in zip(single, double):
        steps.append({k: v if isinstance(v, int) else pool.add(v, 8, s64[k])
                      for k, v in s32.items()})
    return {"momentum": momentum, "affine": affine, "track_running_stats": track, "steps": steps}


def main():
    torch.manual_seed(0)
    out = {"torch": torch.__version__, "eps": EPS, "train_steps": TRAIN_STEPS, "shapes": []}
    for shape in SHAPES:
        pool = Pool()
        inputs = []
        for _ in range(TRAIN_STEPS + 1):
            view = (1, shape[1]) + (1,) * (len(shape) - 2)
            x = torch.randn(*shape, dtype=torch.float64) * 1.5 + torch.randn(view) * 2.0
            x = (x * 1000).round() / 1000  # per-channel offsets, so the running mean moves
            inputs.append((x, rounded(*shape)))
        weight = rounded(shape[1], scale=0.5, shift=1.0)
        bias = rounded(shape[1], scale=0.5)
        configs = [config_record(shape, inputs, weight, bias, m, a, t, pool)
                   for m in MOMENTA for a in (True, False) for t in (True, False)]
        out["shapes"].append({
            "shape": list(shape),
            "inputs": [{"x": pool.add(x), "dy": pool.add(dy)} for x, dy in inputs],
            "weight": pool.add(weight),
            "bias": pool.add(bias),
            "configs": configs,
            "pool": pool.arrays,
            "exact": pool.exact,
        })
    with open(OUT, "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {OUT}: {os.path.getsize(OUT) / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
