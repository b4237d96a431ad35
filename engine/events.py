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
    """Keeps every event in memory, in order; also a source for :meth:`Engine.recover`.

    Examples
    --------
    >>> sink = MemorySink()
    >>> sink.record_reward("d-1", 1.0, 5.0, "reward")
    >>> sink.rewards, sink.tell()
    ([('d-1', 1.0, 5.0, 'reward')], 1)
    """

    def __init__(self) -> None:
        self.events: list[tuple] = []

    @property
    def decisions(self) -> list[tuple]:
        return [e[1:] for e in self.events if e[0] == "decision"]

    @property
    def rewards(self) -> list[tuple]:
        return [e[1:] for e in self.events if e[0] == "reward"]

    def record_decision(self, decision, context, x, eligible) -> None:
        self.events.append(("decision", decision, context, x.copy(), eligible.copy()))

    def record_decision_batch(self, decisions, contexts, X, eligible) -> None:
        self.events.append(("decision", decisions, contexts, X.copy(), eligible.copy()))

    def record_reward(self, decision_id, reward, time, kind, event_id=None) -> None:
        self.events.append(("reward", decision_id, reward, time, kind) if event_id is None
                           else ("reward", decision_id, reward, time, kind, event_id))

    def flush(self) -> None:
        """Nothing to flush: events are in memory."""

    def tell(self) -> int:
        """Position of the next event (the number recorded so far)."""
        return len(self.events)

    def records(self, start: int = 0):
        """The events from position ``start`` as recovery records, batches split into rows."""
        from .recovery import DecisionRecord, RewardRecord

        for event in self.events[start:]:
            if event[0] == "reward":
                yield RewardRecord(*event[1:])
            elif isinstance(event[1], DecisionBatch):
                batch, _, X, E = event[1:]
                for i, decision_id in enumerate(batch.decision_ids):
                    yield DecisionRecord(decision_id, float(batch.time[i]), X[i], E[i], int(batch.actions[i]),
                                         float(batch.propensities[i]))
            else:
                d, _, x, e = event[1:]
                yield DecisionRecord(d.decision_id, d.time, x, e, d.action_index, d.propensity)
