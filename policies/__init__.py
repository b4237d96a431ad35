"""Bandit policies: thin Python classes around numba kernels.

Every policy maps a feature vector and an eligible mask to a probability vector
(:class:`~omnibandit.policies.base.Policy`). :func:`make_policy` builds one by name.

>>> from omnibandit.policies import make_policy
>>> make_policy("linucb", n_actions=3, n_features=4, alpha=0.5).params.alpha
0.5
"""

from __future__ import annotations

from omnibandit.engine.errors import ConfigurationError

from .base import Policy, PolicyParams
from .beta_ts import BetaThompsonSampling, BetaTSParams
from .egreedy import EpsilonGreedy, EpsilonGreedyParams
from .fixed import Fixed, FixedParams
from .lin_ts import LinearThompsonSampling, LinTSParams
from .linear import LinearParams, LinearPolicy
from .linucb import LinUCB, LinUCBParams
from .uniform import Uniform

#: Policy classes by their ``name``.
POLICIES: dict[str, type[Policy]] = {
    cls.name: cls for cls in (LinUCB, LinearThompsonSampling, EpsilonGreedy, BetaThompsonSampling, Uniform, Fixed)
}


def _vw_policy() -> type[Policy]:
    from .vw import VWPolicy  # imports vowpalwabbit only when asked for

    return VWPolicy


#: Policies whose module is imported on first use.
LAZY_POLICIES = {"vw": _vw_policy}


def policy_class(name: str) -> type[Policy]:
    """The class registered as ``name`` (``POLICIES`` or a lazily imported one)."""
    if name in POLICIES:
        return POLICIES[name]
    if name in LAZY_POLICIES:
        return LAZY_POLICIES[name]()
    raise ConfigurationError("policy", name, f"known policies: {', '.join(sorted([*POLICIES, *LAZY_POLICIES]))}.")


def make_policy(name: str, *, n_actions: int, n_features: int, seed=None, **params) -> Policy:
    """Build the policy registered as ``name`` with hyperparameters ``params``."""
    return policy_class(name)(n_actions=n_actions, n_features=n_features, seed=seed, **params)


__all__ = [
    "POLICIES", "LAZY_POLICIES", "policy_class", "make_policy", "Policy", "PolicyParams", "LinearPolicy", "LinearParams",
    "LinUCB", "LinUCBParams", "LinearThompsonSampling", "LinTSParams", "EpsilonGreedy",
    "EpsilonGreedyParams", "BetaThompsonSampling", "BetaTSParams", "Uniform", "Fixed", "FixedParams",
]
