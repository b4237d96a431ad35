"""Engine.decide / Engine.reward: the public API, bad input, joining, expiry, batches."""

import copy

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import naive
from omnibandit.engine import Context, ContextBatch, Engine, MemorySink, Schema
from omnibandit.engine.errors import (
    ConfigurationError,
    DuplicateReward,
    EmptyEligibleSet,
    FeatureLengthMismatch,
    FeatureOutOfRange,
    InvalidFeatureValue,
    InvalidReward,
    LateReward,
    OmnibanditError,
    RewardOutOfRange,
    UnknownAction,
    UnknownDecision,
    UnknownFeature,
    UnknownIdentification,
    UnknownMarket,
    UnknownStage,
    UnknownTouchpoint,
)

SCHEMA = Schema.from_dict({
    "actions": [
        {"name": "nothing", "kind": "control"},
        {"name": "app_coupon", "touchpoints": ["mobile_app"]},
        {"name": "basket_offer", "stages": ["in_visit"]},
        {"name": "survey", "stages": ["post_visit"], "touchpoints": ["email", "web"]},
    ],
    "features": [
        {"name": "spend_90d", "low": 0, "high": 5000, "scaling": "log1p"},
        {"name": "visits_90d", "low": 0, "high": 90, "scaling": "minmax"},
        {"name": "satisfaction", "low": 1, "high": 5, "scaling": "standard", "mean": 3.5, "std": 1.0},
        {"name": "segment", "kind": "categorical", "categories": ["new", "returning", "loyal", "lapsed"]},
    ],
    "markets": ["uk", "de"],
    "forbidden_identification": {"de": ["visual_recognition"]},
    "reward_range": [0, 100],
})


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def make_engine(policy="linucb", **kwargs):
    kwargs.setdefault("clock", FakeClock())
    return Engine.for_policy(SCHEMA, policy, seed=kwargs.pop("seed", 3), **kwargs)


def ctx(**overrides):
    base = dict(touchpoint="mobile_app", stage="in_visit", customer_id="c-1",
                features={"spend_90d": 120.0, "visits_90d": 4, "satisfaction": 4.5, "segment": "loyal"},
                market="uk", identification="app_location")
    base.update(overrides)
    return Context(**base)


def snapshot(engine):
    return {
        "policy": engine.policy.get_state(),
        "rng": copy.deepcopy(engine.rng.bit_generator.state),
        "draws": engine._draw_state.copy(),
        "pending": list(engine.pending.index.items()),
        "pending_X": engine.pending.X.copy(),
        "seq": engine._seq,
        "counters": dict(engine.counters),
        "budget": engine._budget.copy(),
    }


def assert_unchanged(before, after):
    assert before.keys() == after.keys()
    for key in before:
        if key == "policy":
            for name in before[key]:
                np.testing.assert_array_equal(before[key][name], after[key][name], err_msg=name)
        elif isinstance(before[key], np.ndarray):
            np.testing.assert_array_equal(before[key], after[key])
        else:
            assert before[key] == after[key], key


def test_decide_returns_a_complete_decision_and_reward_learns_once():
    engine = make_engine()
    d = engine.decide(ctx())
    assert d.action in SCHEMA.action_names and SCHEMA.action_names[d.action_index] == d.action
    assert d.probabilities.shape == (4,) and d.probabilities.sum() == pytest.approx(1.0)
    assert d.propensity == d.probabilities[d.action_index] > 0
    assert d.probabilities[3] == 0.0, "survey is not eligible at mobile_app / in_visit"
    assert d.policy == "linucb" and d.policy_version == 0
    engine.reward(d.decision_id, 10.0)
    assert engine.policy.version == 1 and engine.stats["rewards"] == 1 and engine.stats["pending"] == 0
    assert engine.policy.n_updates_[d.action_index] == 1


def test_context_can_narrow_the_eligible_set():
    engine = make_engine()
    for _ in range(20):
        d = engine.decide(ctx(eligible=["nothing", "basket_offer"]))
        assert d.action in ("nothing", "basket_offer")
        assert d.probabilities[1] == 0.0


@given(st.data())
def test_featurisation_matches_the_documented_layout(data):
    features = {}
    if data.draw(st.booleans()):
        features["spend_90d"] = data.draw(st.floats(0, 5000))
    if data.draw(st.booleans()):
        features["visits_90d"] = data.draw(st.integers(0, 90))
    if data.draw(st.booleans()):
        features["satisfaction"] = data.draw(st.floats(1, 5))
    if data.draw(st.booleans()):
        features["segment"] = data.draw(st.sampled_from(["new", "loyal", "vip-unknown"]))
    context = Context(data.draw(st.sampled_from(SCHEMA.touchpoints)), data.draw(st.sampled_from(SCHEMA.stages)),
                      features=features, market=data.draw(st.sampled_from([None, "uk", "de"])),
                      identification=data.draw(st.sampled_from([None, "anonymous", "loyalty_card"])))
    engine = make_engine()
    x = engine.featuriser.transform(context, np.empty(engine.n_features))
    np.testing.assert_allclose(x, naive.featurise(SCHEMA, context), rtol=1e-12, atol=1e-12)


BAD_CONTEXTS = [
    (dict(features={"spend_90d": float("nan")}), InvalidFeatureValue, "spend_90d"),
    (dict(features={"spend_90d": float("inf")}), InvalidFeatureValue, "spend_90d"),
    (dict(features={"spend_90d": -1.0}), FeatureOutOfRange, "spend_90d"),
    (dict(features={"visits_90d": 91}), FeatureOutOfRange, "visits_90d"),
    (dict(features={"visits_90d": "four"}), InvalidFeatureValue, "visits_90d"),
    (dict(features={"segment": ["loyal"]}), InvalidFeatureValue, "segment"),
    (dict(features={"age": 40}), UnknownFeature, "features"),
    (dict(features=np.zeros(3)), InvalidFeatureValue, "features"),
    (dict(touchpoint="kiosk"), UnknownTouchpoint, "touchpoint"),
    (dict(stage="checkout"), UnknownStage, "stage"),
    (dict(market="fr"), UnknownMarket, "market"),
    (dict(identification="face_id"), UnknownIdentification, "identification"),
    (dict(market="de", identification="visual_recognition"), UnknownIdentification, "identification"),
    (dict(eligible=["nothing", "teleport"]), UnknownAction, "eligible"),
    (dict(eligible=["survey"]), EmptyEligibleSet, "eligible"),
]


@pytest.mark.parametrize("overrides,error,field", BAD_CONTEXTS)
def test_bad_context_raises_its_error_and_changes_nothing(overrides, error, field):
    engine = make_engine(policy="lin_ts")
    engine.reward(engine.decide(ctx()).decision_id, 5.0)
    engine.decide(ctx())
    before = snapshot(engine)
    with pytest.raises(error) as info:
        engine.decide(ctx(**overrides))
    assert isinstance(info.value, OmnibanditError) and info.value.field == field
    assert_unchanged(before, snapshot(engine))
    assert engine.stats["rejected"] == {error.__name__: 1}


def test_wrong_feature_vector_length_is_rejected():
    schema = Schema.from_dict({"actions": [{"name": "a"}, {"name": "b"}],
                               "features": [{"name": "x1"}, {"name": "x2"}]})
    engine = Engine.for_policy(schema, "linucb", seed=0)
    d = engine.decide(Context("web", "in_visit", features=np.array([0.5, -0.5])))
    assert d.probabilities.sum() == pytest.approx(1)
    before = snapshot(engine)
    with pytest.raises(FeatureLengthMismatch, match="features"):
        engine.decide(Context("web", "in_visit", features=np.array([0.5, -0.5, 1.0])))
    assert_unchanged(before, snapshot(engine))


@pytest.mark.parametrize("reward,error", [(float("nan"), InvalidReward), (float("inf"), InvalidReward),
                                          ("ten", InvalidReward), (True, InvalidReward),
                                          (101.0, RewardOutOfRange), (-0.5, RewardOutOfRange)])
def test_bad_reward_raises_and_changes_nothing(reward, error):
    engine = make_engine()
    d = engine.decide(ctx())
    before = snapshot(engine)
    with pytest.raises(error, match="reward"):
        engine.reward(d.decision_id, reward)
    assert_unchanged(before, snapshot(engine))
    engine.reward(d.decision_id, 1.0)  # the decision is still pending and can be rewarded


def test_unknown_and_duplicate_rewards_are_rejected_and_counted():
    engine = make_engine()
    d = engine.decide(ctx())
    engine.reward(d.decision_id, 1.0)
    before = snapshot(engine)
    with pytest.raises(DuplicateReward, match=d.decision_id):
        engine.reward(d.decision_id, 1.0)
    with pytest.raises(UnknownDecision, match="no-such-id"):
        engine.reward("no-such-id", 1.0)
    with pytest.raises(UnknownDecision):
        engine.reward(12345, 1.0)
    assert_unchanged(before, snapshot(engine))
    assert engine.stats["rejected"] == {"DuplicateReward": 1, "UnknownDecision": 2}
    assert engine.stats["rejected_total"] == 3


def test_attribution_window_closes_with_default_reward_and_rejects_late_rewards():
    clock = FakeClock()
    sink = MemorySink()
    engine = make_engine(clock=clock, attribution_window=60.0, default_reward=0.0, event_sink=sink)
    early, late = engine.decide(ctx()), engine.decide(ctx())
    clock.now = 59.0
    engine.reward(early.decision_id, 7.0)
    clock.now = 61.0
    with pytest.raises(LateReward):
        engine.reward(late.decision_id, 7.0)
    stats = engine.stats
    assert stats["expired"] == 1 and stats["rewards"] == 1 and stats["rejected"] == {"LateReward": 1}
    assert engine.policy.version == 2, "the expired decision learned the default reward once"
    assert [r[3] for r in sink.rewards] == ["reward", "expired"]
    assert sink.rewards[1][:2] == (late.decision_id, 0.0)


def test_full_pending_store_evicts_the_oldest_with_the_default_reward():
    engine = make_engine(pending_capacity=3)
    ids = [engine.decide(ctx()).decision_id for _ in range(5)]
    assert engine.stats["evicted"] == 2 and engine.stats["pending"] == 3
    assert list(engine.pending.index) == ids[2:]
    with pytest.raises(LateReward):
        engine.reward(ids[0], 1.0)
    engine.reward(ids[4], 1.0)


def test_budget_caps_how_often_an_action_is_chosen():
    schema = Schema.from_dict({"actions": [{"name": "nothing"}, {"name": "voucher", "budget": 5}]})
    engine = Engine.for_policy(schema, "fixed", seed=0, action=1)
    actions = [engine.decide(Context("web", "in_visit")).action for _ in range(12)]
    assert actions[:5] == ["voucher"] * 5 and set(actions[5:]) == {"nothing"}
    only_voucher = Engine.for_policy(Schema.from_dict({"actions": [{"name": "voucher", "budget": 1}]}), "uniform")
    only_voucher.decide(Context("web", "in_visit"))
    with pytest.raises(EmptyEligibleSet, match="budget"):
        only_voucher.decide(Context("web", "in_visit"))


@pytest.mark.parametrize("policy", ["linucb", "lin_ts", "egreedy", "beta_ts", "uniform"])
def test_same_seed_gives_the_same_decisions(policy):
    def run(seed):
        engine = make_engine(policy=policy, seed=seed)
        out = []
        for i in range(50):
            d = engine.decide(ctx(features={"spend_90d": float(i), "segment": "new"}))
            out.append((d.decision_id, d.action, d.propensity))
            engine.reward(d.decision_id, float(i % 2))
        return out

    assert run(1) == run(1)
    assert run(1) != run(2)


def _batch_contexts(n, rng):
    tps = rng.choice(SCHEMA.touchpoints, size=n)
    sts = rng.choice(SCHEMA.stages, size=n)
    feats = np.column_stack([rng.uniform(0, 5000, n), rng.integers(0, 91, n), rng.uniform(1, 5, n)])
    missing = rng.random((n, 3)) < 0.2
    segs = rng.choice(["new", "loyal", "unknown-seg"], size=n)
    return tps, sts, feats, missing, segs


@pytest.mark.parametrize("policy", ["linucb", "lin_ts", "beta_ts"])
def test_decide_batch_equals_decide_one_by_one(policy):
    rng = np.random.default_rng(0)
    tps, sts, feats, missing, segs = _batch_contexts(40, rng)
    one, many = make_engine(policy=policy), make_engine(policy=policy)
    for e in (one, many):  # same learned state
        for i in range(10):
            e.reward(e.decide(ctx()).decision_id, float(i % 2))
    singles = []
    for i in range(40):
        features = {k: v for k, v, m in zip(("spend_90d", "visits_90d", "satisfaction"), feats[i], missing[i]) if not m}
        features["segment"] = segs[i]
        singles.append(one.decide(Context(tps[i], sts[i], features=features)))
    batch = many.decide_batch(ContextBatch(touchpoint=tps, stage=sts, features=feats, missing=missing,
                                           categorical={"segment": segs}))
    assert batch.decision_ids == [d.decision_id for d in singles]
    np.testing.assert_array_equal(batch.actions, [d.action_index for d in singles])
    np.testing.assert_allclose(batch.probabilities, np.stack([d.probabilities for d in singles]), rtol=1e-12)
    np.testing.assert_allclose(many.pending.X[many.pending.slots()], one.pending.X[one.pending.slots()], rtol=1e-12)
    rewards = rng.uniform(0, 1, size=40)
    for d, r in zip(singles, rewards):
        one.reward(d.decision_id, r)
    many.reward_batch(batch.decision_ids, rewards)
    for name, value in one.policy.get_state().items():
        np.testing.assert_allclose(value, many.policy.get_state()[name], rtol=1e-12, atol=1e-12, err_msg=name)


def test_bad_batches_are_rejected_whole():
    engine = make_engine()
    rng = np.random.default_rng(1)
    tps, sts, feats, missing, segs = _batch_contexts(5, rng)
    good = engine.decide_batch(ContextBatch(touchpoint=tps, stage=sts, features=feats, missing=missing))
    before = snapshot(engine)
    bad_feats = feats.copy()
    bad_feats[3, 1] = 1000.0
    with pytest.raises(FeatureOutOfRange, match=r"features\[3\].visits_90d"):
        engine.decide_batch(ContextBatch(touchpoint=tps, stage=sts, features=bad_feats))
    with pytest.raises(UnknownTouchpoint):
        engine.decide_batch(ContextBatch(touchpoint=np.array(["web", "kiosk"]), stage="in_visit"))
    with pytest.raises(RewardOutOfRange, match=r"rewards\[2\]"):
        engine.reward_batch(good.decision_ids, [1, 1, 500, 1, 1])
    with pytest.raises(UnknownDecision):
        engine.reward_batch(good.decision_ids[:2] + ["nope"], [1, 1, 1])
    with pytest.raises(DuplicateReward):
        engine.reward_batch(good.decision_ids[:2] * 2, [1, 1, 1, 1])
    assert_unchanged(before, snapshot(engine))


def test_warmup_changes_nothing_observable():
    engine = make_engine(policy="lin_ts")
    before = snapshot(engine)
    assert engine.warmup() >= 0
    assert_unchanged(before, snapshot(engine))


def test_from_config_builds_schema_and_policy():
    engine = Engine.from_config({"schema": SCHEMA.to_dict(), "policy": {"name": "lin_ts", "v": 0.2, "n_draws": 16},
                                 "seed": 5, "attribution_window": 3600})
    assert engine.policy.name == "lin_ts" and engine.policy.params.v == 0.2 and engine.attribution_window == 3600
    assert engine.schema == SCHEMA
    with pytest.raises(ConfigurationError, match="policy"):
        Engine.from_config({"schema": SCHEMA.to_dict(), "policy": {"name": "greedy-ish"}})
    with pytest.raises(ConfigurationError, match="alpah"):
        Engine.from_config({"schema": SCHEMA.to_dict(), "policy": {"name": "linucb", "alpah": 1.0}})


def test_beta_ts_can_keep_a_posterior_per_touchpoint():
    engine = Engine.for_policy(SCHEMA, "beta_ts", seed=0, group_by="touchpoint")
    assert engine.policy.alpha_.shape == (len(SCHEMA.touchpoints), 4)
    d = engine.decide(ctx(touchpoint="web", stage="in_visit"))
    engine.reward(d.decision_id, 1.0)
    assert engine.policy.alpha_[SCHEMA.touchpoints.index("web"), d.action_index] == 2.0
    assert engine.policy.alpha_.sum() == 1.0 * len(SCHEMA.touchpoints) * 4 + 1.0


@pytest.mark.parametrize("bad,field", [
    ({"actions": []}, "actions"),
    ({"actions": [{"name": "a"}, {"name": "a"}]}, "actions"),
    ({"actions": [{"name": "a", "touchpoints": ["kiosk"]}]}, "touchpoints"),
    ({"actions": [{"name": "a"}], "features": [{"name": "f", "scaling": "minmax"}]}, "scaling"),
    ({"actions": [{"name": "a"}], "features": [{"name": "f", "low": 5, "high": 1}]}, "low"),
    ({"actions": [{"name": "a"}], "reward_range": [1, 0]}, "reward_range"),
    ({"actions": [{"name": "a", "colour": "red"}]}, "actions"),
])
def test_invalid_schemas_name_the_field(bad, field):
    with pytest.raises(ConfigurationError, match=field):
        Schema.from_dict(bad)


def test_policy_shape_must_match_schema():
    from omnibandit.policies import LinUCB

    with pytest.raises(ConfigurationError, match="n_features"):
        Engine(SCHEMA, LinUCB(n_actions=4, n_features=3))
    with pytest.raises(ConfigurationError, match="n_actions"):
        Engine(SCHEMA, LinUCB(n_actions=3, n_features=3))


def test_required_features_have_no_missing_column_and_must_be_present():
    from omnibandit.engine.errors import MissingFeature

    schema = Schema.from_dict({"actions": [{"name": "a"}, {"name": "b"}], "touchpoints": ["web"], "stages": ["in_visit"],
                               "identification": [],
                               "features": [{"name": "age", "low": 0, "high": 100, "required": True},
                                            {"name": "spend", "low": 0, "high": 10}]})
    engine = Engine.for_policy(schema, "linucb", seed=0)
    assert engine.featuriser.names == ("bias", "age", "spend", "spend_missing", "touchpoint=web", "stage=in_visit")
    context = Context("web", "in_visit", features={"age": 30.0})
    np.testing.assert_array_equal(engine.featuriser.transform(context, np.empty(6)), naive.featurise(schema, context))
    before = snapshot(engine)
    with pytest.raises(MissingFeature, match="age"):
        engine.decide(Context("web", "in_visit", features={"spend": 3.0}))
    with pytest.raises(MissingFeature, match="age"):
        engine.decide_batch(ContextBatch(touchpoint=["web"], stage="in_visit", features=np.array([[1.0, 2.0]]),
                                         missing=np.array([[True, False]])))
    assert_unchanged(before, snapshot(engine))
    batch = engine.decide_batch(ContextBatch(touchpoint=["web"], stage="in_visit", features=np.array([[30.0, 0.0]]),
                                             missing=np.array([[False, True]])))
    np.testing.assert_array_equal(engine.pending.X[engine.pending.index[batch.decision_ids[0]]],
                                  naive.featurise(schema, context))


def test_an_optional_feature_without_indicator_is_imputed_without_a_missing_column():
    schema = Schema.from_dict({"actions": [{"name": "a"}, {"name": "b"}], "touchpoints": ["web"], "stages": ["in_visit"],
                               "identification": ["anonymous", "loyalty_card"],
                               "features": [{"name": "spend", "low": 0, "high": 10, "indicator": False},
                                            {"name": "age", "low": 0, "high": 100}]})
    engine = Engine.for_policy(schema, "linucb", seed=0)
    assert engine.featuriser.names[:4] == ("bias", "spend", "age", "age_missing")
    for features in ({}, {"spend": 4.0}, {"age": 30.0}):
        context = Context("web", "in_visit", features=features, identification="anonymous")
        single = engine.featuriser.transform(context, np.empty(engine.n_features)).copy()
        np.testing.assert_array_equal(single, naive.featurise(schema, context))
        raw = np.array([[features.get("spend", 0.0), features.get("age", 0.0)]])
        missing = np.array([["spend" not in features, "age" not in features]])
        X, _ = engine.featuriser.transform_batch(ContextBatch(touchpoint=["web"], stage="in_visit", features=raw,
                                                              missing=missing, identification=["anonymous"]))
        np.testing.assert_array_equal(X[0], single)


def test_a_scalar_touchpoint_applies_to_every_row_of_a_batch():
    engine = make_engine()
    feats = np.array([[100.0, 4, 3.0], [200.0, 5, 4.0], [300.0, 6, 2.0]])
    batch = engine.decide_batch(ContextBatch(touchpoint="web", stage="in_visit", features=feats))
    assert len(batch) == 3
    X = engine.pending.X[engine.pending.slots()]
    np.testing.assert_array_equal(X[:, engine.featuriser.slices["touchpoint"]].argmax(axis=1),
                                  [SCHEMA.touchpoints.index("web")] * 3)


def test_the_engines_draws_follow_the_probabilities_it_logs():
    """decide and decide_batch draw from the engine's own stream; over 20,000 decisions each,
    the action counts pass a chi-square test against the logged probability vector."""
    from scipy import stats

    schema = Schema.from_dict({"actions": [{"name": f"a{k}"} for k in range(4)], "touchpoints": ["web"],
                               "stages": ["in_visit"], "identification": []})
    engine = Engine.for_policy(schema, "fixed", action=2, epsilon=0.4, seed=3, pending_capacity=50_000)
    n = 20_000
    singles = [engine.decide(Context("web", "in_visit")) for _ in range(n)]
    probs = singles[0].probabilities
    assert probs.tolist() == pytest.approx([0.1, 0.1, 0.7, 0.1])
    batch = engine.decide_batch(ContextBatch(touchpoint="web", stage="in_visit", time=np.zeros(n)))
    for actions in ([d.action_index for d in singles], batch.actions):
        counts = np.bincount(actions, minlength=4)
        assert stats.chisquare(counts, probs * n).pvalue > 1e-3


def test_contexts_and_decisions_are_immutable():
    engine = make_engine()
    context = ctx()
    decision = engine.decide(context)
    with pytest.raises(AttributeError):
        context.touchpoint = "web"
    with pytest.raises(AttributeError):
        decision.action = "other"
