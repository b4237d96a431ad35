"""Exceptions raised by omnibandit.

Every error the engine raises on bad input is a subclass of :class:`OmnibanditError`
and carries the offending ``field`` and ``value``. When one is raised, nothing has
changed: the model, the pending decisions and the counters are as they were before
the call.

Examples
--------
>>> from omnibandit.engine.errors import UnknownTouchpoint, OmnibanditError
>>> err = UnknownTouchpoint("touchpoint", "kiosk", "known: web, email")
>>> isinstance(err, OmnibanditError), err.field, err.value
(True, 'touchpoint', 'kiosk')
>>> print(err)
touchpoint == 'kiosk' is not valid: known: web, email
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "OmnibanditError",
    "ConfigurationError",
    "InvalidFeatureValue",
    "FeatureOutOfRange",
    "UnknownFeature",
    "MissingFeature",
    "FeatureLengthMismatch",
    "UnknownTouchpoint",
    "UnknownStage",
    "UnknownMarket",
    "UnknownIdentification",
    "UnknownAction",
    "EmptyEligibleSet",
    "InvalidReward",
    "RewardOutOfRange",
    "UnknownDecision",
    "DuplicateReward",
    "LateReward",
    "InvalidPropensity",
    "SnapshotError",
    "RecoveryError",
]


class OmnibanditError(Exception):
    """Base class of every error omnibandit raises on bad input or state.

    Parameters
    ----------
    field : str
        The name of the argument, context field or feature at fault.
    value : object
        The value that was rejected.
    rule : str
        What the value should have been, and how to fix it.
    """

    def __init__(self, field: str, value: Any, rule: str) -> None:
        self.field = field
        self.value = value
        self.rule = rule
        super().__init__(f"{field} == {value!r} is not valid: {rule}")

    def __reduce__(self):  # keep pickling (multiprocessing, joblib) working
        return (type(self), (self.field, self.value, self.rule))


class ConfigurationError(OmnibanditError, ValueError):
    """A schema, policy or engine parameter is invalid."""


class InvalidFeatureValue(OmnibanditError, ValueError):
    """A feature is NaN, infinite, or not a number."""


class FeatureOutOfRange(InvalidFeatureValue):
    """A numeric feature lies outside the range its schema declares."""


class MissingFeature(OmnibanditError, ValueError):
    """A feature the schema declares ``required`` is absent."""


class UnknownFeature(OmnibanditError, ValueError):
    """A context names a feature the schema does not declare."""


class FeatureLengthMismatch(OmnibanditError, ValueError):
    """A feature vector has the wrong length."""


class UnknownTouchpoint(OmnibanditError, ValueError):
    """The context's touchpoint is not in the schema."""


class UnknownStage(OmnibanditError, ValueError):
    """The context's journey stage is not in the schema."""


class UnknownMarket(OmnibanditError, ValueError):
    """The context's market is not in the schema."""


class UnknownIdentification(OmnibanditError, ValueError):
    """The context's identification mode is not in the schema, or the market forbids it."""


class UnknownAction(OmnibanditError, ValueError):
    """An action name or index is not in the schema."""


class EmptyEligibleSet(OmnibanditError, ValueError):
    """No action is eligible for this context."""


class InvalidReward(OmnibanditError, ValueError):
    """A reward is NaN, infinite or not a number."""


class RewardOutOfRange(InvalidReward):
    """A reward lies outside the schema's declared reward range."""


class InvalidPropensity(OmnibanditError, ValueError):
    """A propensity is not in (0, 1]."""


class UnknownDecision(OmnibanditError, KeyError):
    """A reward names a decision this engine never issued (or no longer remembers)."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return self.args[0]


class DuplicateReward(OmnibanditError, ValueError):
    """A second reward arrived for a decision that has already been rewarded."""


class LateReward(OmnibanditError, ValueError):
    """A reward arrived after its decision's attribution window closed."""


class SnapshotError(OmnibanditError, ValueError):
    """A snapshot file is corrupt, truncated, of another format version, or inconsistent."""


class RecoveryError(OmnibanditError, ValueError):
    """The event log cannot be replayed onto the snapshot (it disagrees with the engine's state)."""
