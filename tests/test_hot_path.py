"""The request path's shortcuts: address tables, in-place feature reads and the lean reward path
must give exactly what the general path gives."""

import copy

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import naive
from omnibandit.engine import Context, Engine, Schema
from omnibandit.engine.errors import DuplicateReward, FeatureOutOfRange, InvalidFeatureValue, RewardOutOfRange, UnknownDecision
from omnibandit.policies import _linear_kernels as LK
from omnibandit.policies._numba import address_table, bind_table

NUMERIC_SCHEMA = Schema.from_dict({
    "actions": [{"name": "a"}, {"name": "b"}, {"name": "c", "touchpoints": ["web"]}],
    "features": [{"name": "spend", "low": 0, "high": 500, "scaling": "log1p"},
                 {"name": "visits", "low": 0, "high": 90, "scaling": "minmax"},
                 {"name": "score", "low": -5, "high": 5, "scaling": "standard", "mean": 0.5, "std": 2.0}],
    "markets": ["uk"],
    "reward_range": [0, 1],
})


def test_address_table_checks_every_array_entry():
    a, b = np.zeros(4), np.zeros(3, dtype=np.int64)
    table = address_table(("a:f8", "b:i8", "n"), (a, b, 7))
    assert table.dtype == np.int64 and table.tolist() == [a.ctypes.data, b.ctypes.data, 7]
    with pytest.raises(TypeError, match="'b' must be a C-contiguous int64"):
        address_table(("a:f8", "b:i8"), (a, np.zeros(3)))
    with pytest.raises(TypeError, match="'a' must be a C-contiguous float64"):
        address_table(("a:f8",), (np.zeros((4, 2))[:, 0],))
    with pytest.raises(TypeError, match="'a'"):
        address_table(("a:f8",), ([0.0, 1.0],))
    with pytest.raises(ValueError, match="3 entries, not 2"):
        address_table(("a:f8", "b:i8", "n"), (a, b))


@given(st.integers(1, 5), st.integers(1, 6), st.floats(0.0, 3.0), st.floats(0.0, 1.0), st.data())
@settings(max_examples=40)
def test_table_bound_linucb_equals_the_array_kernel(k, d, alpha, epsilon, data):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    theta = rng.normal(size=(k, d))
    m = rng.normal(size=(k, d, d))
    A_inv = np.linalg.inv(np.eye(d) + m @ m.transpose(0, 2, 1))
    x, out, expected = rng.normal(size=d), np.empty(k), np.empty((1, k))
    eligible = data.draw(arrays(np.bool_, (k,)).filter(lambda e: e.any()))
    bound = bind_table(LK.linucb_at, LK.ROW_TABLE, (theta, A_inv, x, out, k, d), (alpha, epsilon), (eligible,))
    assert bound.arrays[0] is theta  # the bound function keeps its memory alive
    LK.linucb_batch(x[None], theta, A_inv, eligible[None], alpha, epsilon, expected)
    bound(eligible)
    np.testing.assert_array_equal(out, expected[0])
    theta += 1.0  # updated in place: the table sees it
    LK.linucb_batch(x[None], theta, A_inv, eligible[None], alpha, epsilon, expected)
    bound(eligible)
    np.testing.assert_array_equal(out, expected[0])


finite_raw = arrays(np.float64, (3,), elements=st.floats(0, 5, allow_nan=False))


@given(finite_raw, st.sampled_from(["web", "email", "point_of_sale"]))
def test_array_features_of_any_stride_and_dtype_are_read_like_a_mapping(raw, touchpoint):
    f = Engine.for_policy(NUMERIC_SCHEMA, "linucb", seed=0).featuriser
    mapping = Context(touchpoint, "in_visit", features=dict(zip(["spend", "visits", "score"], raw.tolist())))
    expected = naive.featurise(NUMERIC_SCHEMA, mapping)
    np.testing.assert_array_equal(f.transform(mapping), expected)
    wide = np.zeros((3, 4))
    wide[:, 1] = raw
    strided = wide[:, 1]  # a column view: stride 32 bytes
    assert not strided.flags.c_contiguous
    for features in (raw.copy(), strided, wide.T[1], raw[::-1][::-1]):
        context = Context(touchpoint, "in_visit", features=features)
        np.testing.assert_array_equal(f.transform(context), expected)  # the table kernel
        np.testing.assert_array_equal(f.transform(context, np.empty(f.n_features)), expected)  # explicit out
    for other in (np.floor(raw).astype(np.int64), raw.astype(np.float32), np.floor(raw).astype(np.uint8)):
        as_mapping = Context(touchpoint, "in_visit", features=dict(zip(["spend", "visits", "score"],
                                                                       other.astype(np.float64).tolist())))
        np.testing.assert_array_equal(f.transform(Context(touchpoint, "in_visit", features=other)),
                                      naive.featurise(NUMERIC_SCHEMA, as_mapping), err_msg=str(other.dtype))
    np.testing.assert_array_equal(wide[:, 1], raw, err_msg="the caller's array is read, never written")


def test_bad_array_features_raise_before_anything_is_written():
    engine = Engine.for_policy(NUMERIC_SCHEMA, "linucb", seed=0)
    f = engine.featuriser
    good = f.transform(Context("web", "in_visit", features=np.array([10.0, 3.0, 1.0]))).copy()
    with pytest.raises(FeatureOutOfRange, match="visits"):
        f.transform(Context("web", "in_visit", features=np.array([10.0, 300.0, 1.0])[::1]))
    with pytest.raises(FeatureOutOfRange, match="spend"):
        f.transform(Context("web", "in_visit", features=np.array([[-1.0, 0.0], [3.0, 0.0], [1.0, 0.0]])[:, 0]))
    with pytest.raises(InvalidFeatureValue, match="features"):
        f.transform(Context("web", "in_visit", features=np.array(["a", "b", "c"])))
    np.testing.assert_array_equal(f._out, good)
    assert engine.stats["pending"] == 0


def _state(engine):
    return {"policy": {k: np.copy(v) for k, v in engine.policy.get_state().items()},
            "pending": sorted(engine.pending.index), "counters": dict(engine.counters),
            "rejected": dict(engine.rejected), "draws": engine._draw_state.copy()}


def _assert_same(a, b):
    assert a.keys() == b.keys()
    for name in a["policy"]:
        np.testing.assert_array_equal(a["policy"][name], b["policy"][name], err_msg=name)
    assert (a["pending"], a["counters"], a["rejected"]) == (b["pending"], b["counters"], b["rejected"])
    np.testing.assert_array_equal(a["draws"], b["draws"])


@pytest.mark.parametrize("policy", ["linucb", "lin_ts", "egreedy"])
def test_lean_reward_path_equals_the_general_path(policy):
    lean = Engine.for_policy(NUMERIC_SCHEMA, policy, seed=11)
    general = Engine.for_policy(NUMERIC_SCHEMA, policy, seed=11)
    assert lean._lean_rewards
    rng = np.random.default_rng(5)
    for step in range(300):
        context = Context(["web", "email", "point_of_sale"][step % 3], "in_visit",
                          features=rng.uniform([0, 0, -5], [500, 90, 5]))
        d1, d2 = lean.decide(context), general.decide(copy.copy(context))
        assert (d1.decision_id, d1.action_index) == (d2.decision_id, d2.action_index)
        np.testing.assert_array_equal(d1.probabilities, d2.probabilities)
        if step % 4 == 3:
            continue  # some stay pending
        value = float(rng.uniform() < 0.3 + 0.2 * d1.action_index)
        lean.reward(d1.decision_id, value)                   # a Python float: the lean path
        general.reward(d2.decision_id, np.float64(value))    # not a float: the general path
        if step % 10 == 0:
            for engine, reward in ((lean, 1.0), (general, np.float64(1.0))):
                with pytest.raises(DuplicateReward):
                    engine.reward(d1.decision_id, reward)
        _assert_same(_state(lean), _state(general))
    for engine, reward in ((lean, 0.5), (general, np.float64(0.5))):
        with pytest.raises(UnknownDecision):
            engine.reward("no-such-decision", reward)
        with pytest.raises(RewardOutOfRange):
            engine.reward(d1.decision_id if d1.decision_id in engine.pending.index else "x", 2.0)
    _assert_same(_state(lean), _state(general))
    assert lean.counters["rewards"] == 225 and lean.rejected["DuplicateReward"] == 30
