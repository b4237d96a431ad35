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
from omnibandit.simulators.journey import JourneyScenario

__all__ = ["TrackingConf", "EvaluateConf", "EngineConf", "UseCaseConf", "AgendaConf", "RunConf", "register_configs",
           "policy_schema", "simulator_schema"]


@dataclasses.dataclass
class TrackingConf:
    """Where runs go: ``uri`` None keeps MLflow's default local store.

    >>> from omegaconf import OmegaConf
    >>> OmegaConf.structured(TrackingConf(enabled=False)).experiment
    'omnibandit'
    """

    enabled: bool = True
    uri: Any = None
    experiment: str = "omnibandit"


@dataclasses.dataclass
class EvaluateConf:
    """``omnibandit-evaluate``: replay and off-policy estimates of one policy on an event log.

    >>> from omegaconf import OmegaConf
    >>> OmegaConf.structured(EvaluateConf(log="events.jsonl")).train_share
    0.5
    """

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


@dataclasses.dataclass
class EngineConf:
    """Engine settings for simulated runs.

    >>> EngineConf().pending_capacity
    131072
    """

    pending_capacity: int = 131072


@dataclasses.dataclass
class ClassificationConf:
    """A scikit-learn bundled data set as a bandit (``simulator=classification``): digits, wine,
    iris or breast_cancer; ``n_events`` contexts from as many shuffled passes as it takes.

    >>> ClassificationConf(dataset="wine").batch_size
    100
    """

    name: str = "classification"
    dataset: str = "digits"
    n_events: int = 20000
    batch_size: int = 100


@dataclasses.dataclass
class UseCaseConf:
    """One entry of ``agenda.use_cases`` (see :class:`omnibandit.experiments.agenda.UseCase`).

    >>> from omegaconf import OmegaConf
    >>> conf = OmegaConf.structured(UseCaseConf)
    >>> conf.control, OmegaConf.is_missing(conf, "stage")
    ('random', True)
    """

    id: str = MISSING
    hypothesis: str = MISSING
    stage: str = MISSING
    touchpoints: list[str] = MISSING
    actions: list[str] = MISSING
    outcome: str = MISSING
    reward_weights: dict[str, float] = dataclasses.field(default_factory=dict)
    value_per_unit: float = 1.0
    min_effect: float = 0.02
    priority: int = 1
    control: str = "random"


@dataclasses.dataclass
class AgendaConf:
    """A learning agenda: use cases and the share of their traffic held out as control.

    >>> AgendaConf(name="retail").holdout_share
    0.1
    """

    name: str = MISSING
    holdout_share: float = 0.1
    use_cases: list[UseCaseConf] = MISSING


@dataclasses.dataclass
class RunConf:
    """``omnibandit-run``: policies × simulator × agenda, tracked in MLflow.

    >>> from omegaconf import OmegaConf
    >>> conf = OmegaConf.structured(RunConf)
    >>> conf.seed, conf.tracking.enabled
    (0, True)
    """

    policy: Any = MISSING
    simulator: Any = MISSING
    agenda: AgendaConf = MISSING
    tracking: TrackingConf = dataclasses.field(default_factory=TrackingConf)
    engine: EngineConf = dataclasses.field(default_factory=EngineConf)
    seed: int = 0
    log_every: int = 2000
    progress: bool = True


def _schema_from(name: str, params: type, prefix: str) -> type:
    hints = typing.get_type_hints(params)
    fields = [("name", str, dataclasses.field(default=name))]
    for f in dataclasses.fields(params):
        default = (dataclasses.field(default_factory=f.default_factory) if f.default_factory is not dataclasses.MISSING
                   else dataclasses.field(default=f.default))
        fields.append((f.name, hints[f.name], default))
    return dataclasses.make_dataclass(f"{name.title().replace('_', '')}{prefix}Conf", fields)


def policy_schema(name: str, params: type[PolicyParams]) -> type:
    """A mutable dataclass with ``name`` and the policy's hyperparameters (for OmegaConf)."""
    return _schema_from(name, params, "")


def simulator_schema(name: str, scenario: type) -> type:
    """A dataclass with ``name`` and the simulator scenario's fields (for OmegaConf)."""
    return _schema_from(name, scenario, "Simulator")


def register_configs() -> ConfigStore:
    """Register every schema (idempotent)."""
    cs = ConfigStore.instance()
    cs.store(name="evaluate_schema", node=EvaluateConf)
    cs.store(name="run_schema", node=RunConf)
    # each selected policy lands under policy.<name>, so several can be selected at once
    for name, cls in POLICIES.items():
        cs.store(group="policy", name=f"{name}_schema", node=policy_schema(name, cls.Params), package=f"policy.{name}")
    cs.store(group="policy", name="vw_schema", node=policy_schema("vw", VWParams), package="policy.vw")
    cs.store(group="policy", name="control_schema", node=policy_schema("fixed", POLICIES["fixed"].Params),
             package="policy.control")
    cs.store(group="simulator", name="journey_schema", node=simulator_schema("journey", JourneyScenario))
    cs.store(group="simulator", name="classification_schema", node=ClassificationConf)
    cs.store(group="agenda", name="agenda_schema", node=AgendaConf)
    cs.store(group="tracking", name="tracking_schema", node=TrackingConf)
    return cs
