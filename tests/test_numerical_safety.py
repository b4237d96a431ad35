"""One million rank-one updates on one action keep A⁻¹ accurate, A positive definite and state finite."""

import numpy as np
import pytest

from omnibandit.policies import LinearThompsonSampling, LinUCB


@pytest.mark.parametrize("refresh_every", [1000, 100_000])
def test_million_updates_on_one_action_stay_accurate(refresh_every):
    d, n = 16, 1_000_000
    rng = np.random.default_rng(0)
    policy = LinUCB(n_actions=3, n_features=d, refresh_every=refresh_every, seed=0)
    # features at the edges of a declared range [-10, 10] and a bias column; rewards at their edges
    for chunk in range(10):
        X = rng.choice([-10.0, 10.0], size=(n // 10, d))
        X[:, 0] = 1.0
        X[rng.random(n // 10) < 0.01] = 10.0  # repeated identical rows
        rewards = rng.choice([-100.0, 100.0], size=n // 10)
        policy.update_batch(X, np.zeros(n // 10, dtype=np.int64), rewards)
        assert np.isfinite(policy.A_).all() and np.isfinite(policy.A_inv_).all() and np.isfinite(policy.theta_).all()
    A, A_inv = policy.A_[0], policy.A_inv_[0]
    # the error of the product relative to the conditioning of A; for refresh_every > n the
    # cache was never rebuilt: this is the Sherman–Morrison drift over a million updates
    assert np.linalg.norm(A_inv @ A - np.eye(d), ord=2) < 1e-6
    np.linalg.cholesky(A)  # still positive definite
    theta = np.linalg.solve(A, policy.b_[0])
    np.testing.assert_allclose(policy.theta_[0], theta, rtol=1e-6, atol=1e-8)
    x = np.full(d, 10.0)
    assert np.isfinite(policy.probabilities(x)).all()


def test_discounted_model_at_range_edges_stays_finite_and_positive_definite():
    d = 8
    rng = np.random.default_rng(1)
    policy = LinearThompsonSampling(n_actions=2, n_features=d, gamma=0.95, l2=1e-3, seed=0)
    X = rng.choice([-10.0, 10.0], size=(100_000, d))
    policy.update_batch(X, rng.integers(2, size=100_000), rng.choice([-100.0, 100.0], size=100_000))
    for a in range(2):
        np.linalg.cholesky(policy.A_[a])
        assert np.linalg.norm(policy.A_inv_[a] @ policy.A_[a] - np.eye(d), ord=2) < 1e-6
    assert np.isfinite(policy.get_state()["theta_"]).all()
    p = policy.probabilities(np.full(d, -10.0))
    assert np.isfinite(p).all() and p.sum() == pytest.approx(1.0)
