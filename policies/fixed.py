"""Always the same action: the control arm ("nothing") or a business-as-usual rule."""

from __future__ import annotations

import dataclasses

from omnibandit.engine.errors import ConfigurationError

from . import _simple_kernels as K
from ._validation import check_float, check_int
from .base import Policy, PolicyParams


@dataclasses.dataclass(frozen=True)
class FixedParams(PolicyParams):
    """``action``: the index always chosen; ``epsilon``: optional floor (0 = pure control)."""

    action: int = 0
    epsilon: float = 0.0

    def __post_init__(self) -> None:
        check_int("action", self.action, low=0)
        check_float("epsilon", self.epsilon, low=0.0, high=1.0)


class Fixed(Policy):
    """Chooses ``action`` with probability 1-ε; falls back to uniform where it is not eligible.

    With the default ε = 0 this is a pure control arm: other actions get propensity 0,
    so logs from it cannot evaluate other policies off-policy. Set ε > 0 for that.

    Examples
    --------
    >>> import numpy as np
    >>> Fixed(n_actions=3, n_features=1, action=0).probabilities(np.ones(1)).tolist()
    [1.0, 0.0, 0.0]
    >>> Fixed(n_actions=3, n_features=1, action=0).probabilities(np.ones(1), [False, True, True]).tolist()
    [0.0, 0.5, 0.5]
    """

    name = "fixed"
    learns = False

    Params = FixedParams

    def _allocate(self) -> None:
        if self.params.action >= self.n_actions:
            raise ConfigurationError("action", self.params.action, f"must be < n_actions ({self.n_actions}).")

    def _warmup_params(self) -> FixedParams:
        return dataclasses.replace(self.params, action=0)

    def _probabilities_into(self, x, eligible, out) -> None:
        K.fixed_row(eligible, self.params.action, self.params.epsilon, out)

    def _probabilities_batch_into(self, X, eligible, out) -> None:
        K.fixed_batch(eligible, self.params.action, self.params.epsilon, out)
