"""The event sink interface: where the engine reports every decision and reward.

The engine calls a sink, if it has one, after each accepted decision and reward
(and for decisions closed by expiry or eviction). The JSON-lines event log is one
sink; :class:`MemorySink` keeps events in lists (tests, notebooks).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from .context import Context, ContextBatch, Decision, DecisionBatch

__all__ = ["EventSink", "MemorySink"]


class EventSink(Protocol):
    """Receives events from an :class:`~omnibandit.engine.Engine`."""

    def record_decision(self, decision: Decision, context: Context, x: np.ndarray, eligible: np.ndarray) -> None: ...

    def record_decision_batch(self, decisions: DecisionBatch, contexts: ContextBatch, X: np.ndarray,
                              eligible: np.ndarray) -> None: ...

    def record_reward(self, decision_id: str, reward: float, time: float, kind: str) -> None:
        """``kind`` is "reward" for a delivered reward, "expired" or "evicted" for a default one."""


class MemorySink:
    """Keeps every event in memory.

    Examples
    --------
    >>> sink = MemorySink()
    >>> sink.record_reward("d-1", 1.0, 5.0, "reward")
    >>> sink.rewards
    [('d-1', 1.0, 5.0, 'reward')]
    """

    def __init__(self) -> None:
        self.decisions: list[tuple] = []
        self.rewards: list[tuple] = []

    def record_decision(self, decision, context, x, eligible) -> None:
        self.decisions.append((decision, context, x.copy(), eligible.copy()))

    def record_decision_batch(self, decisions, contexts, X, eligible) -> None:
        self.decisions.append((decisions, contexts, X.copy(), eligible.copy()))

    def record_reward(self, decision_id, reward, time, kind) -> None:
        self.rewards.append((decision_id, reward, time, kind))
