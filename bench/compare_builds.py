#!/usr/bin/env python3
"""Two builds of minigrad on the same cases: their bench_minigrad workers answer the same requests
in turn (the protocol of bench/timing.hpp), the order alternating every round, and the table has
each side's median over the rounds. For "is this change slower?": build the old commit in a
worktree, then

  bench/compare_builds.py OLD/build/release/bench/bench_minigrad build/release/bench/bench_minigrad \\
      --cases bn_train_fwdbwd:32x10 mlp_step:S --threads 1 2 --rounds 5

Set OPENBLAS_CORETYPE in the environment as `make bench` would (it prints the kernel set it
chose): both workers inherit it.

On this kind of VM a memory-bound case's time depends on the process: where its buffers land
in physical memory moves it by 10-25%, run to run, the same binary against itself. --restarts K
starts both workers afresh K times (rounds each time) and prints, beside the median over every
sample, each side's range of per-process medians: a difference inside those ranges is noise.
A small case's time also depends on the cases run before it in the same process (where the
allocator's history puts its buffers: 0.35 or 0.55 µs for the 32x10 eval forward); --isolate
gives every case its own pair of workers."""
import argparse
import json
import statistics
import subprocess


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("before", help="the old build's bench_minigrad")
    p.add_argument("after", help="the new build's bench_minigrad")
    p.add_argument("--cases", nargs="+", required=True, help="bench_minigrad cases")
    p.add_argument("--threads", nargs="+", type=int, default=[1])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--min-seconds", type=float, default=0.3, help="timed time per request")
    p.add_argument("--restarts", type=int, default=1,
                   help="start both workers afresh this many times, --rounds each")
    p.add_argument("--isolate", action="store_true", help="fresh workers for every case")
    args = p.parse_args()
    times = {}  # (case, threads, side) -> [[µs of each round] per process]
    for cases in ([[c] for c in args.cases] if args.isolate else [args.cases]):
        for _ in range(args.restarts):
            run_processes(args, cases, times)
    print(f"median of {args.rounds} interleaved rounds x {args.restarts} process pairs, µs"
          + ("; [range of the per-process medians]" if args.restarts > 1 else ""))
    print(f"{'case':28} {'thr':>3} {'before':>11} {'after':>11} {'after/before':>12}")
    for case in args.cases:
        for t in args.threads:
            cols = []
            for side in ("before", "after"):
                per_process = times[(case, t, side)]
                median = statistics.median([us for proc in per_process for us in proc])
                spread = [statistics.median(proc) for proc in per_process]
                cols.append((median, f" [{min(spread):.4g}, {max(spread):.4g}]"
                             if args.restarts > 1 else ""))
            (b, b_range), (a, a_range) = cols
            print(f"{case:28} {t:3} {b:11.2f} {a:11.2f} {a / b:12.3f}{b_range}{a_range}")


def run_processes(args, cases, times):
    """One pair of fresh workers answering --rounds interleaved rounds of cases; appends to
    times."""
    workers = {side: subprocess.Popen([path], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      text=True, bufsize=1)
               for side, path in (("before", args.before), ("after", args.after))}

    def ask(side, case, threads):
        w = workers[side]
        w.stdin.write(f"{case} {threads} {args.min_seconds}\n")
        w.stdin.flush()
        return json.loads(w.stdout.readline()).get("us", float("nan"))

    samples = {}
    for r in range(args.rounds):
        for case in cases:
            for t in args.threads:
                for side in (("before", "after") if r % 2 == 0 else ("after", "before")):
                    samples.setdefault((case, t, side), []).append(ask(side, case, t))
    for w in workers.values():
        w.stdin.write("quit\n")
        w.stdin.flush()
        w.wait()
    for key, us in samples.items():
        times.setdefault(key, []).append(us)


if __name__ == "__main__":
    main()
