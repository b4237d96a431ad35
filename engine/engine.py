"""The decision engine: featurise, ask the policy, sample, remember, join rewards, learn."""

from __future__ import annotations

import heapq
import itertools
import math
import threading
import time as _time
from collections import Counter, OrderedDict
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from omnibandit.policies._numba import bind_table
from omnibandit.policies._rng import seed_state
from omnibandit.policies._validation import check_float, check_int
from omnibandit.policies.base import Policy

from . import _kernels
from .context import Context, ContextBatch, Decision, DecisionBatch
from .errors import (
    ConfigurationError,
    DuplicateReward,
    EmptyEligibleSet,
    InvalidFeatureValue,
    FeatureLengthMismatch,
    InvalidReward,
    LateReward,
    OmnibanditError,
    RewardOutOfRange,
    UnknownDecision,
)
from .featurise import Featuriser
from .pending import PendingStore
from .schema import Schema

__all__ = ["Engine"]

_REWARDED, _EXPIRED, _EVICTED, _CANCELLED = "rewarded", "expired", "evicted", "cancelled"
_new_tuple = tuple.__new__
#: How several rewards for one decision combine (see ``Engine(join=...)``).
JOIN_RULES = ("first", "sum", "last")


class Engine:
    """Online decisioning for one schema and one policy.

    ``decide`` featurises a context, asks the policy for a probability vector over the
    eligible actions, samples with the engine's own seeded generator and keeps the
    pending decision; ``reward`` joins a reward by decision_id and updates the policy
    once. Decisions whose attribution window passes are closed with
    ``default_reward``; when the pending store is full the oldest is closed the same
    way. Every rejected call raises an :class:`~omnibandit.engine.errors.OmnibanditError`,
    changes nothing and is counted in :attr:`stats`. All public methods are
    thread-safe (one lock; the kernels are short).

    Parameters
    ----------
    schema : Schema
    policy : Policy
        Must have ``n_actions == len(schema.actions)`` and ``n_features`` equal to the
        featuriser's vector length (:attr:`n_features`).
    seed : int, SeedSequence, Generator or None
        Seeds the sampling generator and the decision-id prefix.
    clock : callable returning float seconds, optional
        Engine time (default ``time.time``); inject one for tests and simulation.
    attribution_window : float or None
        Default seconds a reward may arrive after its decision (None: no limit).
        Actions may override it in the schema.
    default_reward : float
        Reward applied to a decision closed without one (expired or evicted).
    pending_capacity : int
        Most decisions kept waiting for a reward.
    event_sink : EventSink or None
        Receives every decision and reward (e.g. the event log).
    engine_id : str or None
        Prefix of decision ids (default: derived from ``seed``).
    join : {"first", "sum", "last"}
        How rewards for one decision combine. "first": the first reward is learned at
        once and a second one is a :class:`DuplicateReward`. "sum" / "last": every
        reward (outcome) inside the attribution window is combined, and the policy
        learns the sum / the last one once, when the window closes (or on
        :meth:`close`); a decision with no reward learns ``default_reward``.
    outcome_weights : mapping of outcome name to weight, optional
        Lets ``reward(decision_id, outcomes={"trip": 1, "basket": 35.0})`` compute the
        reward as the weighted sum of outcomes.

    Examples
    --------
    >>> from omnibandit.engine import Engine, Context, Schema
    >>> from omnibandit.policies import LinUCB
    >>> schema = Schema.from_dict({
    ...     "actions": [{"name": "nothing", "kind": "control"}, {"name": "coupon"}],
    ...     "features": [{"name": "spend_90d", "low": 0, "high": 1000, "scaling": "minmax"}],
    ...     "reward_range": [0, 1]})
    >>> engine = Engine.for_policy(schema, "linucb", seed=7, alpha=0.5)
    >>> d = engine.decide(Context("point_of_sale", "in_visit", customer_id="c-123",
    ...                           features={"spend_90d": 180.0}))
    >>> d.action in ("nothing", "coupon"), round(float(d.probabilities.sum()), 12)
    (True, 1.0)
    >>> engine.reward(d.decision_id, 1.0)
    >>> engine.stats["rewards"], engine.stats["pending"]
    (1, 0)
    """

    def __init__(
        self,
        schema: Schema,
        policy: Policy,
        *,
        seed=None,
        clock: Callable[[], float] | None = None,
        attribution_window: float | None = None,
        default_reward: float = 0.0,
        pending_capacity: int = 65536,
        event_sink=None,
        engine_id: str | None = None,
        join: str = "first",
        outcome_weights: Mapping[str, float] | None = None,
    ) -> None:
        if not isinstance(schema, Schema):
            raise ConfigurationError("schema", type(schema).__name__, "must be a Schema (see Schema.from_dict).")
        if not isinstance(policy, Policy):
            raise ConfigurationError("policy", type(policy).__name__, "must be an omnibandit Policy.")
        self.schema = schema
        self.featuriser = Featuriser(schema)
        self.n_actions = len(schema.actions)
        self.n_features = self.featuriser.n_features
        if policy.n_actions != self.n_actions:
            raise ConfigurationError("policy.n_actions", policy.n_actions, f"must equal the schema's {self.n_actions} actions.")
        if policy.n_features != self.n_features:
            raise ConfigurationError("policy.n_features", policy.n_features,
                                     f"must equal the featuriser's {self.n_features} columns.")
        self.policy = policy
        self.rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        self.engine_id = engine_id if engine_id is not None else f"{int(self.rng.integers(2**32)):08x}"
        self._clock = _time.time if clock is None else _float_clock(clock)
        self.default_reward = check_float("default_reward", default_reward)
        low, high = schema.reward_range
        if not low <= self.default_reward <= high:
            raise ConfigurationError("default_reward", default_reward, f"must lie in reward_range [{low}, {high}].")
        policy.check_reward(self.default_reward)
        if attribution_window is not None:
            check_float("attribution_window", attribution_window, low=0.0, low_open=True)
        self.attribution_window = attribution_window
        self._windows = np.array([
            a.attribution_window if a.attribution_window is not None
            else (attribution_window if attribution_window is not None else math.inf)
            for a in schema.actions], dtype=np.float64)
        self._finite_windows = bool(np.isfinite(self._windows).any())
        self.pending = PendingStore(check_int("pending_capacity", pending_capacity, low=1), self.n_features)
        # recently closed ids -> how (for precise errors); holds the newest _closed_capacity to 2x that many
        self._closed: dict[str, str] = {}
        self._closed_capacity = max(1024, pending_capacity)
        self._closed_limit = 2 * self._closed_capacity
        self._deadlines: list[tuple[float, str]] = []
        self.event_sink = event_sink
        if event_sink is not None and hasattr(event_sink, "bind_schema"):
            event_sink.bind_schema(schema)
        if join not in JOIN_RULES:
            raise ConfigurationError("join", join, f"must be one of {', '.join(JOIN_RULES)}.")
        self.join = join
        self._join_first = join == "first"
        self.outcome_weights = {str(k): check_float(f"outcome_weights[{k!r}]", v)
                                for k, v in dict(outcome_weights or {}).items()}
        self._seen_events: OrderedDict[str, None] = OrderedDict()
        # a finite float inside the reward range needs no further check unless the policy
        # restricts rewards itself (Beta TS); NaN fails the range comparison
        self._reward_low, self._reward_high = schema.reward_range
        self._plain_rewards = type(policy).check_reward is Policy.check_reward
        # reward() may skip the clock, outcome weights and the join rules
        self._lean_rewards = self._join_first and self._plain_rewards and not self._finite_windows
        if math.isinf(self._reward_low) or math.isinf(self._reward_high):
            self._reward_low = max(self._reward_low, -1.7976931348623157e308)
            self._reward_high = min(self._reward_high, 1.7976931348623157e308)
        self._set_generation(0)
        self._budget = np.array([a.budget if a.budget is not None else np.inf for a in schema.actions], dtype=float)
        self._has_budget = bool(np.isfinite(self._budget).any())
        self._seq = 0
        self._lock = threading.Lock()
        self._eligible = np.zeros(self.n_actions, dtype=np.bool_)
        self._probs = np.zeros(self.n_actions)
        # the uniforms of every draw (decide, decide_batch, recovery): part of the engine's state
        self._draw_state = seed_state(self.rng)
        pending = self.pending
        arrays = (self._probs, self._draw_state, self.featuriser._out, pending.X, pending.fields, pending.action,
                  pending.n_outcomes, self._windows, self.n_actions, self.n_features, pending.capacity)
        self._choose = bind_table(_kernels.choose_at, _kernels.CHOOSE_TABLE, arrays, (), (0, 0.0))
        # the policy's single-context kernels, bound to its state, the featuriser's buffer and the pending arrays
        self._probabilities = policy._bound_probabilities(self.featuriser._out, self._probs)
        self._learn_slot = policy._pending_learner(pending.X, pending.action, pending.propensity)
        self._action_names = schema.action_names
        self._schema_rows = self.featuriser._schema_rows  # touchpoint -> stage -> eligible row (or None)
        self.counters: Counter[str] = Counter()
        self.rejected: Counter[str] = Counter()

    # ------------------------------------------------------------------ construction
    @classmethod
    def for_policy(cls, schema: Schema, policy: str, *, seed=None, policy_seed=None, **params) -> "Engine":
        """An engine with a new policy ``policy`` (a registered name) sized to ``schema``.

        ``params`` are split: Engine keyword arguments go to the engine, the rest are
        the policy's hyperparameters. ``group_by="touchpoint"`` makes Beta TS keep a
        posterior per touchpoint.
        """
        engine_keys = {"clock", "attribution_window", "default_reward", "pending_capacity", "event_sink", "engine_id",
                       "join", "outcome_weights"}
        engine_args = {k: params.pop(k) for k in list(params) if k in engine_keys}
        featuriser = Featuriser(schema)
        group_by = params.pop("group_by", None)
        if group_by is not None:
            if group_by not in ("touchpoint", "stage", "market"):
                raise ConfigurationError("group_by", group_by, "must be 'touchpoint', 'stage' or 'market'.")
            block = featuriser.slices[group_by]
            params.update(group_start=block.start, group_stop=block.stop)
        from omnibandit.policies import make_policy  # the registry imports every policy module

        if policy_seed is None:
            policy_seed = np.random.SeedSequence(seed).spawn(1)[0] if not isinstance(seed, np.random.Generator) else seed
        built = make_policy(policy, n_actions=len(schema.actions), n_features=featuriser.n_features,
                            seed=policy_seed, **params)
        return cls(schema, built, seed=seed, **engine_args)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "Engine":
        """Build from a dict or OmegaConf config::

            {"schema": {...Schema.from_dict...},
             "policy": {"name": "lin_ts", "v": 0.3, ...},
             "seed": 7, "attribution_window": 86400, "default_reward": 0.0, "pending_capacity": 65536}
        """
        from .schema import _to_plain

        data = _to_plain(config)
        unknown = set(data) - {"schema", "policy", "seed", "attribution_window", "default_reward",
                               "pending_capacity", "engine_id", "join", "outcome_weights"}
        if unknown:
            raise ConfigurationError("config", sorted(unknown), "unknown keys.")
        if "schema" not in data or "policy" not in data:
            raise ConfigurationError("config", sorted(data), "needs 'schema' and 'policy'.")
        policy = dict(data.pop("policy"))
        name = policy.pop("name", None)
        if name is None:
            raise ConfigurationError("policy.name", None, "name the policy, e.g. 'linucb'.")
        schema = Schema.from_dict(data.pop("schema"))
        return cls.for_policy(schema, name, **data, **policy)

    def warmup(self) -> float:
        """Compile every kernel the engine and its policy use; returns the seconds it took.

        Call it before a service reports ready: a live request then never compiles.
        Nothing observable changes (state, counters, RNG streams).
        """
        start = _time.perf_counter()
        self.policy.warmup()
        x = np.zeros(self.n_features)
        self.featuriser._assemble(self.featuriser._raw, x, False, 0, 0, -1, -1)
        probs = np.full(self.n_actions, 1.0 / self.n_actions)
        state = self._draw_state.copy()
        _kernels.sample_next(probs, state)
        _kernels.sample_rows(probs[None, :], state, np.zeros(1, dtype=np.int64))
        return _time.perf_counter() - start

    # ------------------------------------------------------------------ the hot path
    def decide(self, context: Context) -> Decision:
        """Choose an action for ``context``; see the class docstring."""
        with self._lock:
            try:
                if not isinstance(context, Context):
                    raise InvalidFeatureValue("context", type(context).__name__, "must be an omnibandit Context.")
                featuriser = self.featuriser
                x = featuriser.transform(context)
                if context.eligible is None and not self._has_budget:
                    # the schema's set for this touchpoint and stage, read in place (transform checked both)
                    eligible = self._schema_rows[context.touchpoint][context.stage]
                    if eligible is None:
                        featuriser.schema_eligible(context)  # raises EmptyEligibleSet
                else:
                    eligible = featuriser.eligible(context, self._eligible)
                if self._has_budget:
                    eligible &= self._budget > 0
                    if not eligible.any():
                        raise _budget_exhausted(context)
                now = self._clock() if context.time is None else _check_time(context.time)
            except OmnibanditError as err:
                self.rejected[type(err).__name__] += 1
                raise
            if self._finite_windows:
                self._expire_due(now)
            pending = self.pending
            free = pending.free_slots
            if not free:  # full: the oldest decision closes (and is learned from) first, freeing its slot
                self._close(pending.oldest(), _EVICTED, now)
            slot = free.pop()
            probs = self._probs
            self._probabilities(eligible)  # from x (the featuriser's buffer) into probs
            a = self._choose(slot, now)  # draws the action and fills the pending row (x is the featuriser's buffer)
            self._seq += 1
            decision_id = f"{self._prefix}{self._seq}"
            pending.register(decision_id, slot)
            if self._finite_windows:
                deadline = pending.deadline.item(slot)
                if deadline < math.inf:
                    heapq.heappush(self._deadlines, (deadline, decision_id))
            if self._has_budget:
                self._budget[a] -= 1
            self.counters["decisions"] += 1
            policy = self.policy
            decision = _new_tuple(Decision, (decision_id, self._action_names[a], a, probs.item(a), probs.copy(),
                                             policy.name, policy.version_.item(0), now))  # Decision(...) without its __new__
            if self.event_sink is not None:
                self.event_sink.record_decision(decision, context, x, eligible)
            return decision

    def reward(self, decision_id: str, reward: float | None = None, *, outcomes: Mapping[str, float] | None = None,
               event_id: str | None = None, time: float | None = None) -> None:
        """Join a reward to the pending decision ``decision_id``.

        Give either ``reward`` or ``outcomes`` (weighted by ``outcome_weights``). With
        ``join="first"`` the policy learns at once; with "sum"/"last" the reward is
        combined and learned when the decision closes. A repeated ``event_id`` is a
        duplicate delivery: it is ignored (and counted), not an error.

        Raises
        ------
        UnknownDecision
            The engine never issued this id (or has forgotten it).
        DuplicateReward
            ``join="first"`` and the decision was already rewarded.
        LateReward
            The decision's attribution window closed (it learned the default reward).
        InvalidReward, RewardOutOfRange
            NaN, infinite, not a number, unknown outcome, or outside the reward range.
        """
        with self._lock:
            if (self._lean_rewards and type(reward) is float and outcomes is None and event_id is None and time is None
                    and self.event_sink is None and self._reward_low <= reward <= self._reward_high):
                # the common case: a plain reward learned at once, nothing logged, no window to expire
                pending = self.pending
                slot = pending.index.pop(decision_id, None) if type(decision_id) is str else None
                if slot is not None:  # PendingStore.pop and _remember, inline
                    self._learn_slot(slot, reward)  # the slot's row stays readable until it is reused
                    pending.free_slots.append(slot)
                    closed = self._closed
                    closed[decision_id] = _REWARDED
                    if len(closed) > self._closed_limit:
                        self._trim_closed()
                    self.counters["rewards"] += 1
                    return
                # not pending: the general path below names the error
            if time is not None:
                now = float(time)
            else:  # the clock is read only for expiry and the event log
                now = self._clock() if self._finite_windows or self.event_sink is not None else None
            if self._finite_windows:
                self._expire_due(now)
            try:
                if event_id is not None and not isinstance(event_id, str):
                    raise InvalidReward("event_id", event_id, "must be a string or None.")
                if event_id is not None and event_id in self._seen_events:
                    self.counters["duplicate_deliveries"] += 1
                    return
                if outcomes is None and type(reward) is float and self._plain_rewards and \
                        self._reward_low <= reward <= self._reward_high:  # the common case, checked inline
                    value = reward
                else:
                    value = self._check_reward(self._combine_outcomes(reward, outcomes))
                try:
                    slot = self.pending.index.get(decision_id)
                except TypeError:  # unhashable
                    slot = None
                if slot is None:
                    raise self._not_pending(decision_id)
                if not self._join_first:
                    combined = self._combined(slot, value)
                    self._check_reward(combined)
            except OmnibanditError as err:
                self.rejected[type(err).__name__] += 1
                raise
            if event_id is not None:
                self._remember_event(event_id)
            if self._join_first:
                self._learn(decision_id, slot, value)
                self._remember(decision_id, _REWARDED)
                self.counters["rewards"] += 1
                if self.event_sink is not None:
                    self.event_sink.record_reward(decision_id, value, now, "reward", event_id)
            else:
                self.pending.accumulated[slot] = combined
                self.pending.n_outcomes[slot] += 1
                self.counters["outcomes"] += 1
                if self.event_sink is not None:
                    self.event_sink.record_reward(decision_id, value, now, "outcome", event_id)

    def close(self, decision_id: str, *, time: float | None = None) -> None:
        """Close a pending decision now: it learns what it has (join "sum"/"last") or the default reward."""
        with self._lock:
            now = self._clock() if time is None else float(time)
            if not isinstance(decision_id, str) or decision_id not in self.pending.index:
                err = self._not_pending(decision_id)
                self.rejected[type(err).__name__] += 1
                raise err
            slot = self.pending.index[decision_id]
            self._close(decision_id, _REWARDED if self.pending.n_outcomes[slot] else _EXPIRED, now)

    # ------------------------------------------------------------------ batches
    def decide_batch(self, contexts: ContextBatch) -> DecisionBatch:
        """Decide for every row of ``contexts`` with the current model (nothing is learned between rows).

        Budgets are checked against the remaining budget at the start of the batch.
        """
        with self._lock:
            try:
                X, E = self.featuriser.transform_batch(contexts)
                if self._has_budget:
                    E &= self._budget > 0
                    if not E.any(axis=1).all():
                        raise _budget_exhausted(None)
                n = X.shape[0]
                if n > self.pending.capacity:
                    raise FeatureLengthMismatch("contexts", n, f"a batch may hold at most pending_capacity "
                                                               f"({self.pending.capacity}) contexts; split it.")
                if contexts.time is None:
                    times = np.full(n, self._clock())
                else:
                    times = np.asarray(contexts.time, dtype=np.float64).reshape(-1)
                    if times.shape != (n,) or not np.isfinite(times).all():
                        raise FeatureLengthMismatch("time", times.shape, f"must be ({n},) finite times.")
            except OmnibanditError as err:
                self.rejected[type(err).__name__] += 1
                raise
            if self._finite_windows:
                self._expire_due(float(times.max()) if n else self._clock())
            pending = self.pending
            for _ in range(max(0, len(pending) + n - pending.capacity)):  # make room before deciding
                self._close(pending.oldest(), _EVICTED, float(times[0]))
            P = np.empty((n, self.n_actions))
            self.policy._probabilities_batch_into(X, E, P)
            actions = np.empty(n, dtype=np.int64)
            _kernels.sample_rows(P, self._draw_state, actions)
            propensities = P[np.arange(n), actions]
            deadlines = times + self._windows[actions]
            start = self._seq + 1
            self._seq += n
            prefix = self._prefix
            ids = [f"{prefix}{i}" for i in range(start, start + n)]
            pending.add_batch(ids, X, actions, propensities, times, deadlines)
            if self._finite_windows:
                self._push_deadlines(ids, deadlines)
            if self._has_budget:
                self._budget -= np.bincount(actions, minlength=self.n_actions)
                np.maximum(self._budget, 0, out=self._budget)
            self.counters["decisions"] += n
            batch = DecisionBatch(ids, actions, propensities, P, self.policy.name, int(self.policy.version_[0]), times)
            if self.event_sink is not None:
                self.event_sink.record_decision_batch(batch, contexts, X, E)
            return batch

    def reward_batch(self, decision_ids, rewards, *, time: float | None = None) -> None:
        """Join rewards to pending decisions and learn from them in order, in one kernel call.

        Every row is validated first; if any is bad, nothing is applied. With the join
        rules "sum"/"last" the rows are combined one by one as :meth:`reward` does.
        """
        if self.join != "first":
            with self._lock:
                ids, values = list(decision_ids), np.asarray(rewards, dtype=np.float64).reshape(-1)
                self._check_reward_array(values)
                missing = [i for i in ids if not isinstance(i, str) or i not in self.pending.index]
                if missing or len(ids) != len(values):
                    err = (self._not_pending(missing[0]) if missing else
                           FeatureLengthMismatch("rewards", values.shape, f"must have one value per id ({len(ids)})."))
                    self.rejected[type(err).__name__] += 1
                    raise err
            for decision_id, value in zip(ids, values.tolist()):
                self.reward(decision_id, value, time=time)
            return
        with self._lock:
            now = self._clock() if time is None else float(time)
            if self._finite_windows:
                self._expire_due(now)
            ids = list(decision_ids)
            try:
                values = np.asarray(rewards, dtype=np.float64).reshape(-1)
            except (TypeError, ValueError):
                self.rejected["InvalidReward"] += 1
                raise InvalidReward("rewards", rewards, "must be real numbers.") from None
            try:
                if values.shape[0] != len(ids):
                    raise FeatureLengthMismatch("rewards", values.shape, f"must have one value per decision id ({len(ids)}).")
                self._check_reward_array(values)
                bad = next((i for i in ids if not isinstance(i, str)), None)
                if bad is not None:
                    raise UnknownDecision("decision_id", bad, "decision ids are strings.")
                get = self.pending.index.get
                slots = list(map(get, ids))
                if None in slots:
                    raise self._not_pending(ids[slots.index(None)])
                if len(set(ids)) != len(ids):
                    seen = set()
                    dup = next(i for i in ids if i in seen or seen.add(i))
                    raise DuplicateReward("decision_id", dup, "appears twice in this batch.")
            except OmnibanditError as err:
                self.rejected[type(err).__name__] += 1
                raise
            slot_arr = np.asarray(slots, dtype=np.int64)
            pending = self.pending
            self.policy._update_batch(pending.X[slot_arr], pending.action[slot_arr], values, pending.propensity[slot_arr])
            self.policy.version_[0] += len(ids)
            pending.pop_batch(ids)
            self._remember_batch(ids, _REWARDED)
            self.counters["rewards"] += len(ids)
            if self.event_sink is not None:
                for decision_id, value in zip(ids, values.tolist()):
                    self.event_sink.record_reward(decision_id, value, now, "reward")

    def cancel(self, decision_ids) -> int:
        """Drop pending decisions without learning from them (e.g. replay's non-matches).

        Unknown or already closed ids are ignored; returns how many were dropped
        (counted as ``cancelled`` in :attr:`stats`).
        """
        with self._lock:
            index = self.pending.index
            n = 0
            for decision_id in decision_ids:
                if isinstance(decision_id, str) and decision_id in index:
                    self.pending.pop(decision_id)
                    self._remember(decision_id, _CANCELLED)
                    n += 1
            self.counters[_CANCELLED] += n
            return n

    # ------------------------------------------------------------------ expiry
    def expire(self, now: float | None = None) -> int:
        """Close every decision whose attribution window has passed; returns how many closed.

        A decision with combined outcomes (join "sum"/"last") learns them and counts as
        rewarded; one without learns the default reward and counts as expired.
        """
        with self._lock:
            return self._expire_due(self._clock() if now is None else float(now))

    # ------------------------------------------------------------------ durability
    def snapshot(self, path) -> "Path":
        """Write the whole engine to ``path`` atomically (see :mod:`omnibandit.engine.snapshot`).

        Policy state, pending decisions, counters, the RNG state and the schema. If the
        event sink is a log with ``flush()`` and ``tell()``, it is flushed first and its
        offset recorded, so :meth:`recover` knows where the log's tail starts.
        """
        from .snapshot import write_snapshot

        with self._lock:
            offset = None
            sink = self.event_sink
            if sink is not None and hasattr(sink, "flush") and hasattr(sink, "tell"):
                sink.flush()
                offset = int(sink.tell())
            return write_snapshot(self, path, log_offset=offset)

    @classmethod
    def load(cls, path, *, clock=None, event_sink=None) -> "Engine":
        """The engine saved by :meth:`snapshot`; raises :class:`SnapshotError` if corrupt or incompatible."""
        from .snapshot import read_snapshot

        return read_snapshot(path, clock=clock, event_sink=event_sink)[0]

    @classmethod
    def recover(cls, snapshot, log, *, clock=None, event_sink=None) -> "Engine":
        """Load ``snapshot`` and replay the event log written after it (see :mod:`omnibandit.engine.recovery`).

        ``log`` is an event-log path or a :class:`MemorySink`; the snapshot's recorded
        log offset says where its tail starts. Raises :class:`RecoveryError` when the log
        does not follow the snapshot; never returns a half-recovered engine.
        """
        from .recovery import replay, tail_records
        from .snapshot import read_snapshot

        engine, offset = read_snapshot(snapshot, clock=clock, event_sink=None)
        replay(engine, tail_records(log, offset or 0, engine.schema.action_names))
        engine._set_generation(engine._generation + 1)
        engine.event_sink = event_sink
        if event_sink is not None and hasattr(event_sink, "bind_schema"):
            event_sink.bind_schema(engine.schema)
        return engine

    @property
    def remaining_budget(self) -> np.ndarray:
        """Decisions each action may still receive under its budget (inf: no budget); a copy."""
        with self._lock:
            return self._budget.copy()

    @property
    def stats(self) -> dict[str, Any]:
        """Counters: decisions, rewards, expired, evicted, pending, and rejected calls by error."""
        with self._lock:
            out = {"decisions": 0, "rewards": 0, "outcomes": 0, "expired": 0, "evicted": 0, "cancelled": 0,
                   "duplicate_deliveries": 0, **self.counters}
            out["pending"] = len(self.pending)
            out["rejected"] = dict(self.rejected)
            out["rejected_total"] = sum(self.rejected.values())
            return out

    # ------------------------------------------------------------------ internals
    def _check_reward(self, reward) -> float:
        if isinstance(reward, (bool, np.bool_)):
            raise InvalidReward("reward", reward, "must be a real number, not a bool.")
        try:
            value = float(reward)
        except (TypeError, ValueError):
            raise InvalidReward("reward", reward, "must be a real number.") from None
        if not math.isfinite(value):
            raise InvalidReward("reward", reward, "must be finite.")
        low, high = self.schema.reward_range
        if not low <= value <= high:
            raise RewardOutOfRange("reward", reward, f"must lie in the schema's reward_range [{low}, {high}].")
        self.policy.check_reward(value)
        return value

    def _check_reward_array(self, values: np.ndarray) -> None:
        finite = np.isfinite(values)
        if not finite.all():
            raise InvalidReward(f"rewards[{int(np.argmin(finite))}]", float(values[np.argmin(finite)]), "must be finite.")
        if values.size:
            low, high = self.schema.reward_range
            bad = (values < low) | (values > high)
            if bad.any():
                i = int(np.argmax(bad))
                raise RewardOutOfRange(f"rewards[{i}]", float(values[i]), f"must lie in [{low}, {high}].")
            self.policy.check_reward(float(values.min()))
            self.policy.check_reward(float(values.max()))

    def _combine_outcomes(self, reward, outcomes):
        if (reward is None) == (outcomes is None):
            raise InvalidReward("reward", reward, "give either a reward or outcomes, not both or neither.")
        if outcomes is None:
            return reward
        if not isinstance(outcomes, Mapping) or not outcomes:
            raise InvalidReward("outcomes", outcomes, "must be a non-empty mapping of outcome name to value.")
        total = 0.0
        for name, value in outcomes.items():
            weight = self.outcome_weights.get(name)
            if weight is None:
                raise InvalidReward("outcomes", name, f"unknown outcome; weighted outcomes: {sorted(self.outcome_weights)}.")
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)) \
                    or not math.isfinite(value):
                raise InvalidReward(f"outcomes[{name!r}]", value, "must be a finite real number.")
            total += weight * float(value)
        return total

    def _combined(self, slot: int, value: float) -> float:
        if self.join == "sum" and self.pending.n_outcomes[slot]:
            return float(self.pending.accumulated[slot]) + value
        return value

    def _set_generation(self, generation: int) -> None:
        """Decision ids are ``<engine_id>-<n>``, then ``<engine_id>.<generation>-<n>`` after a recovery."""
        self._generation = generation
        self._prefix = f"{self.engine_id}-" if generation == 0 else f"{self.engine_id}.{generation}-"

    def _remember_event(self, event_id: str) -> None:
        seen = self._seen_events
        seen[event_id] = None
        if len(seen) > 4 * self._closed_capacity:
            seen.popitem(last=False)

    def _not_pending(self, decision_id) -> OmnibanditError:
        if not isinstance(decision_id, str):
            return UnknownDecision("decision_id", decision_id, "decision ids are strings.")
        how = self._closed.get(decision_id) if isinstance(decision_id, str) else None
        if how == _REWARDED and self.join != "first":
            return LateReward("decision_id", decision_id, "was already closed; its reward was learned and this one is not applied.")
        if how == _REWARDED:
            return DuplicateReward("decision_id", decision_id, "was already rewarded; a decision learns once.")
        if how == _CANCELLED:
            return LateReward("decision_id", decision_id, "was cancelled; the reward is not applied.")
        if how in (_EXPIRED, _EVICTED):
            return LateReward("decision_id", decision_id,
                              f"was closed ({how}) with the default reward {self.default_reward}; the reward is not applied.")
        return UnknownDecision("decision_id", decision_id, "no pending decision has this id.")

    def _learn(self, decision_id: str, slot: int, value: float) -> None:
        self._learn_slot(slot, value)
        self.pending.pop(decision_id)

    def _close(self, decision_id: str, how: str, now: float) -> None:
        """Learn what a decision has when it closes: combined outcomes if any, else the default."""
        slot = self.pending.index[decision_id]
        rewarded = self.pending.n_outcomes[slot] > 0
        value = float(self.pending.accumulated[slot]) if rewarded else self.default_reward
        if rewarded and how == _EXPIRED:
            how = _REWARDED
        self._learn(decision_id, slot, value)
        self._remember(decision_id, how)
        self.counters["rewards" if how == _REWARDED else how] += 1
        if self.event_sink is not None:
            self.event_sink.record_reward(decision_id, value, now, "reward" if how == _REWARDED else how)

    def _remember(self, decision_id: str, how: str) -> None:
        self._closed[decision_id] = how
        if len(self._closed) > self._closed_limit:
            self._trim_closed()

    def _remember_batch(self, decision_ids: list[str], how: str) -> None:
        self._closed.update(dict.fromkeys(decision_ids, how))
        if len(self._closed) > self._closed_limit:
            self._trim_closed()

    def _trim_closed(self) -> None:
        """Keep the newest ``_closed_capacity`` closed ids (amortised O(1) per close)."""
        closed = self._closed
        self._closed = dict(itertools.islice(closed.items(), len(closed) - self._closed_capacity, None))

    def _push_deadlines(self, decision_ids: list[str], deadlines: np.ndarray) -> None:
        """One heap entry for a batch: (earliest deadline, its id, ids, deadlines) in deadline order."""
        finite = np.flatnonzero(deadlines < math.inf)
        if not finite.shape[0]:
            return
        order = finite[np.argsort(deadlines[finite], kind="stable")]
        chunk_ids = [decision_ids[i] for i in order.tolist()]
        heapq.heappush(self._deadlines, (float(deadlines[order[0]]), chunk_ids[0], chunk_ids, deadlines[order]))

    def _expire_due(self, now: float) -> int:
        """Close every pending decision whose deadline is <= now, in deadline order."""
        heap = self._deadlines
        index = self.pending.index
        due: list[tuple[float, str]] = []
        while heap and heap[0][0] <= now:
            entry = heapq.heappop(heap)
            if len(entry) == 2:
                if entry[1] in index:
                    due.append(entry)
                continue
            _, _, chunk_ids, deadlines = entry
            cut = int(np.searchsorted(deadlines, now, side="right"))
            due.extend((t, i) for t, i in zip(deadlines[:cut].tolist(), chunk_ids[:cut]) if i in index)
            if cut < len(chunk_ids):
                heapq.heappush(heap, (float(deadlines[cut]), chunk_ids[cut], chunk_ids[cut:], deadlines[cut:]))
        due.sort()  # close in global deadline order, as one heap of single entries would
        for _, decision_id in due:
            self._close(decision_id, _EXPIRED, now)
        return len(due)

    def _deadline_pairs(self) -> list[tuple[float, str]]:
        """The deadline heap as (deadline, decision_id) pairs (for snapshots)."""
        pairs: list[tuple[float, str]] = []
        for entry in self._deadlines:
            if len(entry) == 2:
                pairs.append((float(entry[0]), entry[1]))
            else:
                pairs.extend(zip(entry[3].tolist(), entry[2]))
        return sorted(pairs)


def _float_clock(clock: Callable[[], float]) -> Callable[[], float]:
    """``clock`` returning floats (the kernels take the time as a float)."""
    return lambda: float(clock())


def _check_time(value) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not math.isfinite(value):
        raise InvalidFeatureValue("time", value, "must be a finite number of seconds.")
    return float(value)


def _budget_exhausted(context) -> EmptyEligibleSet:
    where = "" if context is None else f" at touchpoint {context.touchpoint!r}"
    return EmptyEligibleSet("eligible", "budget", f"every eligible action{where} has used up its budget.")
