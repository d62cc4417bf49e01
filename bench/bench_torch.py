"""PyTorch (Python) side of `make bench`: the same cases as bench_minigrad, timed the same way.

A worker: reads `<case> <threads> <min_seconds>` lines on stdin and answers one JSON line each
(protocol in bench/timing.hpp). Timing: warm-up, then individually timed repetitions until a
minimum count and time; the median.
"""
import json
import statistics
import sys
import time

import torch
import torch.nn.functional as F

MLP = {"S": (2, 64, 2, 128), "M": (784, 512, 10, 256), "L": (1024, 2048, 10, 1024)}


def time_case(setup, run, min_seconds, min_reps=15, max_reps=20000):
    warmup_end = time.perf_counter() + 0.2 * min_seconds
    i = 0
    while i < 3 or (time.perf_counter() < warmup_end and i < max_reps):
        setup()
        run()
        i += 1
    setup()  # slow cases settle for 5 repetitions, as in bench/timing.hpp
    probe = time.perf_counter()
    run()
    if time.perf_counter() - probe > 0.02:
        min_reps = min(min_reps, 5)
    samples, total = [], 0.0
    while (len(samples) < min_reps or total < min_seconds) and len(samples) < max_reps:
        setup()
        t0 = time.perf_counter()
        run()
        dt = time.perf_counter() - t0
        samples.append(dt)
        total += dt
    return {"us": statistics.median(samples) * 1e6, "reps": len(samples)}


def bn_case(kind, dims, min_seconds):
    torch.manual_seed(1)
    x = torch.randn(*dims, requires_grad=True)
    dy = torch.randn(*dims)
    bn = torch.nn.BatchNorm1d(dims[1])
    with torch.no_grad():
        bn.weight.uniform_(-1, 1)
        bn.bias.uniform_(-1, 1)
    state = {}

    def forward():
        state["y"] = bn(x)

    if kind == "bn_train_fwd":
        return time_case(lambda: None, forward, min_seconds)
    if kind == "bn_train_bwd":
        return time_case(forward, lambda: state["y"].backward(dy), min_seconds)
    if kind == "bn_train_fwdbwd":
        return time_case(lambda: None, lambda: bn(x).backward(dy), min_seconds)
    if kind == "bn_eval_fwd":
        bn.eval()

        def eval_forward():
            with torch.no_grad():
                state["y"] = bn(x)

        return time_case(lambda: None, eval_forward, min_seconds)
    return {"skip": "not measured for PyTorch"}


def mlp_case(size, min_seconds):
    i, h, k, batch = MLP[size]
    torch.manual_seed(2)
    net = torch.nn.Sequential(
        torch.nn.Linear(i, h), torch.nn.BatchNorm1d(h), torch.nn.ReLU(),
        torch.nn.Linear(h, h), torch.nn.BatchNorm1d(h), torch.nn.ReLU(),
        torch.nn.Linear(h, k))
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(batch, i)
    y = torch.randint(k, (batch,))

    def step():
        opt.zero_grad()
        F.cross_entropy(net(x), y).backward()
        opt.step()

    return time_case(lambda: None, step, min_seconds)


def blas_info():
    """The BLAS torch's GEMMs run on, and OpenBLAS's kernel set when it is OpenBLAS."""
    import ctypes
    libs = [l.split()[-1] for l in open("/proc/self/maps") if "blas" in l.split()[-1]]
    if not libs:
        return "no BLAS loaded"
    lib = ctypes.CDLL(libs[0])
    if hasattr(lib, "openblas_get_corename"):
        lib.openblas_get_corename.restype = ctypes.c_char_p
        return f"{libs[0]}, {lib.openblas_get_corename().decode()} kernels"
    return libs[0]


def run_case(name, threads, min_seconds):
    torch.set_num_threads(threads)
    kind, _, arg = name.partition(":")
    if kind == "info":
        torch.mm(torch.ones(64, 64), torch.ones(64, 64))  # the BLAS is loaded by now
        return {"gemm": blas_info()}
    if kind == "mlp_step":
        return mlp_case(arg, min_seconds)
    if kind.startswith("bn_"):
        return bn_case(kind, [int(d) for d in arg.split("x")], min_seconds)
    return {"skip": "not measured for PyTorch"}


def main():
    for line in sys.stdin:
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "quit":
            break
        try:
            answer = run_case(parts[0], int(parts[1]), float(parts[2]))
        except Exception as e:  # report, keep serving
            answer = {"skip": f"error: {e}"}
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
