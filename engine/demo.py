"""A short demonstration: the engine learns which offer pays at which touchpoint.

Drives :class:`~omnibandit.engine.Engine` through a few thousand decisions on a
small synthetic retail stream whose truth is known, and prints what it learned.
Run it with ``omnibandit-demo`` (or ``python -m omnibandit.engine.demo``).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from .context import Context
from .engine import Engine
from .schema import Schema

SCHEMA = Schema.from_dict({
    "actions": [
        {"name": "nothing", "kind": "control"},
        {"name": "app_coupon", "touchpoints": ["mobile_app", "web"]},
        {"name": "basket_offer", "stages": ["in_visit"]},
        {"name": "loyalty_points", "touchpoints": ["point_of_sale", "mobile_app"]},
        {"name": "win_back_email", "touchpoints": ["email"], "stages": ["pre_visit", "post_visit"]},
    ],
    "features": [
        {"name": "spend_90d", "low": 0, "high": 5000, "scaling": "log1p"},
        {"name": "visits_90d", "low": 0, "high": 90, "scaling": "minmax"},
        {"name": "satisfaction", "low": 1, "high": 5, "scaling": "minmax"},
    ],
    "reward_range": [0, 1],
})

# true conversion lift of each action (rows) by touchpoint and customer value
_BASE = {"nothing": 0.05, "app_coupon": 0.09, "basket_offer": 0.08, "loyalty_points": 0.07, "win_back_email": 0.06}


def _true_rate(action: str, touchpoint: str, spend: float, visits: float) -> float:
    loyal = spend > 1000 and visits > 20
    rate = _BASE[action]
    if action == "loyalty_points" and loyal:
        rate += 0.10
    if action == "app_coupon" and not loyal:
        rate += 0.04
    if action == "win_back_email" and visits < 5:
        rate += 0.12
    if touchpoint == "point_of_sale" and action == "basket_offer":
        rate += 0.03
    return rate


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", default="lin_ts", help="linucb, lin_ts, egreedy, beta_ts, uniform")
    parser.add_argument("--n", type=int, default=5000, help="decisions to make")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    results = {}
    for policy in (args.policy, "uniform"):
        engine = Engine.for_policy(SCHEMA, policy, seed=args.seed)
        warm = engine.warmup()
        stream = np.random.default_rng(args.seed + 1)
        reward_sum, oracle_sum = 0.0, 0.0
        start = time.perf_counter()
        for _ in range(args.n):
            tp = SCHEMA.touchpoints[stream.integers(len(SCHEMA.touchpoints))]
            stage = SCHEMA.stages[stream.integers(len(SCHEMA.stages))]
            spend = float(stream.gamma(1.5, 600)) if stream.random() < 0.8 else None
            visits = float(stream.integers(0, 60))
            features = {"visits_90d": visits, "satisfaction": float(stream.integers(1, 6))}
            if spend is not None:
                features["spend_90d"] = min(spend, 5000.0)
            d = engine.decide(Context(tp, stage, features=features))
            eligible = [a for a, p in zip(SCHEMA.action_names, d.probabilities) if p > 0]
            s = spend if spend is not None else 900.0
            rates = {a: _true_rate(a, tp, s, visits) for a in eligible}
            converted = float(stream.random() < rates[d.action])
            reward_sum += rates[d.action]
            oracle_sum += max(rates.values())
            engine.reward(d.decision_id, converted)
        elapsed = time.perf_counter() - start
        results[policy] = (reward_sum / args.n, oracle_sum / args.n, elapsed, warm, engine)
    mean, oracle, elapsed, warm, engine = results[args.policy]
    base = results["uniform"][0]
    print(f"omnibandit demo: {args.n} decisions with {args.policy} (warm-up {warm:.2f}s, "
          f"{elapsed / args.n * 1e6:.0f} us per decide+reward)")
    print(f"  expected conversion: {args.policy} {mean:.4f} | uniform {base:.4f} | oracle {oracle:.4f}")
    print(f"  lift over uniform: {100 * (mean / base - 1):+.1f}%   share of oracle: {100 * mean / oracle:.1f}%")
    print(f"  engine stats: {engine.stats}")
    print("  learned preference by touchpoint (loyal customer, spend 2500, 40 visits):")
    for tp in SCHEMA.touchpoints:
        d = engine.decide(Context(tp, "in_visit", features={"spend_90d": 2500.0, "visits_90d": 40.0, "satisfaction": 4.0}))
        best = SCHEMA.action_names[int(np.argmax(d.probabilities))]
        engine.cancel([d.decision_id])
        print(f"    {tp:<20} -> {best}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
