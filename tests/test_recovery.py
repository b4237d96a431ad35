"""Recovery: a snapshot plus the log written after it equals the engine that never crashed."""

import numpy as np
import pytest

from omnibandit.engine import ContextBatch, Engine, MemorySink
from omnibandit.engine.errors import RecoveryError
from test_engine import SCHEMA, FakeClock, ctx


def drive(engine, clock, rng, steps, ids):
    """A mixed workload: single and batch decisions, rewards, outcomes, expiry, eviction."""
    for _ in range(steps):
        clock.now += float(rng.uniform(0, 3))
        roll = rng.random()
        if roll < 0.45:
            ids.append(engine.decide(ctx(features={"spend_90d": float(rng.uniform(0, 5000))})).decision_id)
        elif roll < 0.55:
            n = int(rng.integers(1, 4))
            batch = ContextBatch(touchpoint=rng.choice(["web", "email", "point_of_sale"], size=n), stage="in_visit",
                                 features=np.column_stack([rng.uniform(0, 5000, n), rng.integers(0, 90, n),
                                                           rng.uniform(1, 5, n)]))
            ids.extend(engine.decide_batch(batch).decision_ids)
        elif ids:
            engine.expire()
            did = ids[int(rng.integers(len(ids)))]
            if did in engine.pending.index:
                if engine.join == "first":
                    engine.reward(did, float(rng.uniform(0, 1)), event_id=f"ev-{did}")
                else:
                    engine.reward(did, outcomes={"trip": 1.0, "basket": float(rng.uniform(0, 50))})


def assert_same_engine(a, b):
    for name, value in a.policy.get_state().items():
        np.testing.assert_allclose(b.policy.get_state()[name], value, rtol=1e-12, atol=1e-12, err_msg=name)
    assert list(a.pending.index) == list(b.pending.index)
    for decision_id, slot in a.pending.index.items():
        other = b.pending.index[decision_id]
        np.testing.assert_array_equal(a.pending.X[slot], b.pending.X[other])
        assert a.pending.accumulated[slot] == b.pending.accumulated[other]
    assert a.rng.bit_generator.state == b.rng.bit_generator.state
    np.testing.assert_array_equal(a._draw_state, b._draw_state)
    sa, sb = a.stats, b.stats
    for key in ("decisions", "rewards", "outcomes", "expired", "evicted", "pending"):
        assert sa[key] == sb[key], key


@pytest.mark.parametrize("policy,join", [("lin_ts", "first"), ("linucb", "sum"), ("beta_ts", "first"),
                                         ("egreedy", "last")])
def test_snapshot_plus_log_tail_equals_the_engine_that_never_crashed(policy, join, tmp_path):
    clock, sink = FakeClock(), MemorySink()
    kwargs = dict(clock=clock, attribution_window=20.0, pending_capacity=15, join=join,
                  outcome_weights={"trip": 0.1, "basket": 0.01}, event_sink=sink)
    live = Engine.for_policy(SCHEMA, policy, seed=11, **kwargs)
    rng, ids = np.random.default_rng(0), []
    drive(live, clock, rng, 150, ids)
    live.snapshot(tmp_path / "s.snap")
    drive(live, clock, rng, 300, ids)
    stats = live.stats
    assert stats["expired"] > 0 and stats["evicted"] > 0 and stats["decisions"] > 100
    recovered = Engine.recover(tmp_path / "s.snap", sink, clock=clock)
    assert_same_engine(live, recovered)
    # it carries on: new ids cannot collide with ids issued before the crash
    d = recovered.decide(ctx())
    assert d.decision_id.startswith(f"{live.engine_id}.1-") and d.decision_id not in ids
    if join == "first":
        redelivered = next(e for e in sink.rewards if len(e) == 5 and e[3] == "reward")
        before = recovered.policy.version
        recovered.reward(redelivered[0], 0.5, event_id=redelivered[4])  # an old delivery again: idempotent
        assert recovered.policy.version == before


def test_a_log_that_does_not_follow_the_snapshot_is_refused(tmp_path):
    clock, sink = FakeClock(), MemorySink()
    live = Engine.for_policy(SCHEMA, "lin_ts", seed=1, clock=clock, event_sink=sink)
    for _ in range(5):
        live.reward(live.decide(ctx()).decision_id, 1.0)
    live.snapshot(tmp_path / "s.snap")
    other_clock, other = FakeClock(), MemorySink()
    stranger = Engine.for_policy(SCHEMA, "lin_ts", seed=2, clock=other_clock, event_sink=other)
    for _ in range(6):
        stranger.reward(stranger.decide(ctx()).decision_id, 1.0)
    with pytest.raises(RecoveryError):
        Engine.recover(tmp_path / "s.snap", other)
