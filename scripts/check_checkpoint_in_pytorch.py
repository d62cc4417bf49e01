#!/usr/bin/env python3
"""Loads a train_mlp checkpoint into the identical PyTorch model and evaluates it on the same
test set, to show a minigrad checkpoint is an ordinary PyTorch state_dict.

    build/release/examples/train_mlp --out runs/check
    /usr/bin/python3 scripts/check_checkpoint_in_pytorch.py runs/check

It reads RUN/model.safetensors (parsed here with the standard library: 8-byte header length,
JSON header, raw little-endian data), rebuilds the network from the state_dict's keys
(a 2-D "N.weight" is Linear, "N.running_mean" marks BatchNorm1d, a missing index is ReLU),
loads it with strict=True, evaluates in eval mode on RUN/test_set.csv and compares the accuracy
with the last row of RUN/metrics.csv. Not part of CI: it needs python3-torch.
"""
import csv
import json
import struct
import sys
from collections import OrderedDict
from pathlib import Path

import torch
import torch.nn as nn

DTYPES = {"F32": torch.float32, "F64": torch.float64, "I64": torch.int64}


def read_safetensors(path):
    raw = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    metadata = header.pop("__metadata__", {})
    data = raw[8 + n:]
    state = OrderedDict()
    for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        begin, end = info["data_offsets"]
        t = torch.frombuffer(bytearray(data[begin:end]), dtype=DTYPES[info["dtype"]])
        state[name] = t.reshape(info["shape"]).clone()
    return state, metadata


def build_model(state):
    indices = sorted({int(k.split(".")[0]) for k in state})
    layers = []
    for i in range(indices[-1] + 1):
        w = state.get(f"{i}.weight")
        if f"{i}.running_mean" in state:
            layers.append(nn.BatchNorm1d(state[f"{i}.running_mean"].numel()))
        elif w is not None and w.dim() == 2:
            layers.append(nn.Linear(w.shape[1], w.shape[0], bias=f"{i}.bias" in state))
        else:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def main():
    run = Path(sys.argv[1] if len(sys.argv) > 1 else "runs/check")
    state, metadata = read_safetensors(run / "model.safetensors")
    model = build_model(state)
    model.load_state_dict(state, strict=True)
    model.eval()
    rows = list(csv.DictReader(open(run / "test_set.csv")))
    x = torch.tensor([[float(r["x0"]), float(r["x1"])] for r in rows])
    y = torch.tensor([int(r["label"]) for r in rows])
    with torch.no_grad():
        accuracy = (model(x).argmax(1) == y).float().mean().item()
    metrics = list(csv.DictReader(open(run / "metrics.csv")))
    print(model)
    print(f"checkpoint metadata: {metadata}")
    print(f"PyTorch {torch.__version__} test accuracy: {accuracy:.4f} on {len(rows)} points")
    last = metrics[-1]
    key = next(k for k in last if "test" in k and "acc" in k)
    print(f"train_mlp's own test accuracy (metrics.csv, last epoch, {key}): {last[key]}")


if __name__ == "__main__":
    main()
