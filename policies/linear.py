"""Shared state and learning for the per-action linear policies (LinUCB, linear TS, ε-greedy)."""

from __future__ import annotations

import dataclasses

import numpy as np

from omnibandit.engine.errors import ConfigurationError

from . import _linear_kernels as K
from ._numba import bind_table, entry_point
from ._validation import check_float, check_int
from .base import Policy, PolicyParams


@dataclasses.dataclass(frozen=True)
class LinearParams(PolicyParams):
    """Hyperparameters common to the linear policies.

    Attributes
    ----------
    l2 : float
        λ, the ridge prior: A starts at λI. > 0.
    epsilon : float
        Exploration floor: every eligible action keeps probability ≥ ε/K_eligible. In [0, 1].
    gamma : float
        Discount per update of an action (Russac et al. 2019); 1 means no discount. In (0, 1].
    refresh_every : int
        Rebuild A⁻¹ and θ from A and b after this many rank-one updates of an action. ≥ 1.
    """

    l2: float = 1.0
    epsilon: float = 0.01
    gamma: float = 1.0
    refresh_every: int = 1000

    def __post_init__(self) -> None:
        check_float("l2", self.l2, low=0.0, low_open=True)
        check_float("epsilon", self.epsilon, low=0.0, high=1.0)
        check_float("gamma", self.gamma, low=0.0, high=1.0, low_open=True)
        check_int("refresh_every", self.refresh_every, low=1)


class LinearPolicy(Policy):
    """A ridge-regression model per action: A = λI + Σxxᵀ, b = Σrx, θ = A⁻¹b.

    The sufficient statistics ``A_`` (K, d, d) and ``b_`` (K, d) add across replicas:
    :meth:`delta` and :meth:`merge` ship and apply them exactly. ``A_inv_`` and
    ``theta_`` are caches derived from them.
    """

    Params = LinearParams
    _state_names = ("A_", "b_", "A_inv_", "theta_", "n_updates_", "since_refresh_")

    def _allocate(self) -> None:
        k, d = self.n_actions, self.n_features
        l2 = self.params.l2
        self.A_ = np.tile(l2 * np.eye(d), (k, 1, 1))
        self.A_inv_ = np.tile(np.eye(d) / l2, (k, 1, 1))
        self.b_ = np.zeros((k, d))
        self.theta_ = np.zeros((k, d))
        self.n_updates_ = np.zeros(k, dtype=np.int64)
        self.since_refresh_ = np.zeros(k, dtype=np.int64)
        self._u = np.zeros(d)

    def _bind_kernels(self) -> None:
        p = self.params
        self._hot["update"] = entry_point(K.linear_update, np.zeros(self.n_features), 0, 0.0, self.A_, self.b_,
                                          self.A_inv_, self.theta_, self.n_updates_, self.since_refresh_, p.l2,
                                          p.gamma, p.refresh_every, self._u)

    def _probabilities_into(self, x, eligible, out) -> None:
        # the subclass's single-context kernel, bound to the state in its _bind_kernels
        self._hot["probabilities"](x, eligible, out)

    def _update(self, x, action, reward, propensity) -> None:
        p = self.params
        self._hot["update"](x, int(action), float(reward), self.A_, self.b_, self.A_inv_, self.theta_,
                            self.n_updates_, self.since_refresh_, p.l2, p.gamma, p.refresh_every, self._u)

    def _pending_learner(self, X, actions, propensities):
        p = self.params
        arrays = (self.A_, self.b_, self.A_inv_, self.theta_, self.n_updates_, self.since_refresh_, self._u, self.version_,
                  X, actions, self.n_actions, self.n_features, X.shape[0])
        return bind_table(K.linear_update_at, K.UPDATE_TABLE, arrays, (p.l2, p.gamma, p.refresh_every), (0, 0.0))

    def _row_table(self, x, out) -> tuple:
        """The leading entries of ``K.ROW_TABLE`` for the engine's ``x`` and ``out``."""
        return self.theta_, self.A_inv_, x, out, self.n_actions, self.n_features

    def _update_batch(self, X, actions, rewards, propensities) -> None:
        p = self.params
        K.linear_update_batch(X, actions, rewards, self.A_, self.b_, self.A_inv_, self.theta_,
                              self.n_updates_, self.since_refresh_, p.l2, p.gamma, p.refresh_every, self._u)

    def refresh(self) -> None:
        """Rebuild every action's A⁻¹ and θ from A and b."""
        K.refresh_all(self.A_, self.b_, self.A_inv_, self.theta_)
        self.since_refresh_[:] = 0

    def delta(self, base: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """What this policy learned since ``base`` (a :meth:`get_state` of the same model).

        Returns ``{"A": ΔA, "b": Δb, "n_updates": Δn}``; merge it into any replica with
        :meth:`merge`. Only defined without discount (gamma == 1).
        """
        self._require_additive()
        return {"A": self.A_ - base["A_"], "b": self.b_ - base["b_"], "n_updates": self.n_updates_ - base["n_updates_"]}

    def merge(self, delta: dict[str, np.ndarray]) -> None:
        """Add another replica's :meth:`delta`, then rebuild the caches from A and b.

        >>> import numpy as np
        >>> from omnibandit.policies import LinUCB
        >>> a, b = LinUCB(n_actions=2, n_features=3, seed=0), LinUCB(n_actions=2, n_features=3, seed=1)
        >>> base = b.get_state()
        >>> b.update(np.array([1.0, 0.5, -0.5]), 1, 1.0)
        >>> a.merge(b.delta(base))
        >>> bool(np.allclose(a.theta_, b.theta_)), int(a.n_updates_[1])
        (True, 1)
        """
        self._require_additive()
        dA, db, dn = (np.asarray(delta[key]) for key in ("A", "b", "n_updates"))
        if dA.shape != self.A_.shape or db.shape != self.b_.shape or dn.shape != self.n_updates_.shape:
            raise ConfigurationError("delta", f"A{dA.shape} b{db.shape}", f"must match A{self.A_.shape} b{self.b_.shape}.")
        if not (np.isfinite(dA).all() and np.isfinite(db).all()):
            raise ConfigurationError("delta", "non-finite", "must be finite.")
        self.A_ += dA
        self.b_ += db
        self.n_updates_ += dn.astype(np.int64)
        self.version_[0] += int(dn.sum())
        self.refresh()

    def _require_additive(self) -> None:
        if self.params.gamma != 1.0:
            raise ConfigurationError("gamma", self.params.gamma, "delta/merge need gamma == 1 (discounted statistics do not add).")
