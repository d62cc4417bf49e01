#!/usr/bin/env python3
"""Loads a train_mlp checkpoint into the identical PyTorch model and evaluates it on the same
test set, to show a minigrad checkpoint is an ordinary PyTorch state_dict.

    build/release/examples/train_mlp --out runs/check
    /usr/bin/python3 scripts/check_checkpoint_in_pytorch.py runs/check

It reads RUN/model.safetensors (parsed here with the standard library: 8-byte header length,
JSON header, raw little-endian data), builds the nn.Sequential that train_mlp's flags describe
(the checkpoint's metadata: hidden widths, BatchNorm or not, the activation, the dropout p;
checkpoints from before --activation and --dropout are ReLU without Dropout), loads the
state_dict into it with strict=True (so the keys must be exactly PyTorch's, Dropout's place in
the numbering included), evaluates in eval mode on RUN/test_set.csv and compares the accuracy
with the last row of RUN/metrics.csv; exit code 1 when they differ. Not part of CI: it needs
python3-torch.
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


ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU}  # nn.GELU(): exact, erf


def build_model(state, metadata):
    """train_mlp's network: [Linear -> BatchNorm1d -> activation -> Dropout] per hidden width,
    then Linear; BatchNorm1d and Dropout only where the run had them."""
    hidden = [int(h) for h in metadata["train_mlp.hidden"].split(",")]
    batchnorm = metadata["train_mlp.batchnorm"] == "true"
    activation = ACTIVATIONS[metadata.get("train_mlp.activation", "relu")]
    dropout = float(metadata.get("train_mlp.dropout", "0"))
    layers, width = [], state["0.weight"].shape[1]
    for h in hidden:
        layers.append(nn.Linear(width, h))
        if batchnorm:
            layers.append(nn.BatchNorm1d(h))
        layers.append(activation())
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        width = h
    layers.append(nn.Linear(width, int(metadata["train_mlp.classes"])))
    return nn.Sequential(*layers)


def main():
    run = Path(sys.argv[1] if len(sys.argv) > 1 else "runs/check")
    state, metadata = read_safetensors(run / "model.safetensors")
    model = build_model(state, metadata)
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
    # Both count the points classified right; a point whose two largest logits are within
    # float32 rounding of each other may go either way, so one point of difference is allowed.
    if abs(accuracy - float(last[key])) > 1.5 / len(rows):
        print("the accuracies differ")
        sys.exit(1)


if __name__ == "__main__":
    main()
