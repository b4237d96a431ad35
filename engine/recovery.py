"""Replaying the event log's tail onto a snapshot.

The event log is the engine's write-ahead record: every decision and every reward
the engine accepted is an event, in the order the engine applied it. Recovery
loads the snapshot and applies the events written after it:

- a decision recomputes its probability vector with the policy as it stood (this
  advances the policy's random stream exactly as the original call did), draws the
  same uniform from the engine's draw state, checks that the draw gives the logged
  action with the logged propensity, and adds the decision to the pending store;
- an "outcome" adds to a pending decision's combined reward (join "sum"/"last");
- a "reward", "expired" or "evicted" event closes the decision and the policy
  learns the logged value.

The recovered engine therefore equals, array for array, an engine that processed
the same durable events without crashing, including its random streams. New
decision ids get a generation suffix (``<engine_id>.<generation>-<n>``), so ids that
were issued but never became durable are not reused.
"""

from __future__ import annotations

import dataclasses
import heapq
import math
from collections.abc import Iterable

import numpy as np

from . import _kernels
from .errors import RecoveryError

__all__ = ["DecisionRecord", "RewardRecord", "replay", "tail_records"]


@dataclasses.dataclass(frozen=True, slots=True)
class DecisionRecord:
    """A logged decision: its id, engine time, feature vector, eligible mask, action and propensity."""

    decision_id: str
    time: float
    x: np.ndarray
    eligible: np.ndarray
    action: int
    propensity: float


@dataclasses.dataclass(frozen=True, slots=True)
class RewardRecord:
    """A logged reward event (``kind``: reward, outcome, expired or evicted)."""

    decision_id: str
    reward: float
    time: float
    kind: str
    event_id: str | None = None


def replay(engine, records: Iterable[DecisionRecord | RewardRecord]) -> dict[str, int]:
    """Apply logged events to ``engine`` in order; returns how many of each kind were applied."""
    counts = {"decisions": 0, "rewards": 0, "outcomes": 0, "expired": 0, "evicted": 0}
    probs = np.empty(engine.n_actions)
    for record in records:
        if isinstance(record, DecisionRecord):
            _replay_decision(engine, record, probs)
            counts["decisions"] += 1
        else:
            kind = _replay_reward(engine, record)
            counts["outcomes" if kind == "outcome" else "rewards" if kind == "reward" else kind] += 1
    return counts


def _replay_decision(engine, record: DecisionRecord, probs: np.ndarray) -> None:
    if record.decision_id in engine.pending.index or record.decision_id in engine._closed:
        raise RecoveryError("decision_id", record.decision_id, "appears twice in the log.")
    x = np.ascontiguousarray(record.x, dtype=np.float64)
    eligible = np.ascontiguousarray(record.eligible, dtype=np.bool_)
    if x.shape != (engine.n_features,) or eligible.shape != (engine.n_actions,):
        raise RecoveryError("decision", record.decision_id, "its vectors do not fit this engine's schema.")
    if engine.pending.full:
        raise RecoveryError("decision", record.decision_id, "the log has no eviction before a full pending store.")
    engine.policy._probabilities_into(x, eligible, probs)
    action = int(_kernels.sample_next(probs, engine._draw_state))
    if action != record.action or not math.isclose(float(probs[action]), record.propensity, rel_tol=1e-9, abs_tol=1e-12):
        raise RecoveryError("decision", record.decision_id,
                            f"replays as action {action} with propensity {probs[action]:.6g}, but the log says "
                            f"action {record.action} with {record.propensity:.6g}: the log does not follow this snapshot.")
    deadline = record.time + engine._windows[action]
    engine.pending.add(record.decision_id, x, action, float(probs[action]), record.time, deadline)
    if engine._finite_windows and deadline < math.inf:
        heapq.heappush(engine._deadlines, (float(deadline), record.decision_id))
    if engine._has_budget:
        engine._budget[action] = max(0.0, engine._budget[action] - 1)
    engine._seq = max(engine._seq, _sequence_number(record.decision_id))
    engine.counters["decisions"] += 1


def _replay_reward(engine, record: RewardRecord) -> str:
    slot = engine.pending.get(record.decision_id)
    if slot is None:
        raise RecoveryError("decision_id", record.decision_id,
                            f"the log has a {record.kind!r} event for a decision that is not pending.")
    if record.event_id is not None:
        engine._remember_event(record.event_id)
    if record.kind == "outcome":
        engine.pending.accumulated[slot] = engine._combined(slot, record.reward)
        engine.pending.n_outcomes[slot] += 1
        engine.counters["outcomes"] += 1
        return "outcome"
    if record.kind not in ("reward", "expired", "evicted"):
        raise RecoveryError("kind", record.kind, "must be reward, outcome, expired or evicted.")
    engine._learn(record.decision_id, slot, record.reward)
    engine._remember(record.decision_id, "rewarded" if record.kind == "reward" else record.kind)
    engine.counters["rewards" if record.kind == "reward" else record.kind] += 1
    return record.kind


def _sequence_number(decision_id: str) -> int:
    try:
        return int(decision_id.rsplit("-", 1)[1])
    except (IndexError, ValueError):
        return 0


def tail_records(log, offset: int, action_names=None):
    """Recovery records of ``log`` (a :class:`MemorySink` or an event-log path) from ``offset``."""
    if hasattr(log, "records"):
        return log.records(offset)
    from .eventlog import recovery_records

    return recovery_records(log, offset, action_names)
