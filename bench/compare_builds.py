#!/usr/bin/env python3
"""Two builds of minigrad on the same cases: their bench_minigrad workers answer the same requests
in turn (the protocol of bench/timing.hpp), the order alternating every round, and the table has
each side's median over the rounds. For "is this change slower?": build the old commit in a
worktree, then

  bench/compare_builds.py OLD/build/release/bench/bench_minigrad build/release/bench/bench_minigrad \\
      --cases bn_train_fwdbwd:32x10 mlp_step:S --threads 1 2 --rounds 5

Set OPENBLAS_CORETYPE in the environment as `make bench` would (it prints the kernel set it
chose): both workers inherit it."""
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
    args = p.parse_args()
    workers = {side: subprocess.Popen([path], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      text=True, bufsize=1)
               for side, path in (("before", args.before), ("after", args.after))}

    def ask(side, case, threads):
        w = workers[side]
        w.stdin.write(f"{case} {threads} {args.min_seconds}\n")
        w.stdin.flush()
        return json.loads(w.stdout.readline()).get("us", float("nan"))

    times = {}
    for r in range(args.rounds):
        for case in args.cases:
            for t in args.threads:
                for side in (("before", "after") if r % 2 == 0 else ("after", "before")):
                    times.setdefault((case, t, side), []).append(ask(side, case, t))
    for w in workers.values():
        w.stdin.write("quit\n")
        w.stdin.flush()
    print(f"median of {args.rounds} interleaved rounds, µs")
    print(f"{'case':28} {'thr':>3} {'before':>11} {'after':>11} {'after/before':>12}")
    for case in args.cases:
        for t in args.threads:
            b = statistics.median(times[(case, t, "before")])
            a = statistics.median(times[(case, t, "after")])
            print(f"{case:28} {t:3} {b:11.2f} {a:11.2f} {a / b:12.3f}")


if __name__ == "__main__":
    main()
