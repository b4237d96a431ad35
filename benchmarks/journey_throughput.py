"""End-to-end throughput of the customer-journey simulation: simulator + engine + LinUCB, batch mode.

Runs the default retail scenario and agenda (12 actions, 43 features after featurisation)
through ``run_policy`` exactly as ``omnibandit-run`` does, pinned to one core, and
reports touchpoint events per second and wall time. The baseline in the same run is the
simulator alone with every decision drawn uniformly (no engine), so the engine's share
of the cost is visible. Repeats are reported as median and range.

    python benchmarks/journey_throughput.py --events 1000000 --json journey.json
    python benchmarks/journey_throughput.py --events 200000 --repeats 1   # the CI form

Exits 1 when the median engine rate is below ``--min-rate`` events/s or a run of
``--events`` takes longer than ``--max-seconds``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from latency import machine  # noqa: E402

from hydra import compose, initialize_config_dir  # noqa: E402

from omnibandit.engine import DecisionBatch, Engine  # noqa: E402
from omnibandit.engine.featurise import Featuriser  # noqa: E402
from omnibandit.experiments.config import register_configs  # noqa: E402
from omnibandit.experiments.run import build_agenda, build_simulator, run_policy  # noqa: E402

CONF = Path(__file__).resolve().parents[1] / "conf"


def job_config(n_events: int, batch_size: int, seed: int):
    """``omnibandit-run``'s own config (retail scenario and agenda) at this size and seed."""
    register_configs()
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose("config", overrides=[f"simulator.n_events={n_events}", f"simulator.batch_size={batch_size}",
                                            f"seed={seed}", "tracking=none"])


def simulator_alone(n_events: int, batch_size: int, seed: int) -> float:
    """Seconds for the simulator with uniformly random decisions (the baseline)."""
    sim = build_simulator(job_config(n_events, batch_size, seed))
    eligibility = Featuriser(sim.schema).eligibility
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    while (batch := sim.next_batch()) is not None:
        n = len(batch)
        E = eligibility[batch.touchpoint, batch.stage]
        actions = np.argmax(E * rng.random(E.shape), axis=1)
        ids = [f"d{i}" for i in range(n)]
        sim.respond(DecisionBatch(ids, actions, np.ones(n), np.zeros((0, 0)), "uniform", 0, batch.time))
    sim.flush()
    return time.perf_counter() - start


def with_engine(n_events: int, batch_size: int, seed: int, policy: str) -> tuple[float, dict]:
    cfg = job_config(n_events, batch_size, seed)
    sim = build_simulator(cfg)
    engine = Engine.for_policy(sim.schema, policy, seed=seed, pending_capacity=int(cfg.engine.pending_capacity))
    engine.warmup()
    result = run_policy(engine, sim, build_agenda(cfg, sim), seed=seed, log_every=max(n_events // 200, 1))
    return result.seconds, {"n_features": engine.n_features, "n_actions": engine.n_actions,
                            "dropped_rewards": result.dropped_rewards, "events": result.events}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--policy", default="linucb")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cpu", type=int, default=None, help="pin to this core (default: the first allowed)")
    parser.add_argument("--min-rate", type=float, default=0.0, help="events/s the engine run must reach (median)")
    parser.add_argument("--max-seconds", type=float, default=float("inf"))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)

    if hasattr(os, "sched_setaffinity"):
        cpu = args.cpu if args.cpu is not None else min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
    with_engine(20_000, args.batch_size, args.seed, args.policy)  # compile and warm caches outside the timing
    engine_seconds, baseline_seconds, info = [], [], {}
    for r in range(args.repeats):
        seconds, info = with_engine(args.events, args.batch_size, args.seed + r, args.policy)
        engine_seconds.append(seconds)
        baseline_seconds.append(simulator_alone(args.events, args.batch_size, args.seed + r))
    rate = [args.events / s for s in engine_seconds]
    base = [args.events / s for s in baseline_seconds]
    report = {
        "machine": machine(), "events": args.events, "batch_size": args.batch_size, "policy": args.policy,
        **info, "repeats": args.repeats,
        "engine_seconds_median": statistics.median(engine_seconds),
        "engine_events_per_second_median": statistics.median(rate),
        "engine_events_per_second_range": [min(rate), max(rate)],
        "simulator_alone_events_per_second_median": statistics.median(base),
    }
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    ok = report["engine_events_per_second_median"] >= args.min_rate and \
        report["engine_seconds_median"] <= args.max_seconds
    if not ok:
        print(f"FAIL: {report['engine_events_per_second_median']:,.0f} events/s (need {args.min_rate:,.0f}), "
              f"{report['engine_seconds_median']:.1f} s (limit {args.max_seconds})", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
