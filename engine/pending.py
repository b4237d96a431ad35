"""Decisions waiting for their reward, in preallocated arrays.

Feature vectors, actions, propensities, decision times and deadlines live in numpy
arrays indexed by a slot (the float columns are views of one (capacity, 4) array,
``fields``, so one kernel call fills a decision's row: see ``_kernels.choose``); a
dict maps decision_id to slot (in issue order), and a
queue of ids in issue order finds the oldest pending decision in amortised O(1)
(ids closed meanwhile are skipped lazily; the queue is rebuilt when it grows past
four times the capacity, so its memory stays bounded).
"""

from __future__ import annotations

from collections import deque

import numpy as np

__all__ = ["PendingStore", "FIELDS"]

#: The columns of ``PendingStore.fields``, in order.
FIELDS = ("propensity", "time", "deadline", "accumulated")


class PendingStore:
    """Bounded store of pending decisions.

    Examples
    --------
    >>> import numpy as np
    >>> store = PendingStore(capacity=2, n_features=3)
    >>> slot = store.add("d-1", np.ones(3), action=2, propensity=0.5, time=0.0, deadline=np.inf)
    >>> store.X[slot].tolist(), int(store.action[slot]), len(store), store.oldest()
    ([1.0, 1.0, 1.0], 2, 1, 'd-1')
    >>> store.pop("d-1") == slot, len(store)
    (True, 0)
    """

    def __init__(self, capacity: int, n_features: int) -> None:
        self.capacity = capacity
        self.X = np.zeros((capacity, n_features))
        self.action = np.zeros(capacity, dtype=np.int64)
        self.fields = np.zeros((capacity, len(FIELDS)))
        self.propensity, self.time, self.deadline, self.accumulated = (self.fields[:, j] for j in range(len(FIELDS)))
        # accumulated: the combined reward so far (join rules "sum" and "last")
        self.n_outcomes = np.zeros(capacity, dtype=np.int64)
        #: the slots not in use, the next one to fill last (the engine's hot path pops and appends
        #: it directly; the list object is never rebound)
        self.free_slots = list(range(capacity - 1, -1, -1))
        self.index: dict[str, int] = {}
        self._order: deque[str] = deque()
        self._order_limit = 4 * capacity + 16  # closed ids the queue may hold before it is rebuilt

    def __len__(self) -> int:
        return len(self.index)

    def __contains__(self, decision_id) -> bool:
        return decision_id in self.index

    @property
    def full(self) -> bool:
        return not self.free_slots

    def get(self, decision_id) -> int | None:
        return self.index.get(decision_id)

    def add(self, decision_id: str, x, action: int, propensity: float, time: float, deadline: float) -> int:
        slot = self.reserve()
        if slot is None:
            raise IndexError(f"the pending store is full ({self.capacity} decisions)")
        self.X[slot] = x
        self.action[slot] = action
        self.fields[slot] = (propensity, time, deadline, 0.0)
        self.n_outcomes[slot] = 0
        self.register(decision_id, slot)
        return slot

    def reserve(self) -> int | None:
        """A free slot, for the caller to fill (all of its row) and then :meth:`register`;
        None when the store is :attr:`full`."""
        free = self.free_slots
        return free.pop() if free else None

    def register(self, decision_id: str, slot: int) -> None:
        """Make the filled ``slot`` (from :meth:`reserve`) the pending decision ``decision_id``."""
        self.index[decision_id] = slot
        order = self._order
        order.append(decision_id)
        if len(order) > self._order_limit:
            self._order = deque(self.index)

    def add_batch(self, decision_ids: list[str], X: np.ndarray, actions: np.ndarray, propensities: np.ndarray,
                  times: np.ndarray, deadlines: np.ndarray) -> np.ndarray:
        """:meth:`add` for n decisions at once (ids must be new); returns their slots in order."""
        n = len(decision_ids)
        free = self.free_slots
        slots = np.array(free[len(free) - n:][::-1], dtype=np.int64)
        del free[len(free) - n:]
        self.X[slots] = X
        self.action[slots] = actions
        self.propensity[slots] = propensities
        self.time[slots] = times
        self.deadline[slots] = deadlines
        self.accumulated[slots] = 0.0
        self.n_outcomes[slots] = 0
        self.index.update(zip(decision_ids, slots.tolist()))
        self._order.extend(decision_ids)
        self._bound_order()
        return slots

    def _bound_order(self) -> None:
        """Rebuild the issue-order queue from the pending ids once closed ids fill most of it."""
        if len(self._order) > self._order_limit:
            self._order = deque(self.index)

    def pop_batch(self, decision_ids: list[str]) -> None:
        """:meth:`pop` for several pending ids."""
        pop = self.index.pop
        self.free_slots.extend([pop(i) for i in decision_ids])

    def pop(self, decision_id: str) -> int:
        """Remove ``decision_id`` and return its slot; the slot's rows stay readable until reused."""
        slot = self.index.pop(decision_id)
        self.free_slots.append(slot)
        return slot

    def oldest(self) -> str:
        order, index = self._order, self.index
        while order[0] not in index:
            order.popleft()
        return order[0]

    def slots(self) -> np.ndarray:
        return np.fromiter(self.index.values(), dtype=np.int64, count=len(self.index))
