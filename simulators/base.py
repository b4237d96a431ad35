"""The one interface every environment implements.

An environment hands out contexts in batches, is told the engine's decisions, and
answers with the reward events that have become due: possibly for decisions of
earlier batches (delayed outcomes), possibly none for some decisions (replay drops
the decisions that do not match the log). The experiment loop is::

    while (contexts := env.next_batch(batch_size)) is not None:
        decisions = engine.decide_batch(contexts)
        due = env.respond(decisions)
        engine.reward_batch(due.decision_ids, due.rewards)
        engine.cancel(due.cancelled)            # decisions that will never get a reward
    due = env.flush()                           # rewards still in flight at the end
"""

from __future__ import annotations

import dataclasses
from typing import Protocol

import numpy as np

from omnibandit.engine import ContextBatch, DecisionBatch, Schema

__all__ = ["Environment", "RewardEvents"]


@dataclasses.dataclass(frozen=True)
class RewardEvents:
    """Rewards that became due, plus decisions that will never be rewarded.

    Attributes
    ----------
    decision_ids : list of str
    rewards : numpy.ndarray of shape (n,)
    times : numpy.ndarray of shape (n,)
        Engine time at which each reward arrives.
    cancelled : list of str
        Decisions to drop without learning (e.g. replay's non-matching decisions).
    outcomes : dict of str to numpy.ndarray, optional
        The raw outcomes behind ``rewards`` (e.g. trip, basket, satisfaction), each
        of shape (n,), for experiments that weigh them into their own reward.
    event_index : numpy.ndarray of int, optional
        Position in the stream (0-based, over every context handed out) of each
        rewarded decision's context, for environments that know it.

    Examples
    --------
    >>> RewardEvents.empty().decision_ids
    []
    """

    decision_ids: list[str]
    rewards: np.ndarray
    times: np.ndarray
    cancelled: list[str] = dataclasses.field(default_factory=list)
    outcomes: dict[str, np.ndarray] | None = None
    event_index: np.ndarray | None = None

    @classmethod
    def empty(cls) -> "RewardEvents":
        return cls([], np.zeros(0), np.zeros(0), [])

    def __len__(self) -> int:
        return len(self.decision_ids)


class Environment(Protocol):
    """What the experiment loop needs from a simulator or a replayed log.

    >>> from omnibandit.simulators.classification import ClassificationEnvironment
    >>> import numpy as np
    >>> env: Environment = ClassificationEnvironment(np.array([[0.0], [1.0]]), np.array([0, 1]), seed=0)
    >>> len(env.next_batch(2))
    2
    """

    schema: Schema

    def next_batch(self, n: int) -> ContextBatch | None:
        """Up to ``n`` contexts, or None when the environment is exhausted."""

    def respond(self, decisions: DecisionBatch) -> RewardEvents:
        """Take the decisions for the last batch; return the reward events now due."""

    def flush(self) -> RewardEvents:
        """Every reward still in flight (called once at the end)."""
