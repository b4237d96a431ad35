"""Sustained load: a fixed rate of decide + reward for a fixed time, in one process.

An open-loop schedule issues one ``decide`` every 1/rate seconds (busy-waiting on one
core); rewards arrive for most decisions a few thousand decisions later (delayed,
out of order), and ``--unrewarded`` of them never arrive, so the attribution window
closes them with the default reward. Reports p50 / p99 / p99.9 latency of every
call, how far the schedule slipped, and resident memory at the start (after a warm-up
at full load) and at the end.

    python benchmarks/load.py --rate 20000 --seconds 60 --json load.json
    python benchmarks/load.py --seconds 5            # the CI form

Exits 1 when p99 exceeds ``--budget-us`` or memory grows more than ``--max-growth``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import deque
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _schemas import benchmark_schema, context_stream  # noqa: E402
from latency import machine  # noqa: E402

from omnibandit.engine import Engine  # noqa: E402


def rss_bytes() -> int:
    with open(f"/proc/{os.getpid()}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=20_000, help="decisions per second")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--warmup-seconds", type=float, default=5.0, help="at full load, before memory is read")
    parser.add_argument("--policy", default="lin_ts")
    parser.add_argument("--d", type=int, default=32)
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--delay", type=int, default=2_000, help="decisions between a decision and its reward")
    parser.add_argument("--unrewarded", type=float, default=0.2, help="share of decisions that never get a reward")
    parser.add_argument("--window", type=float, default=0.5, help="attribution window, seconds")
    parser.add_argument("--budget-us", type=float, default=1000.0)
    parser.add_argument("--max-growth", type=float, default=0.05)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)

    schema = benchmark_schema(args.d, args.k)
    engine = Engine.for_policy(schema, args.policy, seed=0, clock=time.monotonic, attribution_window=args.window,
                               pending_capacity=65_536)
    engine.warmup()
    contexts = context_stream(schema, 50_000, seed=1)
    rng = np.random.default_rng(2)
    rewards = rng.normal(size=1 << 16).clip(-5, 5).tolist()
    skip = (rng.random(1 << 16) < args.unrewarded).tolist()
    decide, reward = engine.decide, engine.reward
    clock = time.perf_counter_ns
    period = int(1e9 / args.rate)
    total = int(args.rate * (args.seconds + args.warmup_seconds))
    warm = int(args.rate * args.warmup_seconds)
    # filled now so their pages are resident before memory is read: they are the
    # benchmark's own storage, not the engine's growth
    lat_decide = np.full(total - warm, -1, dtype=np.int64)
    lat_reward = np.full(total - warm, -1, dtype=np.int64)
    waiting: deque = deque()
    rss_start = None
    behind_max = 0
    start = clock()
    for i in range(total):
        due = start + i * period
        now = clock()
        while now < due:
            now = clock()
        behind_max = max(behind_max, now - due) if i >= warm else 0
        if i == warm:
            rss_start = rss_bytes()
            start_measured = now
        t0 = clock()
        d = decide(contexts[i % 50_000])
        t1 = clock()
        if not skip[i & 0xFFFF]:
            waiting.append(d.decision_id)
        if len(waiting) > args.delay:
            did = waiting.popleft()
            try:
                reward(did, rewards[i & 0xFFFF])
            except Exception:  # an expired decision: LateReward is the documented outcome
                pass
        t2 = clock()
        if i >= warm:
            lat_decide[i - warm] = t1 - t0
            lat_reward[i - warm] = t2 - t1
    elapsed = (clock() - start_measured) / 1e9
    rss_end = rss_bytes()
    both = (lat_decide + lat_reward) / 1000.0
    stats = engine.stats
    result = {
        "policy": args.policy, "d": args.d, "k": args.k, "rate_target": args.rate,
        "rate_achieved": round((total - warm) / elapsed, 1), "seconds": round(elapsed, 2), "calls": total - warm,
        "p50_us": round(float(np.percentile(both, 50)), 2), "p99_us": round(float(np.percentile(both, 99)), 2),
        "p999_us": round(float(np.percentile(both, 99.9)), 2),
        "decide_p99_us": round(float(np.percentile(lat_decide / 1000.0, 99)), 2),
        "max_schedule_slip_ms": round(behind_max / 1e6, 3),
        "rss_start_mb": round(rss_start / 2**20, 1), "rss_end_mb": round(rss_end / 2**20, 1),
        "rss_growth": round(rss_end / rss_start - 1, 4),
        "engine": {k: v for k, v in stats.items() if k != "rejected"}, "rejected": stats["rejected"],
        "machine": machine(),
    }
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    broken = []
    if result["p99_us"] > args.budget_us:
        broken.append(f"p99 {result['p99_us']}us > {args.budget_us}us")
    if result["rss_growth"] > args.max_growth:
        broken.append(f"memory grew {100 * result['rss_growth']:.1f}% > {100 * args.max_growth:.0f}%")
    if result["rate_achieved"] < 0.95 * args.rate:
        broken.append(f"held {result['rate_achieved']}/s < 95% of {args.rate}/s")
    for line in broken:
        print("LOAD BUDGET BROKEN:", line, file=sys.stderr)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
