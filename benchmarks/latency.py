"""Decision latency through the public Engine API.

Measures ``decide`` alone and ``decide`` + ``reward`` for LinUCB, linear Thompson
sampling and ε-greedy at (d=32, K=20), (d=64, K=100) and (d=32, K=1000): warm-up
first, then ``--n`` timed calls each, reporting p50 / p99 / p99.9 in microseconds.
A per-event NumPy LinUCB (the same algorithm, written with numpy calls) runs in the
same process as the baseline. Startup (import + warm-up) is timed in fresh
processes with an empty and with a warm numba cache.

Exits 1 when any p99 exceeds ``--budget-us`` (default 1000: the sub-millisecond contract).

    python benchmarks/latency.py --json latency.json
    python benchmarks/latency.py --quick --json latency.json      # the CI form
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _schemas import benchmark_schema, context_stream  # noqa: E402

from omnibandit.engine import Engine  # noqa: E402

SHAPES = ((32, 20), (64, 100), (32, 1000))
POLICIES = {"linucb": {"alpha": 0.5}, "lin_ts": {"v": 0.3}, "egreedy": {"epsilon": 0.1}}


def percentiles(samples_ns: np.ndarray) -> dict[str, float]:
    us = samples_ns / 1000.0
    return {"p50_us": round(float(np.percentile(us, 50)), 2), "p99_us": round(float(np.percentile(us, 99)), 2),
            "p999_us": round(float(np.percentile(us, 99.9)), 2)}




def measure_engine(policy: str, d: int, k: int, n: int, warm: int, seed: int = 0) -> list[dict]:
    schema = benchmark_schema(d, k)
    engine = Engine.for_policy(schema, policy, seed=seed, pending_capacity=n + warm + 16, **POLICIES[policy])
    engine.warmup()
    contexts = context_stream(schema, warm + n, seed + 1)
    rng = np.random.default_rng(seed + 2)
    rewards = rng.normal(size=warm + n).clip(-5, 5).tolist()
    # warm-up: learn on `warm` events so the model is not trivially tied
    for i in range(warm):
        engine.reward(engine.decide(contexts[i]).decision_id, rewards[i])
    decide, reward = engine.decide, engine.reward
    clock = time.perf_counter_ns
    t_decide = np.empty(n, dtype=np.int64)
    ids = []
    for i in range(n):
        ctx = contexts[warm + i]
        t0 = clock()
        dec = decide(ctx)
        t_decide[i] = clock() - t0
        ids.append(dec.decision_id)
    for did, r in zip(ids, rewards[warm:]):  # settle so the second phase starts from an empty store
        reward(did, r)
    t_both = np.empty(n, dtype=np.int64)
    for i in range(n):
        ctx = contexts[warm + i]
        r = rewards[warm + i]
        t0 = clock()
        reward(decide(ctx).decision_id, r)
        t_both[i] = clock() - t0
    base = {"policy": policy, "d": d, "k": k, "n": n}
    return [{**base, "operation": "decide", **percentiles(t_decide)},
            {**base, "operation": "decide+reward", **percentiles(t_both)}]


def measure_numpy_baseline(d: int, k: int, n: int, seed: int = 0) -> dict:
    """Per-event LinUCB in plain numpy calls: featurise, score every action, update A⁻¹."""
    schema = benchmark_schema(d, k)
    engine = Engine.for_policy(schema, "uniform", seed=seed)  # only for its featuriser
    featuriser = engine.featuriser
    contexts = context_stream(schema, n, seed + 1)
    rng = np.random.default_rng(seed)
    A_inv = np.stack([np.eye(d)] * k)
    b = np.zeros((k, d))
    x = np.empty(d)
    samples = np.empty(n, dtype=np.int64)
    for i in range(n):
        t0 = time.perf_counter_ns()
        featuriser.transform(contexts[i], x)
        theta = np.einsum("kij,kj->ki", A_inv, b)
        width = np.sqrt(np.einsum("i,kij,j->k", x, A_inv, x))
        scores = theta @ x + 0.5 * width
        a = int(rng.choice(np.flatnonzero(scores == scores.max())))
        r = float(rng.normal())
        u = A_inv[a] @ x
        A_inv[a] -= np.outer(u, u) / (1.0 + x @ u)
        b[a] += r * x
        samples[i] = time.perf_counter_ns() - t0
    return {"policy": "numpy_linucb_baseline", "operation": "decide+reward", "d": d, "k": k, "n": n,
            **percentiles(samples)}


_STARTUP = """
import sys; sys.path[:0] = {paths!r}
import time; t0 = time.perf_counter()
from {package}.engine import Engine, Schema
t1 = time.perf_counter()
schema = Schema.from_dict({schema!r})
for p in ("linucb", "lin_ts", "egreedy"):
    Engine.for_policy(schema, p, seed=0).warmup()
print(t1 - t0, time.perf_counter() - t1)
"""


def startup_seconds(cache_dir: str, package: str = "omnibandit", paths: tuple[str, ...] = ()) -> tuple[float, float]:
    """Seconds to import ``package.engine`` and to warm up LinUCB, linear TS and ε-greedy on
    the d=32, K=20 schema, in a fresh process whose numba cache is ``cache_dir``; ``paths``
    go first on its ``sys.path``."""
    code = _STARTUP.format(paths=list(paths), package=package, schema=benchmark_schema(32, 20).to_dict())
    res = subprocess.run([sys.executable, "-c", code], env={**os.environ, "NUMBA_CACHE_DIR": cache_dir},
                         capture_output=True, text=True, check=True)
    imp, warm = map(float, res.stdout.split())
    return imp, warm


def measure_startup() -> dict:
    """Import and warm-up of the three policies in fresh processes: empty cache, then warm cache."""
    out = {}
    with tempfile.TemporaryDirectory() as cache:
        for label in ("cold_cache", "warm_cache"):
            imp, warm = startup_seconds(cache)
            out[label] = {"import_s": round(imp, 3), "warmup_s": round(warm, 3)}
    return out


def machine() -> dict:
    return {"python": platform.python_version(), "machine": platform.machine(), "processor": _cpu_model(),
            "cpus": os.cpu_count(), "numpy": np.__version__}


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write the rows here")
    parser.add_argument("--n", type=int, default=20_000, help="timed calls per row")
    parser.add_argument("--warmup-events", type=int, default=2_000)
    parser.add_argument("--budget-us", type=float, default=1000.0, help="fail when any p99 exceeds this")
    parser.add_argument("--quick", action="store_true", help="CI form: 3,000 timed calls, no startup timing")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--no-startup", action="store_true")
    args = parser.parse_args(argv)
    n = 3_000 if args.quick else args.n
    warm = 500 if args.quick else args.warmup_events
    rows = []
    for d, k in SHAPES:
        for policy in POLICIES:
            rows.extend(measure_engine(policy, d, k, n, warm))
            for row in rows[-2:]:
                print(f"{row['policy']:>8} {row['operation']:>14} d={d:<3} K={k:<5} "
                      f"p50={row['p50_us']:8.1f}us p99={row['p99_us']:8.1f}us p99.9={row['p999_us']:8.1f}us", flush=True)
    baseline = []
    if not args.no_baseline:
        for d, k in SHAPES[:1] if args.quick else SHAPES:
            row = measure_numpy_baseline(d, k, min(n, 3_000))
            baseline.append(row)
            print(f"numpy baseline decide+reward d={d} K={k}: p50={row['p50_us']:.1f}us p99={row['p99_us']:.1f}us")
    startup = None if (args.quick or args.no_startup) else measure_startup()
    if startup:
        print("startup (import, warm-up of three policies):", startup)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
        meta = {"machine": machine(), "baseline": baseline, "startup": startup, "budget_us": args.budget_us}
        args.json.with_suffix(".meta.json").write_text(json.dumps(meta, indent=1))
    broken = [r for r in rows if r["p99_us"] > args.budget_us]
    for r in broken:
        print(f"BUDGET BROKEN: {r['policy']} {r['operation']} d={r['d']} K={r['k']} p99={r['p99_us']}us "
              f"> {args.budget_us}us", file=sys.stderr)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
