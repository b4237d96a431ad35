"""ε-greedy over a per-action ridge-regression model."""

from __future__ import annotations

import dataclasses

from . import _linear_kernels as K
from ._numba import bind, bind_table
from .linear import LinearParams, LinearPolicy


@dataclasses.dataclass(frozen=True)
class EpsilonGreedyParams(LinearParams):
    """ε-greedy hyperparameters; ``epsilon`` defaults to 0.1 (the exploration rate)."""

    epsilon: float = 0.1


class EpsilonGreedy(LinearPolicy):
    """Greedy on θ_kᵀx with probability 1-ε, uniform over eligible actions with ε.

    Examples
    --------
    >>> import numpy as np
    >>> policy = EpsilonGreedy(n_actions=4, n_features=2, epsilon=0.2, seed=0)
    >>> x = np.array([1.0, 1.0])
    >>> policy.update(x, 1, 1.0)
    >>> policy.probabilities(x).round(2).tolist()
    [0.05, 0.85, 0.05, 0.05]
    """

    name = "egreedy"
    Params = EpsilonGreedyParams

    def _bind_kernels(self) -> None:
        super()._bind_kernels()
        self._hot["probabilities"] = bind(K.egreedy_row, (self.theta_, self.params.epsilon),
                                          self._row_examples())

    def _bound_probabilities(self, x, out):
        return bind_table(K.egreedy_at, K.ROW_TABLE, self._row_table(x, out), (self.params.epsilon,), self._row_examples()[1:2])

    def _probabilities_batch_into(self, X, eligible, out) -> None:
        K.egreedy_batch(X, self.theta_, eligible, self.params.epsilon, out)
