"""The schema: touchpoints, journey stages, actions and customer features.

A :class:`Schema` is plain frozen data; :meth:`Schema.from_dict` reads the same
structure from a dict or an OmegaConf config (as Hydra gives it).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

from .errors import ConfigurationError

__all__ = ["FeatureSpec", "ActionSpec", "Schema", "TOUCHPOINTS", "STAGES", "IDENTIFICATION_MODES"]

TOUCHPOINTS = ("mobile_app", "digital_display", "interactive_screen", "associate_device", "point_of_sale", "web", "email")
STAGES = ("pre_visit", "in_visit", "post_visit")
IDENTIFICATION_MODES = ("anonymous", "app_location", "self_identified", "associate_lookup", "loyalty_card",
                        "visual_recognition")
_SCALINGS = ("none", "minmax", "standard", "log1p")


@dataclasses.dataclass(frozen=True)
class FeatureSpec:
    """One customer feature.

    Attributes
    ----------
    name : str
    kind : {"numeric", "categorical"}
    low, high : float
        Declared range of a numeric feature; a value outside it is rejected.
    scaling : {"none", "minmax", "standard", "log1p"}
        ``minmax`` maps [low, high] to [0, 1]; ``standard`` is (v - mean) / std;
        ``log1p`` is log(1 + v) / log(1 + high) (needs low >= 0 and a finite high).
    mean, std : float
        Used by ``standard`` scaling.
    impute : float or None
        Raw value used when the feature is absent (default: the midpoint of a finite
        range, else ``mean``). A missing indicator is set alongside.
    categories : tuple of str
        Values of a categorical feature (one-hot); any other value counts as missing.
    required : bool
        A numeric feature that is always present: it gets no missing-indicator column,
        and a context without it is rejected (``MissingFeature``).
    indicator : bool
        Whether an optional numeric feature gets a missing-indicator column (default).
        Set False when another column already says the value is absent, e.g. features
        that are all missing exactly when identification is ``anonymous``.

    Examples
    --------
    >>> FeatureSpec("spend_90d", low=0, high=1000, scaling="minmax").scaled(250.0)
    0.25
    """

    name: str
    kind: str = "numeric"
    low: float = -math.inf
    high: float = math.inf
    scaling: str = "none"
    mean: float = 0.0
    std: float = 1.0
    impute: float | None = None
    categories: tuple[str, ...] = ()
    required: bool = False
    indicator: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "low", float(self.low))
        object.__setattr__(self, "high", float(self.high))
        object.__setattr__(self, "categories", tuple(str(c) for c in self.categories))
        where = f"features[{self.name!r}]"
        if self.kind not in ("numeric", "categorical"):
            raise ConfigurationError(f"{where}.kind", self.kind, "must be 'numeric' or 'categorical'.")
        if self.kind == "categorical":
            if not self.categories or len(set(self.categories)) != len(self.categories):
                raise ConfigurationError(f"{where}.categories", self.categories, "must be non-empty and unique.")
            return
        if self.scaling not in _SCALINGS:
            raise ConfigurationError(f"{where}.scaling", self.scaling, f"must be one of {_SCALINGS}.")
        if not self.low <= self.high:
            raise ConfigurationError(f"{where}.low", self.low, f"must be <= high ({self.high}).")
        if self.scaling == "minmax" and not (math.isfinite(self.low) and math.isfinite(self.high) and self.high > self.low):
            raise ConfigurationError(f"{where}.scaling", "minmax", "needs a finite range with low < high.")
        if self.scaling == "log1p" and not (self.low >= 0 and math.isfinite(self.high) and self.high > 0):
            raise ConfigurationError(f"{where}.scaling", "log1p", "needs low >= 0 and a finite high > 0.")
        if self.scaling == "standard" and not (self.std > 0 and math.isfinite(self.std) and math.isfinite(self.mean)):
            raise ConfigurationError(f"{where}.std", self.std, "must be finite and > 0 for standard scaling.")
        impute = self.default_impute()
        if not (math.isfinite(impute) and self.low <= impute <= self.high):
            raise ConfigurationError(f"{where}.impute", impute, f"must be finite and in [{self.low}, {self.high}].")

    def default_impute(self) -> float:
        if self.impute is not None:
            return float(self.impute)
        if math.isfinite(self.low) and math.isfinite(self.high):
            return 0.5 * (self.low + self.high)
        return min(max(self.mean, self.low), self.high)

    def scale_params(self) -> tuple[float, float, bool]:
        """(center, scale, log) such that the feature is (f(v) - center) / scale."""
        if self.scaling == "minmax":
            return self.low, self.high - self.low, False
        if self.scaling == "standard":
            return self.mean, self.std, False
        if self.scaling == "log1p":
            return 0.0, math.log1p(self.high), True
        return 0.0, 1.0, False

    def scaled(self, value: float) -> float:
        center, scale, log = self.scale_params()
        return ((math.log1p(value) if log else value) - center) / scale


@dataclasses.dataclass(frozen=True)
class ActionSpec:
    """Something the engine can do.

    Attributes
    ----------
    name : str
    kind : str
        offer, recommendation, content, message, associate_prompt or control.
    touchpoints, stages : tuple of str
        Where the action is eligible; empty means everywhere.
    budget : int or None
        At most this many decisions may choose it (an inventory or budget cap).
    attribution_window : float or None
        Seconds of engine time a reward may arrive after the decision (None: the
        engine's default).
    """

    name: str
    kind: str = "offer"
    touchpoints: tuple[str, ...] = ()
    stages: tuple[str, ...] = ()
    budget: int | None = None
    attribution_window: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "touchpoints", tuple(self.touchpoints))
        object.__setattr__(self, "stages", tuple(self.stages))
        if self.budget is not None and (int(self.budget) != self.budget or self.budget < 0):
            raise ConfigurationError(f"actions[{self.name!r}].budget", self.budget, "must be a whole number >= 0.")
        if self.attribution_window is not None and not self.attribution_window > 0:
            raise ConfigurationError(f"actions[{self.name!r}].attribution_window", self.attribution_window, "must be > 0.")


@dataclasses.dataclass(frozen=True)
class Schema:
    """Touchpoints, stages, markets, identification modes, actions and features.

    Examples
    --------
    >>> schema = Schema.from_dict({
    ...     "actions": [{"name": "nothing", "kind": "control"},
    ...                 {"name": "app_coupon", "touchpoints": ["mobile_app"]}],
    ...     "features": [{"name": "spend_90d", "low": 0, "high": 5000, "scaling": "log1p"}],
    ...     "reward_range": [0, 500]})
    >>> [a.name for a in schema.actions], schema.touchpoints[0], schema.reward_range
    (['nothing', 'app_coupon'], 'mobile_app', (0.0, 500.0))
    """

    actions: tuple[ActionSpec, ...]
    features: tuple[FeatureSpec, ...] = ()
    touchpoints: tuple[str, ...] = TOUCHPOINTS
    stages: tuple[str, ...] = STAGES
    markets: tuple[str, ...] = ()
    identification: tuple[str, ...] = IDENTIFICATION_MODES
    forbidden_identification: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    reward_range: tuple[float, float] = (-math.inf, math.inf)

    def __post_init__(self) -> None:
        for name in ("actions", "features", "touchpoints", "stages", "markets", "identification"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        object.__setattr__(self, "reward_range", tuple(float(v) for v in self.reward_range))
        object.__setattr__(self, "forbidden_identification",
                           {str(m): tuple(v) for m, v in dict(self.forbidden_identification).items()})
        if not self.actions:
            raise ConfigurationError("actions", self.actions, "a schema needs at least one action.")
        for field in ("actions", "features"):
            names = [item.name for item in getattr(self, field)]
            if len(set(names)) != len(names):
                raise ConfigurationError(field, names, "names must be unique.")
        for field in ("touchpoints", "stages", "markets", "identification"):
            values = getattr(self, field)
            if len(set(values)) != len(values):
                raise ConfigurationError(field, values, "values must be unique.")
        if not self.touchpoints or not self.stages:
            raise ConfigurationError("touchpoints", self.touchpoints, "touchpoints and stages must be non-empty.")
        for action in self.actions:
            for tp in action.touchpoints:
                if tp not in self.touchpoints:
                    raise ConfigurationError(f"actions[{action.name!r}].touchpoints", tp, f"known: {self.touchpoints}.")
            for st in action.stages:
                if st not in self.stages:
                    raise ConfigurationError(f"actions[{action.name!r}].stages", st, f"known: {self.stages}.")
        for market, modes in self.forbidden_identification.items():
            if market not in self.markets:
                raise ConfigurationError("forbidden_identification", market, f"unknown market; known: {self.markets}.")
            for mode in modes:
                if mode not in self.identification:
                    raise ConfigurationError(f"forbidden_identification[{market!r}]", mode, "unknown identification mode.")
        low, high = self.reward_range
        if len(self.reward_range) != 2 or not low < high:
            raise ConfigurationError("reward_range", self.reward_range, "must be (low, high) with low < high.")

    @property
    def action_names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.actions)

    @classmethod
    def from_dict(cls, config: Mapping[str, Any]) -> "Schema":
        """Build a schema from plain data (dicts and lists, or an OmegaConf node)."""
        data = _to_plain(config)
        unknown = set(data) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ConfigurationError("schema", sorted(unknown), "unknown keys.")
        data["actions"] = tuple(_build(ActionSpec, a, "actions") for a in data.get("actions", ()))
        data["features"] = tuple(_build(FeatureSpec, f, "features") for f in data.get("features", ()))
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        """Plain data that :meth:`from_dict` reads back to an equal schema."""
        data = dataclasses.asdict(self)
        data["forbidden_identification"] = {k: list(v) for k, v in self.forbidden_identification.items()}
        return data


def _build(cls, item, field):
    if isinstance(item, cls):
        return item
    if not isinstance(item, Mapping):
        raise ConfigurationError(field, item, "each entry must be a mapping.")
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(item) - known
    if unknown:
        raise ConfigurationError(f"{field}[{item.get('name')!r}]", sorted(unknown), f"unknown keys; known: {sorted(known)}.")
    return cls(**item)


def _to_plain(config) -> dict:
    try:
        from omegaconf import DictConfig, OmegaConf

        if isinstance(config, DictConfig):
            return OmegaConf.to_container(config, resolve=True)
    except ImportError:  # pragma: no cover - omegaconf ships with hydra-core
        pass
    return {k: v for k, v in dict(config).items()}
