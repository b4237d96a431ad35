"""The engine at this checkout against the engine at another git revision, in one process.

The shared machines swing by up to 2x between minutes, so two runs of a benchmark at
different times cannot compare two versions of the engine. This script extracts the
package at ``--base`` (any git revision) into a temporary directory under another name,
builds the same engine from both, and runs them in turns, ``--block`` events each, on the
same contexts: each event is one ``decide`` and one ``reward``, timed together, the
``Context`` built inside the timed step. It reports p50 and p99 of each version and
their ratio (this checkout over base: below 1 is faster).

Streams: ``latency`` (the latency benchmark's schema, d=32, K=20, features as a mapping)
and scikit-learn's ``wine``, ``iris``, ``breast_cancer``, ``digits`` as bandits (a float64
array of features, as ``vw_compare.py`` gives them).

    python benchmarks/engine_ab.py --base HEAD~1 --policy linucb --streams latency,wine,digits

The first run compiles the base version's kernels (its numba cache lives in the
temporary directory). ``--startup N`` also times N cold starts of each version (import
and warm-up of LinUCB, linear TS and ε-greedy in a fresh process with an empty numba
cache), alternately.
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from _schemas import benchmark_schema, context_stream  # noqa: E402
from latency import machine, percentiles, startup_seconds  # noqa: E402

import omnibandit.engine as current  # noqa: E402

BASE_NAME = "omnibandit_base"
PACKAGES = ("engine", "policies", "simulators", "experiments", "conf")


def load_base(revision: str, into: Path):
    """``omnibandit.engine`` as of ``revision``, importable as ``omnibandit_base.engine``."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision, *PACKAGES], check=True,
                             capture_output=True).stdout
    target = into / BASE_NAME
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    for path in target.rglob("*.py"):
        text = path.read_text()
        path.write_text(re.sub(r"\bomnibandit\.", f"{BASE_NAME}.", text))
    sys.path.insert(0, str(into))
    return importlib.import_module(f"{BASE_NAME}.engine")


def stream(name: str, n: int):
    """(schema, rows, rewards): rows are Context field tuples; rewards[i][a] is the reward
    of action a at event i (a Python float, as a service passes it)."""
    if name == "latency":
        schema = benchmark_schema(32, 20)
        rows = [tuple(c) for c in context_stream(schema, n, 1)]
        r = np.random.default_rng(2).normal(size=n).clip(-5, 5)
        return schema, rows, np.repeat(r[:, None], len(schema.actions), axis=1).tolist()
    from omnibandit.simulators.classification import from_sklearn

    env = from_sklearn(name, n_events=n, seed=0)
    rows = [("web", "in_visit", None, x) for x in env.X]
    return env.schema, rows, np.eye(len(env.schema.actions))[env.labels].tolist()


def cold_startups(base_dir: Path, repeats: int) -> dict:
    """Import and warm-up of the three linear policies in fresh processes with an empty
    numba cache, base and current alternately."""
    out = {"base": [], "current": []}
    for _ in range(repeats):
        for label, package in (("base", BASE_NAME), ("current", "omnibandit")):
            with tempfile.TemporaryDirectory() as cache:
                out[label].append([round(s, 3) for s in startup_seconds(cache, package, (str(base_dir),))])
    return out


def run(engines: dict, rows: list, rewards: list, block: int) -> dict:
    clock = time.perf_counter_ns
    n = len(rows)
    times = {name: np.empty(n, dtype=np.int64) for name in engines}
    for start in range(0, n, block):
        for name, (engine, make) in engines.items():
            t = times[name]
            decide, reward = engine.decide, engine.reward
            for i in range(start, min(start + block, n)):
                t0 = clock()
                d = decide(make(*rows[i]))
                reward(d.decision_id, rewards[i][d.action_index])
                t[i] = clock() - t0
    return times


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="git revision to compare against (e.g. HEAD~1)")
    parser.add_argument("--policy", default="linucb")
    parser.add_argument("--streams", default="latency,wine,digits")
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--block", type=int, default=500)
    parser.add_argument("--startup", type=int, default=0, metavar="N",
                        help="also time N cold starts (import + warm-up, empty numba cache) of each version")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    results, startup = [], None
    with tempfile.TemporaryDirectory() as tmp:
        base = load_base(args.base, Path(tmp))
        for name in args.streams.split(","):
            schema, rows, rewards = stream(name, args.events)
            engines = {}
            for label, module in (("base", base), ("current", current)):
                engine = module.Engine.for_policy(module.Schema.from_dict(schema.to_dict()), args.policy, seed=0,
                                                  pending_capacity=args.events + 16)
                engine.warmup()
                engines[label] = (engine, module.Context)
            times = run(engines, rows, rewards, args.block)
            row = {"stream": name, "policy": args.policy, "events": args.events, "base_revision": args.base}
            for label, t in times.items():
                # the first block of each engine is its warm-up
                row.update({f"{label}_{k}": v for k, v in percentiles(t[args.block:]).items()})
            row["p50_ratio"] = row["current_p50_us"] / row["base_p50_us"]
            print(f"{name:<14} {args.policy:<8} base p50 {row['base_p50_us']:6.2f} p99 {row['base_p99_us']:6.2f} us   "
                  f"current p50 {row['current_p50_us']:6.2f} p99 {row['current_p99_us']:6.2f} us   "
                  f"current/base {row['p50_ratio']:.3f}", flush=True)
            results.append(row)
        if args.startup:
            startup = cold_startups(Path(tmp), args.startup)
            for label, runs in startup.items():
                print(f"cold start {label:<8} " + "  ".join(f"import {i:.2f} s warm-up {w:.2f} s" for i, w in runs))
    if args.json:
        args.json.write_text(json.dumps({"rows": results, "startup": startup, "machine": machine()}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
