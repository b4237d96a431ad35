"""Off-policy estimators: what would the target policy have earned on this log?

Every estimator takes plain arrays, so it works on any log:

- ``rewards`` r (n,), ``actions`` a (n,) and logged ``propensities`` p (n,) = π₀(aᵢ|xᵢ);
- ``target_probs`` π (n, K): the evaluation policy's probabilities in each logged context;
- ``reward_model`` q̂ (n, K): predicted reward of each action in each context (DM, DR, switch-DR).

With importance weights wᵢ = π(aᵢ|xᵢ) / pᵢ each estimator averages one term per round
(Dudík, Langford & Li 2011; Saito et al. 2021, Open Bandit Pipeline):

=================  ===========================================================
estimator          per-round term  (estimate = mean over rounds)
=================  ===========================================================
direct_method      Σₐ π(a|xᵢ) q̂(xᵢ,a)
ips                min(wᵢ, λ) rᵢ                         (λ = ``clip``, ∞ by default)
snips              wᵢ rᵢ / mean(w)                       (self-normalised; a ratio)
doubly_robust      Σₐ π(a|xᵢ) q̂(xᵢ,a) + min(wᵢ, λ)(rᵢ − q̂(xᵢ,aᵢ))
switch_dr          Σₐ π(a|xᵢ) q̂(xᵢ,a) + 1{wᵢ ≤ τ} wᵢ (rᵢ − q̂(xᵢ,aᵢ))
=================  ===========================================================

The standard error is the sample standard deviation of the per-round terms over √n
(for SNIPS, of its delta-method linearisation wᵢ(rᵢ − V)/mean(w)); the normal interval
is V ± z·se. ``ci="bootstrap"`` resamples rounds (seeded) and takes percentiles. The
effective sample size is (Σw)²/Σw² of the weights the estimator uses.

Examples
--------
>>> import numpy as np
>>> rewards, actions = np.array([1.0, 0.0, 1.0, 1.0]), np.array([0, 1, 1, 0])
>>> propensities = np.full(4, 0.5)
>>> target = np.array([[1.0, 0.0]] * 4)        # always action 0
>>> ips(rewards, actions, propensities, target).value
1.0
>>> round(snips(rewards, actions, propensities, target).value, 6)
1.0
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy import stats

from omnibandit.engine.errors import (
    ConfigurationError,
    FeatureLengthMismatch,
    InvalidPropensity,
    InvalidReward,
    UnknownAction,
)

__all__ = ["Estimate", "direct_method", "ips", "snips", "doubly_robust", "switch_dr", "ESTIMATORS"]


@dataclasses.dataclass(frozen=True)
class Estimate:
    """An off-policy estimate with its uncertainty.

    Attributes
    ----------
    value : float
        The estimated mean reward of the target policy.
    ci_low, ci_high : float
        The confidence interval (level 1 - ``alpha``).
    std_err : float
        Standard error of ``value``.
    n : int
        Rounds in the log.
    ess : float
        Effective sample size of the importance weights, (Σw)²/Σw² (n for DM).
    clipped_share : float
        Share of rounds whose weight was clipped (IPS/DR) or switched to the model (switch-DR).
    estimator : str
    method : str
        "normal" or "bootstrap".

    Examples
    --------
    >>> e = Estimate(0.5, 0.4, 0.6, 0.05, 100, 80.0, 0.0, "ips", "normal")
    >>> e.value, e.n
    (0.5, 100)
    """

    value: float
    ci_low: float
    ci_high: float
    std_err: float
    n: int
    ess: float
    clipped_share: float
    estimator: str
    method: str

    def as_row(self) -> dict:
        """A flat dict, ready for a DataFrame row."""
        return dataclasses.asdict(self)


# ---------------------------------------------------------------------- validation
def _check(rewards, actions, propensities, target_probs, reward_model=None, need_model=False):
    r = np.asarray(rewards, dtype=np.float64).reshape(-1)
    n = r.shape[0]
    if n == 0:
        raise FeatureLengthMismatch("rewards", 0, "an estimate needs at least one round.")
    pi = np.asarray(target_probs, dtype=np.float64)
    if pi.ndim != 2 or pi.shape[0] != n:
        raise FeatureLengthMismatch("target_probs.shape", pi.shape, f"must be ({n}, K).")
    k = pi.shape[1]
    if not np.isfinite(r).all():
        raise InvalidReward("rewards", float(r[~np.isfinite(r)][0]), "must be finite.")
    if (pi < -1e-12).any() or not np.allclose(pi.sum(axis=1), 1.0, atol=1e-6):
        raise InvalidPropensity("target_probs", "rows", "must be non-negative and sum to 1.")
    a = None
    if actions is not None:
        a = np.asarray(actions).reshape(-1)
        if a.shape[0] != n:
            raise FeatureLengthMismatch("actions.shape", a.shape, f"must be ({n},).")
        if a.dtype.kind not in "iu" or (a < 0).any() or (a >= k).any():
            raise UnknownAction("actions", a[(a < 0) | (a >= k)][:1].tolist() if a.dtype.kind in "iu" else a.dtype,
                                f"must be integer indices in [0, {k}).")
    p = None
    if propensities is not None:
        p = np.asarray(propensities, dtype=np.float64).reshape(-1)
        if p.shape[0] != n:
            raise FeatureLengthMismatch("propensities.shape", p.shape, f"must be ({n},).")
        if not ((p > 0) & (p <= 1)).all():
            raise InvalidPropensity("propensities", float(p[~((p > 0) & (p <= 1))][0]), "must be in (0, 1].")
    q = None
    if need_model:
        if reward_model is None:
            raise ConfigurationError("reward_model", None, "this estimator needs reward-model predictions (n, K).")
        q = np.asarray(reward_model, dtype=np.float64)
        if q.shape != pi.shape:
            raise FeatureLengthMismatch("reward_model.shape", q.shape, f"must be {pi.shape} like target_probs.")
        if not np.isfinite(q).all():
            raise InvalidReward("reward_model", "non-finite", "predictions must be finite.")
    return r, a, p, pi, q


def _weights(a, p, pi):
    return pi[np.arange(a.shape[0]), a] / p


def _ess(w) -> float:
    s2 = float(np.sum(w * w))
    return float(np.sum(w)) ** 2 / s2 if s2 > 0 else 0.0


def _interval(terms, name, ess, clipped, alpha, ci, n_bootstrap, seed, ratio_weights=None) -> Estimate:
    if not 0 < alpha < 1:
        raise ConfigurationError("alpha", alpha, "must be in (0, 1).")
    n = terms.shape[0]
    if ratio_weights is None:
        value = float(terms.mean())
        se = float(terms.std(ddof=1) / math.sqrt(n)) if n > 1 else math.inf
    else:  # self-normalised: value = Σ w r / Σ w, delta-method standard error
        w, r = ratio_weights
        wbar = float(w.mean())
        value = float(np.sum(w * r) / np.sum(w)) if wbar > 0 else 0.0
        lin = w * (r - value) / wbar if wbar > 0 else np.zeros(n)
        se = float(lin.std(ddof=1) / math.sqrt(n)) if n > 1 else math.inf
    if ci == "normal":
        z = stats.norm.ppf(1 - alpha / 2)
        low, high = value - z * se, value + z * se
    elif ci == "bootstrap":
        if not (isinstance(n_bootstrap, int) and n_bootstrap >= 10):
            raise ConfigurationError("n_bootstrap", n_bootstrap, "must be an int >= 10.")
        rng = np.random.default_rng(seed)
        samples = np.empty(n_bootstrap)
        for b in range(n_bootstrap):
            idx = rng.integers(0, n, size=n)
            if ratio_weights is None:
                samples[b] = terms[idx].mean()
            else:
                ws = ratio_weights[0][idx]
                samples[b] = np.sum(ws * ratio_weights[1][idx]) / np.sum(ws) if ws.sum() > 0 else 0.0
        low, high = (float(v) for v in np.quantile(samples, [alpha / 2, 1 - alpha / 2]))
    else:
        raise ConfigurationError("ci", ci, "must be 'normal' or 'bootstrap'.")
    return Estimate(value, float(low), float(high), se, n, ess, clipped, name, ci)


def _check_threshold(name, value) -> float:
    value = float(value)
    if not value > 0:
        raise ConfigurationError(name, value, "must be > 0 (math.inf for none).")
    return value


# ---------------------------------------------------------------------- estimators
def direct_method(rewards, actions, propensities, target_probs, reward_model, *, alpha: float = 0.05,
                  ci: str = "normal", n_bootstrap: int = 1000, seed=None) -> Estimate:
    """Direct method: mean over rounds of Σₐ π(a|xᵢ) q̂(xᵢ,a). Unbiased only if q̂ is.

    ``actions`` and ``propensities`` are not used (they may be None); the interval
    reflects sampling of contexts only, not the model's error.
    """
    r, _, _, pi, q = _check(rewards, None, None, target_probs, reward_model, need_model=True)
    terms = np.sum(pi * q, axis=1)
    return _interval(terms, "dm", float(r.shape[0]), 0.0, alpha, ci, n_bootstrap, seed)


def ips(rewards, actions, propensities, target_probs, *, clip: float = math.inf, alpha: float = 0.05,
        ci: str = "normal", n_bootstrap: int = 1000, seed=None) -> Estimate:
    """Inverse propensity scoring: mean of min(wᵢ, clip)·rᵢ (unbiased without clipping)."""
    r, a, p, pi, _ = _check(rewards, actions, propensities, target_probs)
    clip = _check_threshold("clip", clip)
    w = _weights(a, p, pi)
    wc = np.minimum(w, clip)
    return _interval(wc * r, "ips", _ess(wc), float(np.mean(w > clip)), alpha, ci, n_bootstrap, seed)


def snips(rewards, actions, propensities, target_probs, *, alpha: float = 0.05, ci: str = "normal",
          n_bootstrap: int = 1000, seed=None) -> Estimate:
    """Self-normalised IPS: Σ wᵢ rᵢ / Σ wᵢ (consistent; bias O(1/n))."""
    r, a, p, pi, _ = _check(rewards, actions, propensities, target_probs)
    w = _weights(a, p, pi)
    return _interval(w * r, "snips", _ess(w), 0.0, alpha, ci, n_bootstrap, seed,
                     ratio_weights=(w, r))


def doubly_robust(rewards, actions, propensities, target_probs, reward_model, *, clip: float = math.inf,
                  alpha: float = 0.05, ci: str = "normal", n_bootstrap: int = 1000, seed=None) -> Estimate:
    """Doubly robust: DM term plus the clipped-weighted residual of the logged action.

    Unbiased without clipping whatever q̂ is (Dudík et al. 2011); ``clip`` trades bias
    for variance as in Open Bandit Pipeline's ``DoublyRobust(lambda_=...)``.
    """
    r, a, p, pi, q = _check(rewards, actions, propensities, target_probs, reward_model, need_model=True)
    clip = _check_threshold("clip", clip)
    n = r.shape[0]
    w = _weights(a, p, pi)
    wc = np.minimum(w, clip)
    terms = np.sum(pi * q, axis=1) + wc * (r - q[np.arange(n), a])
    return _interval(terms, "dr", _ess(wc), float(np.mean(w > clip)), alpha, ci, n_bootstrap, seed)


def switch_dr(rewards, actions, propensities, target_probs, reward_model, *, tau: float = math.inf,
              alpha: float = 0.05, ci: str = "normal", n_bootstrap: int = 1000, seed=None) -> Estimate:
    """Switch-DR (Wang, Agarwal & Dudík 2017): DR where wᵢ ≤ τ, the model alone where wᵢ > τ."""
    r, a, p, pi, q = _check(rewards, actions, propensities, target_probs, reward_model, need_model=True)
    tau = _check_threshold("tau", tau)
    n = r.shape[0]
    w = _weights(a, p, pi)
    keep = w <= tau
    terms = np.sum(pi * q, axis=1) + keep * w * (r - q[np.arange(n), a])
    return _interval(terms, "switch_dr", _ess(w[keep]) if keep.any() else 0.0, float(np.mean(~keep)),
                     alpha, ci, n_bootstrap, seed)


#: Estimators by name; those needing a reward model take it as the fifth argument.
ESTIMATORS = {"dm": direct_method, "ips": ips, "snips": snips, "dr": doubly_robust, "switch_dr": switch_dr}
