"""Disjoint LinUCB (Li et al. 2010) with an exploration floor."""

from __future__ import annotations

import dataclasses

from . import _linear_kernels as K
from ._numba import bind, bind_table
from ._validation import check_float
from .linear import LinearParams, LinearPolicy


@dataclasses.dataclass(frozen=True)
class LinUCBParams(LinearParams):
    """LinUCB hyperparameters: ``alpha`` scales the confidence width (≥ 0)."""

    alpha: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        check_float("alpha", self.alpha, low=0.0)


class LinUCB(LinearPolicy):
    """Disjoint LinUCB: score_k = θ_kᵀx + α·sqrt(xᵀA_k⁻¹x), argmax with an ε floor.

    The greedy mass 1-ε is shared equally by tied best actions and ε is spread over
    all eligible actions, so every eligible action has propensity ≥ ε/K_eligible.

    References
    ----------
    Li, Chu, Langford, Schapire (2010). A contextual-bandit approach to personalized
    news article recommendation. WWW.

    Examples
    --------
    >>> import numpy as np
    >>> policy = LinUCB(n_actions=3, n_features=2, alpha=0.5, epsilon=0.03, seed=0)
    >>> x = np.array([1.0, 0.2])
    >>> policy.probabilities(x).round(3).tolist()      # all tied before learning
    [0.333, 0.333, 0.333]
    >>> for _ in range(20):
    ...     policy.update(x, 2, 1.0)
    >>> policy.probabilities(x).round(3).tolist()
    [0.01, 0.01, 0.98]
    """

    name = "linucb"
    Params = LinUCBParams

    def _bind_kernels(self) -> None:
        super()._bind_kernels()
        p = self.params
        state = (self.theta_, self.A_inv_, p.alpha, p.epsilon)
        self._hot["probabilities"] = bind(K.linucb_row, state, self._row_examples())

    def _bound_probabilities(self, x, out):
        p = self.params
        return bind_table(K.linucb_at, K.ROW_TABLE, self._row_table(x, out), (p.alpha, p.epsilon), self._row_examples()[1:2])

    def _probabilities_batch_into(self, X, eligible, out) -> None:
        K.linucb_batch(X, self.theta_, self.A_inv_, eligible, self.params.alpha, self.params.epsilon, out)
