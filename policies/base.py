"""The policy interface every algorithm implements.

A policy sees only arrays: a feature vector ``x`` of shape (d,), a boolean mask of
eligible actions of shape (K,), and for learning the chosen action index, the reward
and the logged propensity. It returns a probability vector over the K actions that is
zero exactly off the eligible set and sums to one; the caller samples from it.

State is a dict of numpy arrays (:meth:`Policy.get_state` / :meth:`Policy.set_state`),
which includes the policy's own random-number state, so a restored policy continues
exactly where the saved one stopped.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from omnibandit.engine.errors import (
    ConfigurationError,
    EmptyEligibleSet,
    FeatureLengthMismatch,
    InvalidFeatureValue,
    InvalidPropensity,
    InvalidReward,
    UnknownAction,
)

from ._rng import seed_state
from ._validation import check_int

__all__ = ["Policy", "PolicyParams"]


@dataclasses.dataclass(frozen=True)
class PolicyParams:
    """Base of every policy's hyperparameters (a frozen dataclass, also the Hydra schema)."""

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class Policy(ABC):
    """Base class: validation, state handling and warm-up around numba kernels.

    Subclasses set ``name`` and ``Params`` and implement ``_allocate``,
    ``_probabilities_into``, ``_probabilities_batch_into``, ``_update`` and
    ``_update_batch``. Their state arrays are listed in ``_state_names``.

    Parameters
    ----------
    n_actions : int
        K, the number of actions.
    n_features : int
        d, the length of a feature vector.
    seed : int, numpy.random.SeedSequence, numpy.random.Generator or None
        Seeds the policy's own random stream (Thompson draws).
    **params
        Hyperparameters, validated by the subclass's ``Params`` dataclass.
    """

    name: ClassVar[str] = "policy"
    Params: ClassVar[type[PolicyParams]] = PolicyParams
    _state_names: ClassVar[tuple[str, ...]] = ()
    #: True when ``update`` learns from rewards (False for Uniform and Fixed).
    learns: ClassVar[bool] = True

    def __init__(self, *, n_actions: int, n_features: int, seed=None, **params) -> None:
        self.n_actions = check_int("n_actions", n_actions, low=1)
        self.n_features = check_int("n_features", n_features, low=1)
        if "params" in params:
            self.params = params.pop("params")
        else:
            known = {f.name for f in dataclasses.fields(self.Params)}
            unknown = sorted(set(params) - known)
            if unknown:
                raise ConfigurationError(unknown[0], params[unknown[0]],
                                         f"not a {self.name} hyperparameter; known: {', '.join(sorted(known)) or '(none)'}.")
            self.params = self.Params(**params)
        if not isinstance(self.params, self.Params):
            raise ConfigurationError("params", self.params, f"must be a {self.Params.__name__}.")
        self.seed = seed
        self.rng_state_ = seed_state(seed)
        self.version_ = np.zeros(1, dtype=np.int64)
        self._hot: dict = {}  # kernel entry points of the single-context path (not pickled)
        self._allocate()
        self._bind_kernels()

    # ----------------------------------------------------------------- subclass API
    @abstractmethod
    def _allocate(self) -> None:
        """Allocate state arrays and scratch buffers."""

    def _bind_kernels(self) -> None:
        """Fill ``self._hot`` with the entry points (``_numba.entry_point``) of the kernels that
        ``_probabilities_into`` and ``_update`` call, bound to the types every caller passes:
        C-contiguous float64 ``x`` and ``out``, bool ``eligible``, the policy's own state
        arrays. Calling an entry point skips numba's per-call type dispatch. Policies without
        kernels on that path keep the default (nothing to bind)."""

    @abstractmethod
    def _probabilities_into(self, x: np.ndarray, eligible: np.ndarray, out: np.ndarray) -> None:
        """Write the probability vector for one validated context into ``out``."""

    @abstractmethod
    def _probabilities_batch_into(self, X: np.ndarray, eligible: np.ndarray, out: np.ndarray) -> None:
        """Row-wise ``_probabilities_into`` for validated (n, d) and (n, K) inputs."""

    def _update(self, x: np.ndarray, action: int, reward: float, propensity: float) -> None:
        """Learn from one validated observation (no-op for non-learning policies)."""

    def _update_batch(self, X, actions, rewards, propensities) -> None:
        """Learn from validated observations in order (no-op for non-learning policies)."""

    def _bound_probabilities(self, x: np.ndarray, out: np.ndarray) -> Callable[[np.ndarray], None]:
        """``_probabilities_into`` as the engine's single-context path calls it: a function
        ``(eligible)`` that reads the context from ``x`` and writes into ``out`` (the caller's
        own float64 buffers, never rebound). Policies with a kernel for it bind ``x``, ``out``
        and their state in one address table (``_numba.bind_table``)."""
        into = self._probabilities_into
        return lambda eligible: into(x, eligible, out)

    def _pending_learner(self, X: np.ndarray, actions: np.ndarray,
                         propensities: np.ndarray) -> Callable[[int, float], None]:
        """A function ``(slot, reward)`` that learns from row ``slot`` of the engine's pending
        arrays ``X``, ``actions``, ``propensities`` (the engine's own, never rebound) and
        counts the update: the engine's single reward path. Policies with a kernel for it
        bind the arrays to it and read the row in place."""

        def learn(slot: int, reward: float) -> None:
            self._update(X[slot], int(actions[slot]), reward, float(propensities[slot]))
            self.version_[0] += 1

        return learn

    def _row_examples(self) -> tuple:
        """Examples of the per-call arguments (x, eligible, out) of a bound probability kernel."""
        return np.zeros(self.n_features), np.ones(self.n_actions, dtype=np.bool_), np.zeros(self.n_actions)

    def check_reward(self, reward: float) -> None:
        """Raise if this policy cannot learn from ``reward`` (e.g. Bernoulli outside [0, 1])."""

    # ----------------------------------------------------------------- public API
    @property
    def version(self) -> int:
        """Number of updates applied so far."""
        return int(self.version_[0])

    def probabilities(self, x, eligible=None) -> np.ndarray:
        """Probability vector over all K actions for one context.

        Parameters
        ----------
        x : array of shape (d,)
        eligible : bool array of shape (K,), optional (all actions when omitted)

        Returns
        -------
        numpy.ndarray of shape (K,), non-negative, zero off ``eligible``, summing to 1.
        """
        x = self._check_x(x)
        eligible = self._check_eligible(eligible)
        out = np.empty(self.n_actions)
        self._probabilities_into(x, eligible, out)
        return out

    def probabilities_batch(self, X, eligible=None) -> np.ndarray:
        """Probabilities for each row of X (shape (n, d)); returns shape (n, K).

        The model is the same for every row: nothing is learned between rows.
        """
        X = np.ascontiguousarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise FeatureLengthMismatch("X.shape", X.shape, f"must be (n, {self.n_features}).")
        self._check_finite(X)
        if eligible is None:
            eligible = np.ones((X.shape[0], self.n_actions), dtype=np.bool_)
        else:
            eligible = np.ascontiguousarray(eligible, dtype=np.bool_)
            if eligible.shape != (X.shape[0], self.n_actions):
                raise FeatureLengthMismatch("eligible.shape", eligible.shape,
                                            f"must be ({X.shape[0]}, {self.n_actions}).")
            empty = ~eligible.any(axis=1)
            if empty.any():
                raise EmptyEligibleSet("eligible", int(np.argmax(empty)), "row has no eligible action.")
        out = np.empty((X.shape[0], self.n_actions))
        self._probabilities_batch_into(X, eligible, out)
        return out

    def update(self, x, action: int, reward: float, propensity: float = 1.0) -> None:
        """Learn from one observation: features ``x``, chosen ``action``, ``reward``.

        ``propensity`` is the logged probability of ``action``; the linear policies
        learn the reward model on every observation and do not weight by it, but it
        is validated so a caller's mistake surfaces here.
        """
        x = self._check_x(x)
        action = self._check_action(action)
        reward = self._check_reward_value(reward)
        propensity = self._check_propensity(propensity)
        self._update(x, action, reward, propensity)
        self.version_[0] += 1

    def update_batch(self, X, actions, rewards, propensities=None) -> None:
        """Learn from observations in row order; all are validated before any is applied."""
        X = np.ascontiguousarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise FeatureLengthMismatch("X.shape", X.shape, f"must be (n, {self.n_features}).")
        n = X.shape[0]
        self._check_finite(X)
        actions = np.ascontiguousarray(actions, dtype=np.int64).reshape(-1)
        rewards = np.ascontiguousarray(rewards, dtype=np.float64).reshape(-1)
        propensities = (np.ones(n) if propensities is None
                        else np.ascontiguousarray(propensities, dtype=np.float64).reshape(-1))
        for name, arr in (("actions", actions), ("rewards", rewards), ("propensities", propensities)):
            if arr.shape[0] != n:
                raise FeatureLengthMismatch(f"{name}.shape", arr.shape, f"must be ({n},) like X.")
        bad = (actions < 0) | (actions >= self.n_actions)
        if bad.any():
            raise UnknownAction("actions", int(actions[np.argmax(bad)]), f"must be in [0, {self.n_actions}).")
        if not np.isfinite(rewards).all():
            raise InvalidReward("rewards", float(rewards[~np.isfinite(rewards)][0]), "must be finite.")
        for r in np.unique(rewards) if n < 64 else (rewards.min(), rewards.max()):
            self.check_reward(float(r))
        ok = (propensities > 0.0) & (propensities <= 1.0)
        if not ok.all():
            raise InvalidPropensity("propensities", float(propensities[np.argmin(ok)]), "must be in (0, 1].")
        if n:
            self._update_batch(X, actions, rewards, propensities)
            self.version_[0] += n

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_hot"] = {}  # compiled functions do not pickle; bound again on load
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._bind_kernels()

    def get_state(self) -> dict[str, np.ndarray]:
        """A copy of the full state: the learned arrays, the version and the RNG state."""
        state = {name: getattr(self, name).copy() for name in self._state_names}
        state["rng_state_"] = self.rng_state_.copy()
        state["version_"] = self.version_.copy()
        return state

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        """Restore state from :meth:`get_state`; shapes and dtypes must match exactly.

        Every array is checked before any is copied, so a bad state changes nothing.
        """
        names = (*self._state_names, "rng_state_", "version_")
        missing = [n for n in names if n not in state]
        if missing:
            raise ConfigurationError("state", sorted(state), f"is missing {missing}.")
        for name in names:
            current, new = getattr(self, name), np.asarray(state[name])
            if new.shape != current.shape or new.dtype != current.dtype:
                raise ConfigurationError(f"state[{name!r}]", f"{new.dtype}{new.shape}",
                                         f"must be {current.dtype}{current.shape}.")
            if new.dtype.kind == "f" and not np.isfinite(new).all():
                raise ConfigurationError(f"state[{name!r}]", "non-finite", "must be finite.")
        for name in names:
            getattr(self, name)[...] = state[name]

    def clone(self, seed=None) -> "Policy":
        """A fresh, untrained policy with the same hyperparameters and shape."""
        return type(self)(n_actions=self.n_actions, n_features=self.n_features,
                          seed=self.seed if seed is None else seed, params=self.params)

    def warmup(self) -> None:
        """Compile every kernel this policy uses, without touching its state.

        Runs the kernels once on a small throwaway instance with the same array
        types, so the first live call does not compile.
        """
        scratch = type(self)(n_actions=2, n_features=self.n_features, seed=0, params=self._warmup_params())
        x = np.zeros(self.n_features)
        x[0] = 1.0
        eligible = np.ones(2, dtype=np.bool_)
        scratch._probabilities_into(x, eligible, np.empty(2))
        scratch.update(x, 1, scratch._warmup_reward(), 0.5)
        X = np.tile(x, (3, 1))
        scratch._probabilities_batch_into(X, np.ones((3, 2), dtype=np.bool_), np.empty((3, 2)))
        scratch.update_batch(X, np.array([0, 1, 0]), np.full(3, scratch._warmup_reward()), np.full(3, 0.5))

    def _warmup_params(self) -> PolicyParams:
        return self.params

    def _warmup_reward(self) -> float:
        return 1.0

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.params.as_dict().items())
        return f"{type(self).__name__}(n_actions={self.n_actions}, n_features={self.n_features}, {params})"

    # ----------------------------------------------------------------- checks
    def _check_x(self, x) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=np.float64)
        if x.shape != (self.n_features,):
            raise FeatureLengthMismatch("x.shape", x.shape, f"must be ({self.n_features},).")
        self._check_finite(x)
        return x

    @staticmethod
    def _check_finite(x: np.ndarray) -> None:
        if not np.isfinite(x).all():
            flat = x.reshape(-1)
            i = int(np.argmin(np.isfinite(flat)))
            raise InvalidFeatureValue(f"x[{i}]" if x.ndim == 1 else "X", float(flat[i]), "must be finite.")

    def _check_eligible(self, eligible) -> np.ndarray:
        if eligible is None:
            return np.ones(self.n_actions, dtype=np.bool_)
        eligible = np.ascontiguousarray(eligible, dtype=np.bool_)
        if eligible.shape != (self.n_actions,):
            raise FeatureLengthMismatch("eligible.shape", eligible.shape, f"must be ({self.n_actions},).")
        if not eligible.any():
            raise EmptyEligibleSet("eligible", "all False", "at least one action must be eligible.")
        return eligible

    def _check_action(self, action) -> int:
        if isinstance(action, (bool, np.bool_)) or not isinstance(action, (int, np.integer)):
            raise UnknownAction("action", action, "must be an int action index.")
        if not 0 <= action < self.n_actions:
            raise UnknownAction("action", action, f"must be in [0, {self.n_actions}).")
        return int(action)

    def _check_reward_value(self, reward) -> float:
        try:
            value = float(reward)
        except (TypeError, ValueError):
            raise InvalidReward("reward", reward, "must be a real number.") from None
        if not np.isfinite(value):
            raise InvalidReward("reward", reward, "must be finite.")
        self.check_reward(value)
        return value

    @staticmethod
    def _check_propensity(propensity) -> float:
        try:
            value = float(propensity)
        except (TypeError, ValueError):
            raise InvalidPropensity("propensity", propensity, "must be a real number.") from None
        if not 0.0 < value <= 1.0:
            raise InvalidPropensity("propensity", propensity, "must be in (0, 1].")
        return value
