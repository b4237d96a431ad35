"""Bernoulli Thompson sampling with Beta posteriors, per action or per group × action."""

from __future__ import annotations

import dataclasses

import numpy as np

from omnibandit.engine.errors import ConfigurationError, RewardOutOfRange

from . import _beta_kernels as K
from ._validation import check_float, check_int
from .base import Policy, PolicyParams


@dataclasses.dataclass(frozen=True)
class BetaTSParams(PolicyParams):
    """Hyperparameters of :class:`BetaThompsonSampling`.

    Attributes
    ----------
    prior_alpha, prior_beta : float
        Beta(α, β) prior of every action's success rate. > 0.
    epsilon : float
        Exploration floor, in [0, 1].
    n_draws : int
        Thompson draws per decision used to form the probability vector. ≥ 1.
    group_start, group_stop : int
        A one-hot block x[group_start:group_stop] (e.g. the engine's touchpoint block)
        selects a separate posterior per group; equal values (default) mean one group.
    """

    prior_alpha: float = 1.0
    prior_beta: float = 1.0
    epsilon: float = 0.01
    n_draws: int = 64
    group_start: int = 0
    group_stop: int = 0

    def __post_init__(self) -> None:
        check_float("prior_alpha", self.prior_alpha, low=0.0, low_open=True)
        check_float("prior_beta", self.prior_beta, low=0.0, low_open=True)
        check_float("epsilon", self.epsilon, low=0.0, high=1.0)
        check_int("n_draws", self.n_draws, low=1)
        check_int("group_start", self.group_start, low=0)
        check_int("group_stop", self.group_stop, low=self.group_start)


class BetaThompsonSampling(Policy):
    """Non-contextual Bernoulli Thompson sampling (rewards in [0, 1]).

    A reward r in [0, 1] adds r to α and 1-r to β of the chosen action (in the
    context's group). Probabilities are estimated from ``n_draws`` posterior draws
    in the kernel, mixed with an ε floor.

    References
    ----------
    Chapelle, Li (2011). An empirical evaluation of Thompson sampling. NeurIPS.

    Examples
    --------
    >>> import numpy as np
    >>> policy = BetaThompsonSampling(n_actions=2, n_features=1, n_draws=500, seed=3)
    >>> x = np.ones(1)
    >>> for _ in range(30):
    ...     policy.update(x, 1, 1.0)
    ...     policy.update(x, 0, 0.0)
    >>> bool(policy.probabilities(x)[1] > 0.95)
    True
    """

    name = "beta_ts"
    Params = BetaTSParams
    _state_names = ("alpha_", "beta_")

    def _allocate(self) -> None:
        p = self.params
        if p.group_stop > self.n_features:
            raise ConfigurationError("group_stop", p.group_stop, f"must be <= n_features ({self.n_features}).")
        n_groups = max(1, p.group_stop - p.group_start)
        self.alpha_ = np.full((n_groups, self.n_actions), p.prior_alpha)
        self.beta_ = np.full((n_groups, self.n_actions), p.prior_beta)
        self._counts = np.zeros(self.n_actions)
        self._mean = np.zeros(self.n_actions)
        self._sd = np.zeros(self.n_actions)
        self._contenders = np.zeros(self.n_actions, dtype=np.int64)
        self._one = (np.zeros((1, self.n_features)), np.zeros(1, dtype=np.int64), np.zeros(1))

    def check_reward(self, reward: float) -> None:
        if not 0.0 <= reward <= 1.0:
            raise RewardOutOfRange("reward", reward, "Beta Thompson sampling needs rewards in [0, 1].")

    def _warmup_params(self) -> BetaTSParams:
        return dataclasses.replace(self.params, group_start=0, group_stop=min(self.params.group_stop, 0))

    def _probabilities_into(self, x, eligible, out) -> None:
        p = self.params
        K.beta_row(x, self.alpha_, self.beta_, p.group_start, p.group_stop, eligible, p.epsilon, p.n_draws,
                   self.rng_state_, self._mean, self._sd, self._counts, self._contenders, out)

    def _probabilities_batch_into(self, X, eligible, out) -> None:
        p = self.params
        K.beta_batch(X, self.alpha_, self.beta_, p.group_start, p.group_stop, eligible, p.epsilon, p.n_draws,
                     self.rng_state_, self._mean, self._sd, self._counts, self._contenders, out)

    def _update(self, x, action, reward, propensity) -> None:
        X, a, r = self._one
        X[0] = x
        a[0] = action
        r[0] = reward
        K.beta_update_batch(X, a, r, self.alpha_, self.beta_, self.params.group_start, self.params.group_stop)

    def _update_batch(self, X, actions, rewards, propensities) -> None:
        K.beta_update_batch(X, actions, rewards, self.alpha_, self.beta_, self.params.group_start,
                            self.params.group_stop)
