"""What the event log costs on the request path: decide+reward latency per durability mode.

Runs the same stream (linear TS, d=32, K=20) with no event log (the baseline), and
with the JSON-lines log in "none", "batch" and "fsync" modes, in one process.

    python benchmarks/durability.py --n 20000 --json durability.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _schemas import benchmark_schema, context_stream  # noqa: E402
from latency import machine, percentiles  # noqa: E402

from omnibandit.engine import Engine  # noqa: E402
from omnibandit.engine.eventlog import EventLogWriter  # noqa: E402


def run(mode: str | None, n: int, folder: Path) -> dict:
    schema = benchmark_schema(32, 20)
    sink = None if mode is None else EventLogWriter(folder / f"{mode}.jsonl", durability=mode)
    engine = Engine.for_policy(schema, "lin_ts", seed=0, event_sink=sink)
    engine.warmup()
    contexts = context_stream(schema, n + 500, seed=1)
    rewards = np.random.default_rng(2).normal(size=n + 500).clip(-5, 5).tolist()
    for i in range(500):
        engine.reward(engine.decide(contexts[i]).decision_id, rewards[i])
    samples = np.empty(n, dtype=np.int64)
    clock = time.perf_counter_ns
    for i in range(n):
        t0 = clock()
        engine.reward(engine.decide(contexts[500 + i]).decision_id, rewards[500 + i])
        samples[i] = clock() - t0
    if sink is not None:
        sink.close()
    return {"durability": mode or "no event log", "n": n, **percentiles(samples)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for mode in (None, "none", "batch", "fsync"):
            rows.append(run(mode, args.n if mode != "fsync" else min(args.n, 5_000), Path(folder)))
            r = rows[-1]
            print(f"{r['durability']:>13}: decide+reward p50={r['p50_us']:8.1f}us p99={r['p99_us']:8.1f}us "
                  f"p99.9={r['p999_us']:8.1f}us (n={r['n']})", flush=True)
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "machine": machine()}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
