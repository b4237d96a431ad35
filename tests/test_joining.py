"""Reward joining: attribution windows, combining outcomes, idempotent deliveries, bounded store."""

import numpy as np
import pytest

from omnibandit.engine import MemorySink
from omnibandit.engine.errors import DuplicateReward, InvalidReward, LateReward, RewardOutOfRange
from test_engine import FakeClock, ctx, make_engine, snapshot, assert_unchanged

WEIGHTS = {"trip": 5.0, "basket": 1.0, "satisfaction": 2.0}


def sum_engine(**kwargs):
    clock = FakeClock()
    sink = MemorySink()
    engine = make_engine(clock=clock, attribution_window=100.0, join=kwargs.pop("join", "sum"),
                         outcome_weights=WEIGHTS, event_sink=sink, **kwargs)
    return engine, clock, sink


def test_sum_rule_learns_the_weighted_sum_once_when_the_window_closes():
    engine, clock, sink = sum_engine()
    d = engine.decide(ctx())
    x = engine.pending.X[engine.pending.index[d.decision_id]].copy()
    clock.now = 10
    engine.reward(d.decision_id, outcomes={"trip": 1})
    clock.now = 40
    engine.reward(d.decision_id, outcomes={"basket": 35.0, "satisfaction": 4})
    assert engine.policy.version == 0, "nothing is learned before the window closes"
    clock.now = 101
    assert engine.expire() == 1  # closed (with its rewards: counted as rewarded, not expired)
    assert engine.policy.version == 1
    assert engine.stats["rewards"] == 1 and engine.stats["outcomes"] == 2 and engine.stats["expired"] == 0
    # learned exactly one observation: reward 5*1 + 35 + 2*4 = 48 on the chosen action
    np.testing.assert_allclose(engine.policy.b_[d.action_index], 48.0 * x)
    assert [r[3] for r in sink.rewards] == ["outcome", "outcome", "reward"] and sink.rewards[-1][1] == 48.0
    with pytest.raises(LateReward):
        engine.reward(d.decision_id, outcomes={"trip": 1})


def test_last_rule_keeps_the_last_reward_and_close_learns_it_now():
    engine, clock, _ = sum_engine(join="last")
    d = engine.decide(ctx())
    engine.reward(d.decision_id, 3.0)
    engine.reward(d.decision_id, 7.0)
    engine.close(d.decision_id)
    slot_x = engine.policy.b_[d.action_index] / 7.0
    assert engine.policy.version == 1 and np.isfinite(slot_x).all()
    assert engine.policy.b_[d.action_index][0] == pytest.approx(7.0)  # bias column is 1


def test_first_rule_rejects_a_second_reward_but_repeated_deliveries_are_idempotent():
    engine = make_engine()
    d = engine.decide(ctx())
    engine.reward(d.decision_id, 2.0, event_id="evt-1")
    before = snapshot(engine)
    engine.reward(d.decision_id, 2.0, event_id="evt-1")  # the same delivery again: ignored
    engine.reward(d.decision_id, 9.0, event_id="evt-1")
    assert_unchanged({k: v for k, v in before.items() if k != "counters"},
                     {k: v for k, v in snapshot(engine).items() if k != "counters"})
    assert engine.stats["duplicate_deliveries"] == 2 and engine.policy.version == 1
    with pytest.raises(DuplicateReward):
        engine.reward(d.decision_id, 2.0, event_id="evt-2")


def test_sum_rule_with_repeated_event_counts_it_once():
    engine, clock, _ = sum_engine()
    d = engine.decide(ctx())
    for _ in range(3):
        engine.reward(d.decision_id, outcomes={"basket": 10.0}, event_id="basket-1")
    engine.close(d.decision_id)
    assert engine.policy.b_[d.action_index][0] == pytest.approx(10.0)
    assert engine.stats["duplicate_deliveries"] == 2


@pytest.mark.parametrize("kwargs,error", [
    ({"outcomes": {"refund": 1.0}}, InvalidReward),
    ({"outcomes": {"trip": float("nan")}}, InvalidReward),
    ({"outcomes": {"trip": True}}, InvalidReward),
    ({"outcomes": {}}, InvalidReward),
    ({"outcomes": {"basket": 200.0}}, RewardOutOfRange),
])
def test_bad_outcomes_are_rejected_and_change_nothing(kwargs, error):
    engine, _, _ = sum_engine()
    d = engine.decide(ctx())
    engine.reward(d.decision_id, outcomes={"basket": 60.0})
    before = snapshot(engine)
    acc = engine.pending.accumulated.copy()
    with pytest.raises(error):
        engine.reward(d.decision_id, **kwargs)
    with pytest.raises(RewardOutOfRange):  # 60 + 45 leaves the reward range [0, 100]
        engine.reward(d.decision_id, outcomes={"basket": 45.0})
    with pytest.raises(InvalidReward):
        engine.reward(d.decision_id, 1.0, outcomes={"trip": 1})
    assert_unchanged(before, snapshot(engine))
    np.testing.assert_array_equal(acc, engine.pending.accumulated)


def test_window_per_action_overrides_the_engine_default():
    from omnibandit.engine import Context, Engine, Schema

    schema = Schema.from_dict({"actions": [{"name": "email", "attribution_window": 10},
                                           {"name": "app", "attribution_window": 1000}]})
    clock = FakeClock()
    engine = Engine.for_policy(schema, "uniform", seed=0, clock=clock, attribution_window=100)
    decisions = [engine.decide(Context("web", "in_visit")) for _ in range(40)]
    clock.now = 50
    engine.expire()
    expired = {d.decision_id for d in decisions if d.action == "email"}
    assert engine.stats["expired"] == len(expired) > 0
    assert set(engine.pending.index) == {d.decision_id for d in decisions if d.action == "app"}


def test_pending_memory_is_bounded_under_a_sustained_stream_without_rewards():
    engine = make_engine(pending_capacity=500)
    for _ in range(5000):
        engine.decide(ctx())
    stats = engine.stats
    assert stats["pending"] == 500 and stats["evicted"] == 4500 and engine.policy.version == 4500
    assert len(engine._closed) <= 2 * max(1024, 500) and engine.pending.X.shape[0] == 500
