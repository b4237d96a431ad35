"""Linear Thompson sampling (Agrawal & Goyal 2013) with per-action posteriors."""

from __future__ import annotations

import dataclasses

import numpy as np

from . import _linear_kernels as K
from ._numba import bind, bind_table
from ._validation import check_float, check_int
from .linear import LinearParams, LinearPolicy


@dataclasses.dataclass(frozen=True)
class LinTSParams(LinearParams):
    """Linear TS hyperparameters.

    Attributes
    ----------
    v : float
        Posterior scale: θ_k ~ N(θ̂_k, v²A_k⁻¹). ≥ 0.
    n_draws : int
        M, the Thompson draws per decision used to form the probability vector. ≥ 1.
    max_scores : int
        At most this many sampled scores per decision: with many contending actions
        the draws are reduced to ``max_scores // contenders`` (at least 1), which
        bounds latency at large K; the propensity stays exact given the draws, with a
        coarser resolution. ≥ 1.
    """

    v: float = 0.3
    n_draws: int = 64
    max_scores: int = 16384

    def __post_init__(self) -> None:
        super().__post_init__()
        check_float("v", self.v, low=0.0)
        check_int("n_draws", self.n_draws, low=1)
        check_int("max_scores", self.max_scores, low=1)


class LinearThompsonSampling(LinearPolicy):
    """Linear Thompson sampling with the action probabilities estimated in the kernel.

    For one context the sampled scores are independent normals
    N(xᵀθ̂_k, v²·xᵀA_k⁻¹x), so a draw needs K scalar normals. The kernel takes M
    draws, counts how often each action wins, and returns
    (1-ε)·wins/M + ε/K_eligible. Sampling an action from that vector is distributed
    exactly as Thompson sampling (with the floor), and the logged propensity is the
    exact probability of the action given the draws. Actions that cannot win by 5
    standard deviations are skipped, and ``max_scores`` caps M × contenders.

    References
    ----------
    Agrawal, Goyal (2013). Thompson sampling for contextual bandits with linear payoffs. ICML.
    Chapelle, Li (2011). An empirical evaluation of Thompson sampling. NeurIPS.

    Examples
    --------
    >>> import numpy as np
    >>> policy = LinearThompsonSampling(n_actions=3, n_features=2, n_draws=200, seed=1)
    >>> x = np.array([1.0, -0.4])
    >>> p = policy.probabilities(x)
    >>> bool(np.isclose(p.sum(), 1.0)), bool((p > 0).all())
    (True, True)
    >>> for _ in range(50):
    ...     policy.update(x, 0, 1.0)
    >>> int(np.argmax(policy.probabilities(x)))
    0
    """

    name = "lin_ts"
    Params = LinTSParams

    def _allocate(self) -> None:
        super()._allocate()
        self._mu = np.zeros(self.n_actions)
        self._var = np.zeros(self.n_actions)
        self._counts = np.zeros(self.n_actions)
        self._contenders = np.zeros(self.n_actions, dtype=np.int64)

    def _bind_kernels(self) -> None:
        super()._bind_kernels()
        p = self.params
        state = (self.theta_, self.A_inv_, p.v, p.epsilon, p.n_draws, p.max_scores, self.rng_state_, self._mu,
                 self._var, self._counts, self._contenders)
        self._hot["probabilities"] = bind(K.lin_ts_row, state, self._row_examples())

    def _bound_probabilities(self, x, out):
        p = self.params
        arrays = (*self._row_table(x, out), self.rng_state_, self._mu, self._var, self._counts, self._contenders)
        return bind_table(K.lin_ts_at, K.TS_ROW_TABLE, arrays, (p.v, p.epsilon, p.n_draws, p.max_scores), self._row_examples()[1:2])

    def _probabilities_batch_into(self, X, eligible, out) -> None:
        p = self.params
        K.lin_ts_batch(X, self.theta_, self.A_inv_, eligible, p.v, p.epsilon, p.n_draws, p.max_scores, self.rng_state_,
                       self._mu, self._var, self._counts, self._contenders, out)
