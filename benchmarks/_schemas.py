"""Schemas and context streams of a given feature-vector length d and action count K."""

from __future__ import annotations

import numpy as np

from omnibandit.engine import Context, Schema
from omnibandit.engine.schema import STAGES, TOUCHPOINTS

IDENTIFICATION = ("anonymous", "loyalty_card", "app_location")
_FIXED_COLUMNS = 1 + len(TOUCHPOINTS) + len(STAGES) + len(IDENTIFICATION)  # bias + one-hot blocks


def benchmark_schema(d: int, k: int) -> Schema:
    """A schema whose featurised vector has exactly ``d`` columns and ``k`` actions.

    Each numeric feature adds two columns (value and missing indicator), so
    d - 14 must be even and positive.
    """
    n_numeric, rest = divmod(d - _FIXED_COLUMNS, 2)
    if rest or n_numeric < 1:
        raise ValueError(f"d == {d} is not valid: d - {_FIXED_COLUMNS} must be a positive even number.")
    features = [{"name": f"f{i}", "low": -10.0, "high": 10.0, "scaling": "none"} for i in range(n_numeric)]
    actions = [{"name": "nothing", "kind": "control"}] + [{"name": f"offer_{i}"} for i in range(1, k)]
    return Schema.from_dict({"actions": actions, "features": features, "identification": IDENTIFICATION,
                             "reward_range": [-100.0, 100.0]})


def context_stream(schema: Schema, n: int, seed: int) -> list[Context]:
    """``n`` random contexts: random touchpoint and stage, all features present."""
    rng = np.random.default_rng(seed)
    names = [f.name for f in schema.features]
    values = rng.normal(size=(n, len(names))).clip(-9.9, 9.9)
    tps = rng.integers(len(schema.touchpoints), size=n)
    sts = rng.integers(len(schema.stages), size=n)
    return [
        Context(schema.touchpoints[tps[i]], schema.stages[sts[i]], customer_id=f"c-{i}",
                features=dict(zip(names, values[i].tolist())), identification="loyalty_card")
        for i in range(n)
    ]
