"""Parameter checks shared by policies and the engine (scikit-learn's ``check_scalar`` wording)."""

from __future__ import annotations

import math
import numbers

from omnibandit.engine.errors import ConfigurationError


class ConfigurationTypeError(ConfigurationError, TypeError):
    """A parameter has the wrong type."""


def check_int(name: str, value, *, low: int | None = None, high: int | None = None) -> int:
    """Return ``value`` as an int, or raise naming the parameter.

    >>> check_int("n_actions", 3, low=1)
    3
    >>> check_int("n_actions", 0, low=1)
    Traceback (most recent call last):
    ...
    omnibandit.engine.errors.ConfigurationError: n_actions == 0 is not valid: must be >= 1.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ConfigurationTypeError(name, value, f"must be an int, got {type(value).__name__}.")
    value = int(value)
    if low is not None and value < low:
        raise ConfigurationError(name, value, f"must be >= {low}.")
    if high is not None and value > high:
        raise ConfigurationError(name, value, f"must be <= {high}.")
    return value


def check_float(
    name: str,
    value,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Return ``value`` as a finite float within the bounds, or raise naming the parameter.

    >>> check_float("alpha", 0.5, low=0.0)
    0.5
    >>> check_float("gamma", 1.5, low=0.0, high=1.0, low_open=True)
    Traceback (most recent call last):
    ...
    omnibandit.engine.errors.ConfigurationError: gamma == 1.5 is not valid: must be <= 1.0.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ConfigurationTypeError(name, value, f"must be a real number, got {type(value).__name__}.")
    value = float(value)
    if not math.isfinite(value):
        raise ConfigurationError(name, value, "must be finite.")
    if low is not None and (value <= low if low_open else value < low):
        raise ConfigurationError(name, value, f"must be {'>' if low_open else '>='} {low}.")
    if high is not None and (value >= high if high_open else value > high):
        raise ConfigurationError(name, value, f"must be {'<' if high_open else '<='} {high}.")
    return value
