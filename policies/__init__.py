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


def make_policy(name: str, *, n_actions: int, n_features: int, seed=None, **params) -> Policy:
    """Build the policy registered as ``name`` with hyperparameters ``params``."""
    try:
        cls = POLICIES[name]
    except KeyError:
        raise ConfigurationError("policy", name, f"known policies: {', '.join(sorted(POLICIES))}.") from None
    return cls(n_actions=n_actions, n_features=n_features, seed=seed, **params)


__all__ = [
    "POLICIES", "make_policy", "Policy", "PolicyParams", "LinearPolicy", "LinearParams",
    "LinUCB", "LinUCBParams", "LinearThompsonSampling", "LinTSParams", "EpsilonGreedy",
    "EpsilonGreedyParams", "BetaThompsonSampling", "BetaTSParams", "Uniform", "Fixed", "FixedParams",
]
