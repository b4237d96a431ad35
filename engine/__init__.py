"""Online decisioning: schema, featurisation, ``Engine.decide`` / ``Engine.reward``.

>>> from omnibandit.engine import Engine, Context, Schema
"""

from .context import Context, ContextBatch, Decision, DecisionBatch
from .engine import Engine
from .errors import *  # noqa: F401,F403  (the exception classes are part of the API)
from .errors import __all__ as _errors
from .events import EventSink, MemorySink
from .featurise import Featuriser
from .schema import ActionSpec, FeatureSpec, Schema

__all__ = ["Engine", "Context", "ContextBatch", "Decision", "DecisionBatch", "Schema", "ActionSpec",
           "FeatureSpec", "Featuriser", "EventSink", "MemorySink", *_errors]
