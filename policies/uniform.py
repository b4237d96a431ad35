"""Uniformly random choice over the eligible actions (the logging policy for replay)."""

from __future__ import annotations

from . import _simple_kernels as K
from .base import Policy


class Uniform(Policy):
    """Every eligible action with probability 1/K_eligible; learns nothing.

    Examples
    --------
    >>> import numpy as np
    >>> Uniform(n_actions=4, n_features=1).probabilities(np.ones(1), [True, False, True, True]).tolist()
    [0.3333333333333333, 0.0, 0.3333333333333333, 0.3333333333333333]
    """

    name = "uniform"
    learns = False

    def _allocate(self) -> None:
        pass

    def _probabilities_into(self, x, eligible, out) -> None:
        K.uniform_row(eligible, out)

    def _probabilities_batch_into(self, X, eligible, out) -> None:
        K.uniform_batch(eligible, out)
