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

    def record_reward(self, decision_id: str, reward: float, time: float, kind: str,
                      event_id: str | None = None) -> None:
        """One reward event.

        ``kind`` is "reward" when the policy learned ``reward`` from delivered rewards,
        "expired" or "evicted" when it learned the default reward (or, for the join
        rules "sum"/"last", what had been combined so far), and "outcome" for one
        outcome that the rules "sum"/"last" combine and learn from when the decision
        closes. ``event_id`` is the caller's id of the delivery, if it gave one.
        """


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

    def record_reward(self, decision_id, reward, time, kind, event_id=None) -> None:
        self.rewards.append((decision_id, reward, time, kind) if event_id is None
                            else (decision_id, reward, time, kind, event_id))
