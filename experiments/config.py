"""Hydra structured configs: the schemas behind conf/, registered in a ConfigStore.

Each policy's schema is its hyperparameter dataclass plus ``name``, so a misspelt
override (``policy.alpah=1``) fails with Hydra's own error.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

from omnibandit.policies import POLICIES, PolicyParams
from omnibandit.policies.vw import VWParams

__all__ = ["TrackingConf", "EvaluateConf", "register_configs", "policy_schema"]


@dataclasses.dataclass
class TrackingConf:
    """Where runs go: ``uri`` None keeps MLflow's default local store."""

    enabled: bool = True
    uri: Any = None
    experiment: str = "omnibandit"


@dataclasses.dataclass
class EvaluateConf:
    """``omnibandit-evaluate``: replay and off-policy estimates of one policy on an event log."""

    log: str = MISSING
    policy: Any = MISSING
    tracking: TrackingConf = dataclasses.field(default_factory=TrackingConf)
    seed: int = 0
    train_share: float = 0.5
    replay_batch_size: int = 1
    ridge_l2: float = 1.0
    switch_tau: float = 20.0
    dr_clip: float = math.inf
    ci: str = "normal"
    n_bootstrap: int = 1000
    on_error: str = "raise"


def policy_schema(name: str, params: type[PolicyParams]) -> type:
    """A mutable dataclass with ``name`` and the policy's hyperparameters (for OmegaConf)."""
    hints = typing.get_type_hints(params)
    fields = [("name", str, dataclasses.field(default=name))]
    for f in dataclasses.fields(params):
        fields.append((f.name, hints[f.name], dataclasses.field(default=f.default)))
    return dataclasses.make_dataclass(f"{name.title().replace('_', '')}Conf", fields)


def register_configs() -> ConfigStore:
    """Register every schema (idempotent)."""
    cs = ConfigStore.instance()
    cs.store(name="evaluate_schema", node=EvaluateConf)
    for name, cls in POLICIES.items():
        cs.store(group="policy", name=f"{name}_schema", node=policy_schema(name, cls.Params))
    cs.store(group="policy", name="vw_schema", node=policy_schema("vw", VWParams))
    cs.store(group="tracking", name="tracking_schema", node=TrackingConf)
    return cs
