"""Kernels against the plain-NumPy reference, and the invariants every policy must keep."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats

import naive
from omnibandit.policies import POLICIES, EpsilonGreedy, LinearThompsonSampling, LinUCB, make_policy
from omnibandit.policies import _linear_kernels as LK
from omnibandit.policies import _rng

finite = st.floats(-3, 3, allow_nan=False, allow_infinity=False)


@st.composite
def update_sequences(draw, max_actions=4, max_features=5, max_len=40):
    k = draw(st.integers(1, max_actions))
    d = draw(st.integers(1, max_features))
    n = draw(st.integers(0, max_len))
    X = draw(arrays(np.float64, (n, d), elements=finite))
    actions = draw(arrays(np.int64, (n,), elements=st.integers(0, k - 1)))
    rewards = draw(arrays(np.float64, (n,), elements=finite))
    return k, d, X, actions, rewards


@given(update_sequences(), st.integers(1, 7), st.floats(0.1, 5.0))
def test_sherman_morrison_inverse_matches_numpy_inverse(seq, refresh_every, l2):
    k, d, X, actions, rewards = seq
    policy = LinUCB(n_actions=k, n_features=d, l2=l2, refresh_every=refresh_every, seed=0)
    for x, a, r in zip(X, actions, rewards):
        policy.update(x, int(a), float(r))
    A, b, theta = naive.ridge_state(X, actions, rewards, k, l2)
    np.testing.assert_allclose(policy.A_, A, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(policy.b_, b, rtol=1e-10, atol=1e-10)
    for j in range(k):
        np.testing.assert_allclose(policy.A_inv_[j], np.linalg.inv(A[j]), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(policy.theta_, theta, rtol=1e-6, atol=1e-8)


@given(update_sequences(max_len=25))
def test_batch_update_equals_sequential_updates(seq):
    k, d, X, actions, rewards = seq
    one, many = (LinUCB(n_actions=k, n_features=d, refresh_every=5, seed=0) for _ in range(2))
    for x, a, r in zip(X, actions, rewards):
        one.update(x, int(a), float(r))
    many.update_batch(X, actions, rewards)
    for name, value in one.get_state().items():
        np.testing.assert_array_equal(value, many.get_state()[name], err_msg=name)


@given(update_sequences(max_len=30), st.floats(0.5, 0.99))
def test_discounted_statistics_match_reference(seq, gamma):
    k, d, X, actions, rewards = seq
    policy = LinUCB(n_actions=k, n_features=d, gamma=gamma, l2=1.0, seed=0)
    policy.update_batch(X, actions, rewards)
    A, b = naive.discounted_state(X, actions, rewards, k, 1.0, gamma)
    np.testing.assert_allclose(policy.A_, A, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(policy.b_, b, rtol=1e-10, atol=1e-10)
    for j in range(k):
        np.testing.assert_allclose(policy.theta_[j], np.linalg.solve(A[j], b[j]), rtol=1e-6, atol=1e-8)


@given(update_sequences(max_len=20), st.data())
def test_linucb_and_egreedy_probabilities_match_reference(seq, data):
    k, d, X, actions, rewards = seq
    x = data.draw(arrays(np.float64, (d,), elements=finite))
    eligible = data.draw(arrays(np.bool_, (k,)).filter(lambda e: e.any()))
    alpha, eps = data.draw(st.floats(0, 2)), data.draw(st.floats(0, 1))
    ucb = LinUCB(n_actions=k, n_features=d, alpha=alpha, epsilon=eps, seed=0)
    greedy = EpsilonGreedy(n_actions=k, n_features=d, epsilon=eps, seed=0)
    for p in (ucb, greedy):
        p.update_batch(X, actions, rewards)
    A, b, _ = naive.ridge_state(X, actions, rewards, k, 1.0)
    want_ucb = naive.linucb_probabilities(x, A, b, alpha, eps, eligible)
    want_greedy = naive.egreedy_probabilities(x, A, b, eps, eligible)
    # ties are decided within 1e-12 of the best score: near-ties of 1e-12..1e-7 are
    # rounding-dependent in both implementations, so such examples are discarded
    assume(_clear(ucb, x, eligible) and _clear(greedy, x, eligible, ucb=False))
    np.testing.assert_allclose(ucb.probabilities(x, eligible), want_ucb, atol=1e-9)
    np.testing.assert_allclose(greedy.probabilities(x, eligible), want_greedy, atol=1e-9)


def _clear(policy, x, eligible, ucb=True):
    """True unless two eligible scores are within 1e-9 of the best without being an exact tie."""
    mu, var = np.zeros(policy.n_actions), np.zeros(policy.n_actions)
    LK.linear_moments(x, policy.theta_, policy.A_inv_, eligible, mu, var)
    s = (mu + policy.params.alpha * np.sqrt(var)) if ucb else mu
    s = s[eligible]
    gap = np.abs(s - s.max())
    return not ((gap > 1e-12 * max(1, abs(s.max()))) & (gap < 1e-7)).any()


@pytest.mark.parametrize("name", sorted(POLICIES))
@given(data=st.data())
def test_probabilities_are_a_distribution_on_the_eligible_set(name, data):
    k = data.draw(st.integers(1, 6))
    d = data.draw(st.integers(1, 5))
    params = {"action": data.draw(st.integers(0, k - 1))} if name == "fixed" else {}
    policy = make_policy(name, n_actions=k, n_features=d, seed=data.draw(st.integers(0, 2**16)), **params)
    X = data.draw(arrays(np.float64, (5, d), elements=finite))
    actions = data.draw(arrays(np.int64, (5,), elements=st.integers(0, k - 1)))
    rewards = data.draw(arrays(np.float64, (5,), elements=st.floats(0, 1)))
    policy.update_batch(X, actions, rewards)
    x = data.draw(arrays(np.float64, (d,), elements=finite))
    eligible = data.draw(arrays(np.bool_, (k,)).filter(lambda e: e.any()))
    p = policy.probabilities(x, eligible)
    assert (p >= 0).all()
    assert p.sum() == pytest.approx(1.0, abs=1e-12)
    assert (p[~eligible] == 0).all()
    if name not in ("fixed",):
        assert (p[eligible] > 0).all(), "every eligible action keeps a positive propensity"
    epsilon = getattr(policy.params, "epsilon", 0.0)
    if name != "uniform":
        assert (p[eligible] >= epsilon / eligible.sum() - 1e-15).all()
    P = policy.probabilities_batch(np.tile(x, (3, 1)), np.tile(eligible, (3, 1)))
    assert np.allclose(P.sum(axis=1), 1.0) and (P[:, ~eligible] == 0).all()


def test_linucb_ties_share_the_greedy_mass():
    policy = LinUCB(n_actions=4, n_features=2, epsilon=0.2, seed=0)
    p = policy.probabilities(np.array([1.0, 0.0]), np.array([True, True, False, True]))
    np.testing.assert_allclose(p, [1 / 3, 1 / 3, 0, 1 / 3])


def test_thompson_probabilities_match_brute_force_monte_carlo():
    rng = np.random.default_rng(5)
    k, d = 5, 3
    policy = LinearThompsonSampling(n_actions=k, n_features=d, v=0.5, epsilon=0.0, n_draws=200_000, seed=3)
    X = rng.normal(size=(30, d))
    policy.update_batch(X, rng.integers(k, size=30), rng.normal(size=30))
    x = rng.normal(size=d)
    eligible = np.array([True, True, False, True, True])
    mu, var = np.zeros(k), np.zeros(k)
    LK.linear_moments(x, policy.theta_, policy.A_inv_, eligible, mu, var)
    want = naive.thompson_win_probabilities(mu, 0.5 * np.sqrt(var), eligible)
    got = policy.probabilities(x, eligible)
    # two independent Monte Carlo estimates: the difference has sd ≤ sqrt(2·0.25/200k) ≈ 0.0016
    np.testing.assert_allclose(got, want, atol=0.008)


def test_thompson_sampling_draws_match_its_logged_probabilities():
    """The engine samples from the vector; the frequency of each action must equal its mean probability."""
    policy = LinearThompsonSampling(n_actions=3, n_features=2, v=1.0, n_draws=8, epsilon=0.05, seed=11)
    x = np.array([1.0, 0.5])
    policy.update_batch(np.tile(x, (4, 1)), np.array([0, 1, 2, 0]), np.array([0.3, 0.5, 0.1, 0.4]))
    P = policy.probabilities_batch(np.tile(x, (20000, 1)))
    rng = np.random.default_rng(0)
    chosen = (P.cumsum(axis=1) > rng.random((20000, 1))).argmax(axis=1)
    freq = np.bincount(chosen, minlength=3) / 20000
    np.testing.assert_allclose(freq, P.mean(axis=0), atol=0.015)


def test_rng_streams_are_uniform_normal_and_gamma():
    state = _rng.seed_state(123)
    u, z, g = np.empty(50_000), np.empty(50_000), np.empty(50_000)
    _rng.draw_uniforms(state, u)
    _rng.draw_normals(state, z)
    _rng.draw_gammas(state, 0.7, g)
    assert stats.kstest(u, "uniform").pvalue > 0.001
    assert stats.kstest(z, "norm").pvalue > 0.001
    assert stats.kstest(g, "gamma", args=(0.7,)).pvalue > 0.001


def test_same_seed_same_rng_state_different_seed_different():
    assert (_rng.seed_state(1) == _rng.seed_state(1)).all()
    assert not (_rng.seed_state(1) == _rng.seed_state(2)).all()


def test_max_scores_caps_the_thompson_draws_per_decision():
    k = 100
    policy = LinearThompsonSampling(n_actions=k, n_features=2, n_draws=64, max_scores=200, epsilon=0.1, seed=0)
    p = policy.probabilities(np.array([1.0, 0.0]))  # untrained: all 100 actions contend, so M = 200 // 100 = 2
    greedy = (p - 0.1 / k) / 0.9
    np.testing.assert_allclose(np.sort(np.unique(greedy.round(12))), [0.0, 0.5] if greedy.max() < 0.9 else [0.0, 1.0])
    assert p.sum() == pytest.approx(1.0)
    uncapped = LinearThompsonSampling(n_actions=k, n_features=2, n_draws=64, epsilon=0.1, seed=0)
    wins = (uncapped.probabilities(np.array([1.0, 0.0])) - 0.1 / k) / 0.9 * 64
    np.testing.assert_allclose(wins, wins.round(), atol=1e-9)  # 64 draws: counts are whole numbers of 1/64
    assert wins.sum() == pytest.approx(64)
