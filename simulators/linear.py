"""A well-specified linear contextual bandit with known truth (for tests and benchmarks)."""

from __future__ import annotations

import numpy as np

from omnibandit.policies._validation import check_float, check_int

__all__ = ["LinearEnvironment"]


class LinearEnvironment:
    """Contexts x ~ N(0, I/d) with x[0] = 1; reward = xᵀθ_a + N(0, noise²).

    The true coefficients θ (K, d) are drawn once from N(0, 1) per entry; the
    oracle picks argmax_a xᵀθ_a. Everything is seeded.

    Parameters
    ----------
    n_actions, n_features : int
    noise : float
        Standard deviation of the reward noise.
    seed : int or None

    Examples
    --------
    >>> env = LinearEnvironment(n_actions=3, n_features=4, noise=0.1, seed=0)
    >>> X = env.contexts(5)
    >>> X.shape, env.expected_rewards(X).shape, env.oracle_actions(X).shape
    ((5, 4), (5, 3), (5,))
    """

    def __init__(self, *, n_actions: int, n_features: int, noise: float = 0.1, seed=None) -> None:
        self.n_actions = check_int("n_actions", n_actions, low=1)
        self.n_features = check_int("n_features", n_features, low=2)
        self.noise = check_float("noise", noise, low=0.0)
        self.rng = np.random.default_rng(seed)
        self.theta = self.rng.normal(size=(self.n_actions, self.n_features))

    def contexts(self, n: int) -> np.ndarray:
        X = self.rng.normal(scale=1.0 / np.sqrt(self.n_features), size=(n, self.n_features))
        X[:, 0] = 1.0
        return X

    def expected_rewards(self, X: np.ndarray) -> np.ndarray:
        return X @ self.theta.T

    def oracle_actions(self, X: np.ndarray) -> np.ndarray:
        return np.argmax(self.expected_rewards(X), axis=1)

    def rewards(self, X: np.ndarray, actions: np.ndarray) -> np.ndarray:
        mean = np.einsum("nd,nd->n", X, self.theta[actions])
        return mean + self.rng.normal(scale=self.noise, size=len(actions)) if self.noise > 0 else mean
