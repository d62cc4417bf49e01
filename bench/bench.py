"""`make bench`: minigrad against PyTorch on the same cases, interleaved, in one table.

Three workers serve timing requests (protocol in bench/timing.hpp): bench_minigrad,
bench_libtorch (when libtorch was found at build time) and bench_torch.py (when `import torch`
works). For every case and thread count the driver asks each worker in turn, so the machine's
state (other processes, frequency) is shared fairly; with --rounds R it does that R times and
keeps the median of the R medians.

PyTorch runs at its best: its OpenBLAS is given the fastest kernel set that computes correctly on
this CPU (probe_openblas), whatever OPENBLAS_CORETYPE the caller's environment holds, and minigrad's
worker gets the same one. The table says which kernels each side ran. Beside the times: the triad
(STREAM's a = b + s * c) for the memory-bound cases and, for the MLP steps, the time of the step's
own products on the fastest SGEMM candidate for each (Eigen, OpenBLAS, BLIS: bench_gemm), as a
share of minigrad's step, and for the GEMM-bound steps (M, L) that candidate's GFLOP/s, all
measured in the same run.
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TORCH_PYTHON = "/usr/bin/python3"  # Debian's python3-torch; a python3 first on PATH may lack it
BN_SHAPES = ["32x10", "256x256", "1024x512", "4096x1024", "16384x256", "64x128x256"]
BN_KINDS = [("bn_train_fwd", "BN train fwd", 8), ("bn_train_bwd", "BN train bwd", 12),
            ("bn_train_fwdbwd", "BN train fwd+bwd", 20), ("bn_eval_fwd", "BN eval fwd", 8)]
# in, hidden, classes, batch: as bench/timing.hpp's mlp_size and bench/bench_torch.py's MLP.
MLP_SIZES = {"S": (2, 64, 2, 128), "M": (784, 512, 10, 256), "L": (1024, 2048, 10, 1024)}
GEMM_BOUND = ["M", "L"]
# The steps whose products the GEMM candidates time: M and L, which they bound, and S, where they
# show how much of the step's time products would take even on the fastest library for each.
WITH_PRODUCTS = ["S", "M", "L"]
# Speed-up over PyTorch at its best (the faster of libtorch and torch.py) asked for at 1 thread;
# at 2 threads the large cases ask the same against PyTorch's 2 threads.
TARGETS = {"bn_train_fwdbwd:32x10": 10, "bn_train_fwdbwd:256x256": 4,
           "bn_train_fwdbwd:4096x1024": 1.5, "bn_train_fwdbwd:16384x256": 1.5,
           "bn_train_fwdbwd:64x128x256": 3, "bn_eval_fwd:4096x1024": 1.0,
           "mlp_step:S": 6, "mlp_step:M": 1.2, "mlp_step:L": 1.1}
LARGE = {"bn_train_fwdbwd:4096x1024", "bn_train_fwdbwd:16384x256", "bn_eval_fwd:4096x1024",
         "mlp_step:M", "mlp_step:L"}
# "2 threads never slower than 1" allows this much noise before it says MISS.
NOISE = 1.05


def mlp_products(size):
    """The products of one training step of the MLP `size`, as bench_gemm cases (C = op(A) op(B),
    (M, N, K)): per Linear y = x W^T (nt), dW = dy^T x (tn), and dx = dy W (nn) except for the
    network's input, which needs no gradient."""
    fan_in, hidden, classes, batch = MLP_SIZES[size]
    out = []
    for n, (i, o) in enumerate([(fan_in, hidden), (hidden, hidden), (hidden, classes)]):
        out += [f"{batch}x{o}x{i}:nt", f"{o}x{i}x{batch}:tn"] + ([f"{batch}x{i}x{o}:nn"] if n else [])
    return out


def flops(product):
    m, n, k = (int(d) for d in product.split(":")[0].split("x"))
    return 2.0 * m * n * k


# PyTorch frees its tensors to glibc's malloc, which returns blocks over its mmap threshold to the
# OS; the next step then faults every page in again (about 11 µs per 4 KiB page on this VM), and
# PyTorch's times swing by 10x with glibc's adaptive threshold. The PyTorch workers run with the
# threshold fixed and trimming off, so they too reuse memory: we compare against PyTorch at its
# best, not at its unluckiest.
TORCH_MALLOC = {"MALLOC_MMAP_THRESHOLD_": str(32 << 20), "MALLOC_TRIM_THRESHOLD_": str(1 << 32),
                "MALLOC_TOP_PAD_": str(256 << 20)}


# OpenBLAS kernel sets to try for PyTorch (OPENBLAS_CORETYPE values), fastest first on AVX-512.
OPENBLAS_CORES = ["SkylakeX", "Cooperlake", "Zen", "Haswell", "Sandybridge"]
# BLIS 0.9's kernel sets (BLIS_ARCH_TYPE takes the number of its arch_t): skx, zen3, haswell.
BLIS_ARCHS = ["0", "6", "3"]


def probe_one_openblas():
    """Run in a child (--probe-openblas): which kernels torch's OpenBLAS runs, how fast, how right."""
    import ctypes
    import torch
    torch.set_num_threads(1)
    lib = next(l.split()[-1] for l in open("/proc/self/maps") if "blas" in l.split()[-1])
    blas = ctypes.CDLL(lib)
    core = "?"
    if hasattr(blas, "openblas_get_corename"):
        blas.openblas_get_corename.restype = ctypes.c_char_p
        core = blas.openblas_get_corename().decode()
    torch.manual_seed(0)
    a, b = torch.randn(512, 512), torch.randn(512, 512)
    exact = a.double() @ b.double()
    err = ((a @ b).double() - exact).abs().max().item() / exact.abs().max().item()
    best = min(timed_once(lambda: torch.mm(a, b)) for _ in range(30))
    print(json.dumps({"library": lib, "core": core, "rel_err": err,
                      "gflops": 2 * 512 ** 3 / best / 1e9}))


def timed_once(f):
    t0 = time.perf_counter()
    f()
    return time.perf_counter() - t0


def probe_openblas():
    """The fastest OpenBLAS kernel set that multiplies correctly here (float32 GEMM within 1e-5 of
    a float64 product), for PyTorch's workers. Each candidate runs in a fresh process, since
    OpenBLAS reads OPENBLAS_CORETYPE once, when it is loaded. Returns (best core or None, lines)."""
    lines, ok = [], []
    for core in [None] + OPENBLAS_CORES:
        env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
        if core:
            env["OPENBLAS_CORETYPE"] = core
        r = subprocess.run([TORCH_PYTHON, os.path.abspath(__file__), "--probe-openblas"], env=env,
                           capture_output=True, text=True)
        asked = f"OPENBLAS_CORETYPE={core}" if core else "OPENBLAS_CORETYPE unset (OpenBLAS detects)"
        if r.returncode != 0:
            lines.append(f"  {asked}: failed ({r.returncode})")
            continue
        a = json.loads(r.stdout.strip().splitlines()[-1])
        correct = a["rel_err"] < 1e-5
        lines.append(f"  {asked}: ran {a['core']}, {a['gflops']:.0f} GFLOP/s on 512^3, "
                     f"error {a['rel_err']:.1e} ({'correct' if correct else 'WRONG'})")
        if core and correct and a["core"].lower() == core.lower():
            ok.append((a["gflops"], core))
    return (max(ok)[1] if ok else None), lines


class Worker:
    def __init__(self, name, argv, env=None):
        self.name = name
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, bufsize=1, env={**os.environ, **(env or {})})

    def ask(self, case, threads, min_seconds):
        self.proc.stdin.write(f"{case} {threads} {min_seconds}\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.name} worker exited")
        return json.loads(line)

    def close(self):
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass
        self.proc.wait(timeout=30)


def numel(shape):
    n = 1
    for d in shape.split("x"):
        n *= int(d)
    return n


def start_workers(args):
    notes = []
    probe = subprocess.run([TORCH_PYTHON, "-c", "import torch; print(torch.__version__)"],
                           capture_output=True, text=True)
    have_torch = probe.returncode == 0
    # Every worker gets the same OpenBLAS kernel set, chosen here: the environment's is ignored.
    blas_env = {}
    if have_torch:
        core, lines = probe_openblas()
        notes.append("OpenBLAS kernel sets probed (torch.mm, 1 thread):")
        notes += lines
        if core:
            blas_env["OPENBLAS_CORETYPE"] = core
            notes.append(f"Every worker runs OPENBLAS_CORETYPE={core}: the fastest correct one.")
    workers = {"minigrad": Worker("minigrad", [os.path.join(args.bin, "bench_minigrad")],
                                  blas_env)}
    libtorch = os.path.join(args.bin, "bench_libtorch")
    if os.path.exists(libtorch):
        workers["libtorch"] = Worker("libtorch", [libtorch], {**TORCH_MALLOC, **blas_env})
    else:
        notes.append("libtorch C++ not found at build time (Debian: libtorch-dev): its column is n/a.")
    if have_torch:
        workers["torch.py"] = Worker("torch.py", [TORCH_PYTHON, os.path.join(HERE,
                                                                           "bench_torch.py")],
                                     {**TORCH_MALLOC, **blas_env})
        notes.append(f"PyTorch {probe.stdout.strip()} (Python).")
    else:
        notes.append("PyTorch (Python) is not available: its column is n/a; minigrad still runs.")
    if len(workers) > 1:
        notes.append("PyTorch workers: glibc malloc keeps freed memory (" +
                     " ".join(f"{k}={v}" for k, v in TORCH_MALLOC.items()) + ").")
        notes.append(blas_note())
    for name, w in workers.items():  # what each side's GEMMs actually ran on
        notes.append(f"{name} GEMM: {w.ask('info', 1, 0).get('gemm', '?')}")
    if any(c.startswith("gemm:") for c, _ in cases(args)):
        workers.update(start_gemm_workers(args, blas_env.get("OPENBLAS_CORETYPE"), notes))
    return workers, notes, blas_env


def start_gemm_workers(args, openblas_core, notes):
    """The SGEMM candidates for the GEMM-bound steps (bench_gemm, one library and kernel set per
    process): Eigen, OpenBLAS with the probed kernels, BLIS with its fastest correct kernel set,
    (minigrad's own mg::gemm answers the same requests in its worker)."""
    exe = os.path.join(args.bin, "bench_gemm")
    if not os.path.exists(exe):
        notes.append("bench_gemm not built: no SGEMM limit for the MLP steps.")
        return {}
    out = {"gemm eigen": Worker("gemm eigen", [exe, "eigen"])}

    def try_worker(argv):  # a candidate whose library is missing exits at once: left out
        w = Worker(" ".join(argv[1:]), argv)
        try:
            return w, w.ask("gemm:512x512x512:nn", 1, 0.05)
        except (RuntimeError, BrokenPipeError):
            w.proc.wait()
            return None, None

    w, _ = try_worker([exe, "openblas"] + ([openblas_core] if openblas_core else []))
    if w:
        out[f"gemm openblas {openblas_core or 'detected'}"] = w
    # BLIS reads BLIS_ARCH_TYPE when loaded; its own detection may not know this CPU ("generic").
    blis, lines = None, []
    for arch in [None] + BLIS_ARCHS:
        w, a = try_worker([exe, "blis"] + ([arch] if arch else []))
        if not w:
            continue
        ok = a["rel_err"] < 1e-5
        lines.append(f"  BLIS_ARCH_TYPE={arch or 'unset'}: ran {a['kernels']}, "
                     f"{a['gflops']:.0f} GFLOP/s on 512^3 ({'correct' if ok else 'WRONG'})")
        if ok and (blis is None or a["gflops"] > blis[0]):
            if blis:
                blis[1].close()
            blis = (a["gflops"], w, a["kernels"])
        else:
            w.close()
    if blis:
        out[f"gemm blis {blis[2]}"] = blis[1]
        notes.append("BLIS kernel sets probed (1 thread):")
        notes += lines
    else:
        notes.append("BLIS not found (Debian: libblis4-openmp): not a candidate.")
    return out


def blas_note():
    """Which BLAS PyTorch's GEMMs run on: Debian's reference BLAS is ten times slower."""
    blas = os.path.realpath("/usr/lib/x86_64-linux-gnu/libblas.so.3")
    if "openblas" in blas or "blis" in blas or "mkl" in blas:
        return f"PyTorch's BLAS: {blas}."
    return (f"PyTorch's BLAS: {blas}, the unoptimised reference BLAS: PyTorch's GEMMs are many times"
            " slower than they could be (scripts/install-deps.sh --torch installs OpenBLAS).")


def memory_runs(args):
    """Peak RSS over 20 epochs of train_mlp: in-process, and the real binary when built."""
    out = {}
    rss = subprocess.run([os.path.join(args.bin, "bench_minigrad"), "--rss"],
                         capture_output=True, text=True, check=True)
    out["inprocess"] = json.loads(rss.stdout.strip().splitlines()[-1])
    train_mlp = os.path.join(args.examples, "train_mlp")
    if os.path.exists(train_mlp):
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            proc = subprocess.Popen([train_mlp, "--epochs", "20", "--brief", "--out", tmp],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            _, status, usage = os.wait4(proc.pid, 0)
            out["train_mlp"] = {"status": status, "maxrss_kib": usage.ru_maxrss,
                                "seconds": time.perf_counter() - t0}
    return out


def cases(args):
    out = [("triad", None)]
    for shape in BN_SHAPES:
        for kind, _, _ in BN_KINDS:
            out.append((f"{kind}:{shape}", shape))
        out.append((f"bn_composed_fwdbwd:{shape}", shape))
    out += [(f"mlp_step:{m}", None) for m in MLP_SIZES]
    if args.filter:
        out = [c for c in out if c[0] == "triad" or any(f in c[0] for f in args.filter)]
    # The MLP steps' products, for the GEMM candidates.
    for m in WITH_PRODUCTS:
        if any(c[0] == f"mlp_step:{m}" for c in out):
            out += [(f"gemm:{p}", None) for p in mlp_products(m) if (f"gemm:{p}", None) not in out]
    return out


def answering(case, names):
    """Which workers time a case: minigrad alone for its own cases, the GEMM candidates for the
    products, minigrad and the PyTorch workers for the rest."""
    if case == "triad" or "composed" in case:
        return [n for n in names if n == "minigrad"]
    if case.startswith("gemm:"):
        return [n for n in names if n.startswith("gemm ") or n == "minigrad"]
    return [n for n in names if not n.startswith("gemm ")]


def measure(args, workers):
    results = {}  # (case, threads, worker) -> [answers]
    order = list(workers)
    for r in range(args.rounds):
        for case, _ in cases(args):
            for threads in args.threads:
                names = order[r % len(order):] + order[:r % len(order)]  # rotate who goes first
                for name in answering(case, names):
                    answer = workers[name].ask(case, threads, args.min_seconds)
                    print(f"  {case} thr {threads} {name}: {answer.get('us', answer)}",
                          file=sys.stderr, flush=True)
                    results.setdefault((case, threads, name), []).append(answer)
        print(f"  round {r + 1}/{args.rounds} done", file=sys.stderr, flush=True)
    return results


def median_of(answers, key="us"):
    values = [a[key] for a in answers if key in a and a[key] is not None]
    return statistics.median(values) if values else None


def fmt_us(us):
    if us is None:
        return "n/a"
    return f"{us / 1000:.2f} ms" if us >= 10000 else f"{us:.1f} µs"


def fmt_ratio(a, b):
    return f"{b / a:.2f}x" if a and b else "n/a"


def gemm_floor(args, results, size, t):
    """The time of the step's products alone, each at the fastest candidate's median (None if
    they were not measured), and the fastest candidate's GFLOP/s over them all."""
    total, work = 0.0, 0.0
    for p in mlp_products(size):
        best = [median_of(a) for (c, th, w), a in results.items()
                if c == f"gemm:{p}" and th == t and w != "minigrad"]
        best = [b for b in best if b]
        if not best:
            return None, None
        total += min(best)
        work += flops(p)
    return total, work / (total * 1e3)


def print_gemm_candidates(args, results, workers):
    """Each candidate's median GFLOP/s on each product of the GEMM-bound steps: the BLAS choice."""
    names = [n for n in workers if n.startswith("gemm ")] + ["minigrad"]
    products = [c[5:] for c, _ in cases(args) if c.startswith("gemm:")]
    if not names or not products:
        return
    for t in args.threads:
        print(f"\nGEMM candidates on the MLP steps' products, {t} thread(s): median GFLOP/s "
              "(max error against a float64 product)")
        print(f"  {'product (MxNxK:op)':<20}" + "".join(f"{n.replace('gemm ', ''):>18}" for n in names))
        for p in products:
            cells = []
            for n in names:
                a = results.get((f"gemm:{p}", t, n), [])
                g, e = median_of(a, "gflops"), max((x.get("rel_err", 0) for x in a), default=None)
                cells.append(f"{g:7.1f} ({e:.0e})" if g else "n/a")
            print(f"  {p:<20}" + "".join(f"{c:>18}" for c in cells))


def print_table(args, results, saved, memory, notes, workers):
    get = lambda case, t, w: median_of(results.get((case, t, w), []))
    triad = {t: median_of(results.get(("triad", t, "minigrad"), []), "gbps") for t in args.threads}
    rows = []
    header = ["case", "shape", "thr", "minigrad", "libtorch", "torch.py", "vs best PyTorch",
              "minigrad's rate", "machine limit", "OS allocs", "target"]
    for case, shape in cases(args):
        if case == "triad" or "composed" in case or case.startswith("gemm:"):
            continue
        kind, _, arg = case.partition(":")
        label = dict((k, l) for k, l, _ in BN_KINDS).get(kind, "MLP step")
        for t in args.threads:
            mg, lt, py = get(case, t, "minigrad"), get(case, t, "libtorch"), get(case, t, "torch.py")
            best = min((x for x in (lt, py) if x), default=None)  # PyTorch at its best
            rate = limit = ""
            if shape and mg:  # memory-bound: minimal traffic over the time, against the triad
                per_elem = dict((k, b) for k, _, b in BN_KINDS)[kind]
                g = per_elem * numel(shape) / (mg * 1e3)
                rate = f"{g:.1f} GB/s"
                limit = f"{100 * g / triad[t]:.0f}% of triad" if triad.get(t) else ""
            if kind == "mlp_step" and arg in GEMM_BOUND and mg:  # GEMM-bound: against the floor
                floor, best_rate = gemm_floor(args, results, arg, t)
                work = sum(flops(p) for p in mlp_products(arg))
                rate = f"{work / (mg * 1e3):.0f} GFLOP/s"
                if floor:
                    limit = f"{100 * floor / mg:.0f}% of SGEMM ({best_rate:.0f} GF/s)"
            elif kind == "mlp_step" and arg in WITH_PRODUCTS and mg:  # the products' share
                floor, _ = gemm_floor(args, results, arg, t)
                if floor:
                    limit = f"products {fmt_us(floor)}, {100 * floor / mg:.0f}%"
            # OS allocations during all timed repetitions (after warm-up); should be 0.
            allocs = max((a.get("os_allocs", 0) for a in results.get((case, t, "minigrad"), [])),
                         default=None)
            target = []
            if case in TARGETS and (t == 1 or case in LARGE) and best and mg:
                target.append(f">={TARGETS[case]}x " + ("ok" if best / mg >= TARGETS[case] else "MISS"))
            one = get(case, 1, "minigrad")
            if t > 1 and mg and one:
                target.append("2T<=1T " + ("ok" if mg <= one * NOISE else "MISS"))
            rows.append([label, arg, str(t), fmt_us(mg), fmt_us(lt), fmt_us(py),
                         fmt_ratio(mg, best), rate, limit,
                         "" if allocs is None else f"{allocs:.0f}", ", ".join(target)])
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    line = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"
    print()
    for n in notes:
        print(n)
    print("Median times, float32; 'vs best PyTorch' = the faster of libtorch and torch.py's time / "
          "minigrad's (above 1: minigrad faster).")
    print("BN rate = minimal traffic (fwd 8 B/element, bwd 12, fwd+bwd 20) / minigrad's time, against "
          + ", ".join(f"triad {t} thr {triad[t]:.1f} GB/s" for t in args.threads if triad.get(t)) + ".")
    print("MLP M, L rate = the step's GEMM work / minigrad's time; limit (S, M, L) = the time of its "
          "products alone, each on the fastest SGEMM candidate, as a share of minigrad's step.")
    print(f"target: issue 13 ('2T<=1T': 2 threads no slower than 1, {NOISE - 1:.0%} noise allowed).")
    print(line(header))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print(line(r))
    print_gemm_candidates(args, results, workers)

    print("\nFused BatchNorm1d vs the one composed from primitive ops (minigrad, fwd+bwd):")
    for case, shape in cases(args):
        if "composed" not in case:
            continue
        for t in args.threads:
            fused = get(f"bn_train_fwdbwd:{shape}", t, "minigrad")
            comp = get(case, t, "minigrad")
            sv = saved.get(shape, {})
            fb, cb = sv.get("fused_bytes"), sv.get("composed_bytes")
            mem = (f"; kept for backward: fused {fb / 1024:.1f} KiB, composed {cb / 1024:.1f} KiB"
                   f" ({cb / fb:.1f}x fewer)") if fb and cb else ""
            print(f"  {shape:>11} thr {t}: fused {fmt_us(fused)}, composed {fmt_us(comp)} "
                  f"({fmt_ratio(fused, comp)} faster){mem if t == args.threads[0] else ''}")

    m = memory.get("inprocess", {})
    print("\nMemory over 20 epochs of train_mlp's default run (in-process, 1 thread):")
    print(f"  VmRSS per epoch (KiB): {m.get('rss_kib_per_epoch')}")
    print(f"  VmHWM {m.get('hwm_kib')} KiB; OS allocations per epoch: "
          f"{m.get('os_allocs_per_epoch')} ({m.get('steps_per_epoch'):g} steps per epoch)")
    if "train_mlp" in memory:
        tm = memory["train_mlp"]
        print(f"  examples/train_mlp --epochs 20: peak RSS {tm['maxrss_kib']} KiB, exit status "
              f"{tm['status']}, {tm['seconds']:.1f} s")


def scaling_runs(args, blas_env):
    """The M network's step under `mpirun -np P bench_scaling` for P = 1, 2 (1 thread each)."""
    exe = os.path.join(args.bin, "bench_scaling")
    mpirun = "/usr/bin/mpirun"
    if not (os.path.exists(exe) and os.path.exists(mpirun)):
        return {}
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               **blas_env)
    out = {}
    for P in (1, 2):
        runs = []
        for _ in range(args.rounds):
            r = subprocess.run([mpirun, "-np", str(P), "--oversubscribe", exe], env=env,
                               capture_output=True, text=True, check=True)
            runs.append(json.loads(r.stdout.strip().splitlines()[-1]))
        out[P] = min(runs, key=lambda a: a["step_us"])  # the least disturbed round
    return out


def print_scaling(scaling):
    if not scaling:
        print("\nData-parallel scaling: n/a (no mpirun or no bench_scaling in this build)")
        return
    one, two = scaling[1], scaling[2]
    print("\nData-parallel scaling, M network (784-512-512-10 with BatchNorm1d), batch "
          f"{one['batch_per_process']:g} per process, 1 thread per process (bench_scaling):")
    for P, a in sorted(scaling.items()):
        print(f"  {P} process{'es' if P > 1 else '  '}: step {fmt_us(a['step_us'])}, "
              f"waiting for the slower rank {fmt_us(a.get('wait_us', 0))}, "
              f"all-reduce {fmt_us(a['allreduce_us'])} "
              f"({100 * a['allreduce_us'] / a['step_us']:.0f}% of the step), "
              f"{a['samples_per_s']:.0f} samples/s")
    print(f"  throughput ratio 2 processes / 1: {two['samples_per_s'] / one['samples_per_s']:.2f}x "
          f"(ideal 2x on 2 free cores)")


def main():
    if sys.argv[1:] == ["--probe-openblas"]:
        return probe_one_openblas()
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bin", required=True, help="the build's bench/ folder")
    p.add_argument("--examples", default="", help="the build's examples/ folder (train_mlp)")
    p.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_ROUNDS", "1")),
                   help="measure everything this many times, keep the median (noisy machine: 3)")
    p.add_argument("--min-seconds", type=float, default=0.1, help="timed time per request")
    p.add_argument("--threads", default="1,2")
    p.add_argument("--filter", nargs="*", help="only cases containing one of these strings")
    p.add_argument("--json", help="also write every answer to this file")
    args = p.parse_args()
    args.threads = [int(t) for t in args.threads.split(",")]
    t0 = time.perf_counter()
    workers, notes, blas_env = start_workers(args)
    try:
        print(f"bench: {len(cases(args))} cases x {len(args.threads)} thread counts x "
              f"{len(workers)} implementations x {args.rounds} rounds", file=sys.stderr)
        memory = memory_runs(args)
        scaling = scaling_runs(args, blas_env)
        results = measure(args, workers)
        saved = {}
        for case, shape in cases(args):
            if "composed" in case:
                saved[shape] = workers["minigrad"].ask(f"bn_saved_bytes:{shape}", 1, 0)
    finally:
        for w in workers.values():
            w.close()
    print_table(args, results, saved, memory, notes, workers)
    print_scaling(scaling)
    print(f"\n(total {time.perf_counter() - t0:.0f} s; command: make bench)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"results": [{"case": c, "threads": t, "worker": w, "answers": a}
                                   for (c, t, w), a in results.items()],
                       "saved": saved, "memory": memory}, f, indent=1)


if __name__ == "__main__":
    main()
