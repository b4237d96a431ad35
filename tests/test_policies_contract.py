"""One contract, checked for every policy: state, seeding, purity and bad input."""

import pickle

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from omnibandit.engine.errors import (
    ConfigurationError,
    EmptyEligibleSet,
    FeatureLengthMismatch,
    InvalidFeatureValue,
    InvalidPropensity,
    InvalidReward,
    OmnibanditError,
    UnknownAction,
)
from omnibandit.policies import POLICIES, LinearPolicy, LinUCB, make_policy

K, D = 4, 3
NAMES = sorted([*POLICIES, "vw"])


def trained(name, seed=0, n=12):
    policy = make_policy(name, n_actions=K, n_features=D, seed=seed)
    rng = np.random.default_rng(seed)
    policy.update_batch(rng.normal(size=(n, D)), rng.integers(K, size=n), rng.random(n))
    return policy


def states_equal(a, b):
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


PROBES = np.random.default_rng(123).normal(size=(8, D))


def behave_alike(p, q):
    """Same outputs on probe contexts (VW's model bytes carry bookkeeping that differs after a restore)."""
    if p.name != "vw":
        return states_equal(p.get_state(), q.get_state())
    return np.array_equal(p.probabilities_batch(PROBES), q.probabilities_batch(PROBES)) and p.version == q.version


@pytest.mark.parametrize("name", NAMES)
def test_clone_has_same_params_and_fresh_state(name):
    policy = trained(name)
    clone = policy.clone()
    assert clone.params == policy.params and type(clone) is type(policy)
    assert behave_alike(clone, make_policy(name, n_actions=K, n_features=D, seed=0))


@pytest.mark.parametrize("name", NAMES)
def test_state_round_trip_continues_identically(name):
    policy = trained(name)
    saved = policy.get_state()
    restored = make_policy(name, n_actions=K, n_features=D, seed=99)
    restored.set_state(saved)
    x = np.array([0.5, -1.0, 2.0])
    for _ in range(3):
        np.testing.assert_array_equal(policy.probabilities(x), restored.probabilities(x))
        policy.update(x, 1, 0.5)
        restored.update(x, 1, 0.5)
    assert behave_alike(policy, restored)
    assert restored.version == policy.version == 15


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_outputs(name):
    a, b = trained(name, seed=4), trained(name, seed=4)
    X = np.random.default_rng(1).normal(size=(20, D))
    np.testing.assert_array_equal(a.probabilities_batch(X), b.probabilities_batch(X))


@pytest.mark.parametrize("name", ["lin_ts", "beta_ts"])
def test_thompson_policies_depend_on_their_seed(name):
    X = np.random.default_rng(1).normal(size=(20, D))
    assert not np.array_equal(trained(name, seed=4).probabilities_batch(X), trained(name, seed=5).probabilities_batch(X))


@pytest.mark.parametrize("name", NAMES)
def test_inputs_are_not_mutated(name):
    policy = trained(name)
    x = np.array([0.5, -1.0, 2.0])
    eligible = np.array([True, False, True, True])
    X = np.tile(x, (5, 1))
    actions, rewards = np.array([0, 1, 2, 3, 0]), np.full(5, 0.5)
    copies = [a.copy() for a in (x, eligible, X, actions, rewards)]
    policy.probabilities(x, eligible)
    policy.probabilities_batch(X, np.tile(eligible, (5, 1)))
    policy.update(x, 2, 0.5)
    policy.update_batch(X, actions, rewards)
    for original, copy in zip((x, eligible, X, actions, rewards), copies):
        np.testing.assert_array_equal(original, copy)


BAD_CALLS = [
    ("update", lambda p: p.update(np.array([np.nan, 0, 0]), 0, 1.0), InvalidFeatureValue),
    ("update", lambda p: p.update(np.array([np.inf, 0, 0]), 0, 1.0), InvalidFeatureValue),
    ("update", lambda p: p.update(np.zeros(D + 1), 0, 1.0), FeatureLengthMismatch),
    ("update", lambda p: p.update(np.zeros(D), K, 1.0), UnknownAction),
    ("update", lambda p: p.update(np.zeros(D), -1, 1.0), UnknownAction),
    ("update", lambda p: p.update(np.zeros(D), "1", 1.0), UnknownAction),
    ("update", lambda p: p.update(np.zeros(D), 0, float("nan")), InvalidReward),
    ("update", lambda p: p.update(np.zeros(D), 0, "high"), InvalidReward),
    ("update", lambda p: p.update(np.zeros(D), 0, 1.0, propensity=0.0), InvalidPropensity),
    ("update", lambda p: p.update(np.zeros(D), 0, 1.0, propensity=1.5), InvalidPropensity),
    ("update_batch", lambda p: p.update_batch(np.zeros((3, D)), [0, 1, K], [0, 0, 0]), UnknownAction),
    ("update_batch", lambda p: p.update_batch(np.zeros((3, D)), [0, 1, 2], [0, np.nan, 0]), InvalidReward),
    ("update_batch", lambda p: p.update_batch(np.zeros((3, D)), [0, 1], [0, 0, 0]), FeatureLengthMismatch),
    ("probabilities", lambda p: p.probabilities(np.zeros(D), np.zeros(K, dtype=bool)), EmptyEligibleSet),
    ("probabilities", lambda p: p.probabilities(np.zeros(D), np.ones(K + 1, dtype=bool)), FeatureLengthMismatch),
    ("set_state", lambda p: p.set_state({**p.get_state(), "version_": np.zeros(2, dtype=np.int64)}), ConfigurationError),
]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("method,call,error", BAD_CALLS, ids=[f"{m}-{i}" for i, (m, _, _) in enumerate(BAD_CALLS)])
def test_bad_input_raises_and_changes_nothing(name, method, call, error):
    policy = trained(name)
    before = policy.get_state()
    with pytest.raises(error) as info:
        call(policy)
    assert isinstance(info.value, OmnibanditError)
    assert info.value.field and str(info.value.field) in str(info.value)
    assert states_equal(before, policy.get_state())


def test_beta_ts_rejects_rewards_outside_unit_interval_and_changes_nothing():
    policy = trained("beta_ts")
    before = policy.get_state()
    with pytest.raises(InvalidReward):
        policy.update(np.zeros(D), 0, 2.0)
    with pytest.raises(InvalidReward):
        policy.update_batch(np.zeros((2, D)), [0, 1], [0.5, -0.1])
    assert states_equal(before, policy.get_state())


@pytest.mark.parametrize("name", NAMES)
def test_policies_pickle(name):
    policy = trained(name)
    copy = pickle.loads(pickle.dumps(policy))
    assert behave_alike(policy, copy)


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_inputs_of_any_layout_and_dtype_give_the_same_answers_once_the_hot_path_is_bound(name):
    """Kernels are called through entry points bound to the first call's argument types; the
    public methods convert every input first, so strided, integer or read-only inputs after
    binding give exactly what contiguous float64 inputs give, and pickling still works."""
    policy, twin = trained(name), trained(name)
    x = PROBES[0]
    policy.probabilities(x)  # binds the hot path
    twin.probabilities(x)  # and keeps the random streams of sampling policies in step
    wide = np.zeros((D, 3))
    wide[:, 1] = x
    readonly = x.copy()
    readonly.flags.writeable = False
    for probe in (wide[:, 1], readonly, np.round(x).astype(np.int32)):
        np.testing.assert_array_equal(policy.probabilities(probe), twin.probabilities(np.array(probe, dtype=float)))
    policy.update(wide[:, 1], np.int32(1), 0.5)
    twin.update(x.copy(), 1, 0.5)
    assert states_equal(policy.get_state(), twin.get_state())
    copy = pickle.loads(pickle.dumps(policy))
    np.testing.assert_array_equal(copy.probabilities(x), policy.probabilities(x))


@pytest.mark.parametrize("name", [n for n in POLICIES if issubclass(POLICIES[n], LinearPolicy)])
@given(data=st.data())
def test_replica_deltas_merge_exactly(name, data):
    n = data.draw(st.integers(0, 30))
    X = data.draw(arrays(np.float64, (n, D), elements=st.floats(-3, 3)))
    actions = data.draw(arrays(np.int64, (n,), elements=st.integers(0, K - 1)))
    rewards = data.draw(arrays(np.float64, (n,), elements=st.floats(-3, 3)))
    split = data.draw(st.integers(0, n))
    single, left, right = (make_policy(name, n_actions=K, n_features=D, seed=0) for _ in range(3))
    single.update_batch(X, actions, rewards)
    base = right.get_state()
    left.update_batch(X[:split], actions[:split], rewards[:split])
    right.update_batch(X[split:], actions[split:], rewards[split:])
    left.merge(right.delta(base))
    np.testing.assert_allclose(left.A_, single.A_, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(left.b_, single.b_, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(left.theta_, single.theta_, rtol=1e-7, atol=1e-9)
    np.testing.assert_array_equal(left.n_updates_, single.n_updates_)
    assert left.version == single.version == n


def test_merge_refuses_discounted_statistics():
    policy = LinUCB(n_actions=2, n_features=2, gamma=0.9)
    with pytest.raises(ConfigurationError, match="gamma"):
        policy.delta(policy.get_state())


@pytest.mark.parametrize("kwargs,field", [
    ({"alpha": -1.0}, "alpha"), ({"alpha": "3"}, "alpha"), ({"epsilon": 1.5}, "epsilon"),
    ({"gamma": 0.0}, "gamma"), ({"l2": 0.0}, "l2"), ({"refresh_every": 0}, "refresh_every"),
    ({"n_actions": 0}, "n_actions"), ({"n_features": 2.5}, "n_features"),
])
def test_invalid_hyperparameters_name_the_parameter(kwargs, field):
    args = {"n_actions": 2, "n_features": 2, **kwargs}
    with pytest.raises(ConfigurationError, match=field) as info:
        LinUCB(**args)
    assert isinstance(info.value, (TypeError if isinstance(kwargs.get(field), str) or field == "n_features" else ValueError))
