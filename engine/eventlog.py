"""The append-only JSON-lines event log: the engine's write-ahead record.

Attach it as the engine's event sink and every decision and reward becomes one line::

    log = EventLogWriter("events.jsonl", durability="fsync")
    engine = Engine.for_policy(schema, "lin_ts", event_sink=log)

Schema version 1 (every line has ``"v": 1`` and ``"type"``):

``schema``
    written when an engine attaches the log: ``actions`` (names in index order),
    ``features`` (names of the columns of ``x``), ``touchpoints``, ``stages``.
``decision``
    ``decision_id``, ``time``, ``touchpoint``, ``stage``, ``market``,
    ``identification``, ``customer_id`` (null when anonymous), ``features`` (the
    raw features as given, or null for batch rows), ``x`` (the featurised vector),
    ``eligible`` (names of the eligible actions), ``action``, ``action_index``,
    ``propensity``, ``probabilities`` (over all K actions, zero off ``eligible``),
    ``policy``, ``policy_version``.
``reward``
    ``decision_id``, ``reward``, ``time``, ``kind`` ("reward": the policy learned
    ``reward``; "outcome": one outcome to combine (join "sum"/"last"); "expired" /
    "evicted": the decision closed without one and learned ``reward``, the default),
    ``event_id`` (the caller's delivery id, or null).

Floats are written with Python's shortest round-trip repr, so a feature vector
read back is bit-for-bit the one the engine used.

Durability
----------
``"fsync"``
    every event is written and fsynced before ``decide``/``reward`` returns: no
    acknowledged event is ever lost.
``"batch"``
    events are buffered and written + fsynced when ``batch_events`` are waiting or
    the oldest has waited ``batch_ms`` (checked on every event and by a background
    timer): a crash loses at most the last ``batch_events`` events or
    ``batch_ms`` milliseconds of them (plus one timer period), whichever is fewer.
``"none"``
    buffered like "batch" and written, not fsynced: the operating system decides
    when data reaches the disk (a process crash loses at most the buffer; a
    machine crash may lose more).

Examples
--------
>>> import tempfile, os
>>> from omnibandit.engine import Context, Engine, Schema
>>> path = os.path.join(tempfile.mkdtemp(), "events.jsonl")
>>> schema = Schema.from_dict({"actions": [{"name": "nothing"}, {"name": "coupon"}]})
>>> log = EventLogWriter(path, durability="fsync")
>>> engine = Engine.for_policy(schema, "linucb", seed=1, event_sink=log)
>>> engine.reward(engine.decide(Context("web", "in_visit")).decision_id, 1.0)
>>> [json.loads(line)["type"] for line in open(path)]
['schema', 'decision', 'reward']
>>> log.close()
"""

from __future__ import annotations

import json
import math
import os
import threading
import time as _time
from pathlib import Path

import numpy as np

from .errors import ConfigurationError, RecoveryError

SCHEMA_VERSION = 1
DURABILITY = ("fsync", "batch", "none")

__all__ = ["EventLogWriter", "recovery_records", "SCHEMA_VERSION", "DURABILITY"]


def _number(value):
    """JSON cannot hold NaN or infinity; the engine never logs them, but be explicit."""
    return value if math.isfinite(value) else None


class EventLogWriter:
    """Append-only JSON-lines event sink with a chosen durability.

    Parameters
    ----------
    path : str or Path
        The log file; created if missing, appended to if present. A torn last line
        (a crash in the middle of a write) is cut off first and counted in
        ``repaired_bytes``.
    durability : {"fsync", "batch", "none"}
    batch_events : int
        With "batch"/"none": write once this many events are waiting.
    batch_ms : float
        With "batch"/"none": write once the oldest waiting event is this old.
    action_names : sequence of str, optional
        Names for ``action`` and ``eligible`` (taken from the engine's decisions when
        omitted; batch decisions need them).
    """

    def __init__(self, path, *, durability: str = "batch", batch_events: int = 256, batch_ms: float = 50.0,
                 action_names=None) -> None:
        if durability not in DURABILITY:
            raise ConfigurationError("durability", durability, f"must be one of {', '.join(DURABILITY)}.")
        if not (isinstance(batch_events, int) and batch_events >= 1):
            raise ConfigurationError("batch_events", batch_events, "must be an int >= 1.")
        if not batch_ms > 0:
            raise ConfigurationError("batch_ms", batch_ms, "must be > 0.")
        self.path = Path(path)
        self.durability = durability
        self.batch_events = batch_events
        self.batch_ms = float(batch_ms)
        self.action_names = None if action_names is None else list(action_names)
        self.repaired_bytes = self._repair_tail()
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._offset = os.lseek(self._fd, 0, os.SEEK_END)
        self._buffer: list[bytes] = []
        self._oldest = 0.0
        self._lock = threading.Lock()
        self.events_written = 0
        self._closed = False
        self._timer = None
        if durability != "fsync":
            self._timer = threading.Thread(target=self._tick, name="omnibandit-eventlog", daemon=True)
            self._timer.start()

    # ------------------------------------------------------------------ EventSink
    def record_decision(self, decision, context, x, eligible) -> None:
        names = self._names(decision)
        self._append({
            "v": SCHEMA_VERSION, "type": "decision", "decision_id": decision.decision_id, "time": decision.time,
            "touchpoint": context.touchpoint, "stage": context.stage, "market": context.market,
            "identification": context.identification, "customer_id": context.customer_id,
            "features": _plain_features(context.features), "x": x.tolist(),
            "eligible": [n for n, e in zip(names, eligible.tolist()) if e],
            "action": decision.action, "action_index": decision.action_index, "propensity": decision.propensity,
            "probabilities": decision.probabilities.tolist(), "policy": decision.policy,
            "policy_version": decision.policy_version,
        })

    def record_decision_batch(self, decisions, contexts, X, eligible) -> None:
        names = self.action_names
        if names is None:
            raise ConfigurationError("action_names", None, "batch decisions need EventLogWriter(action_names=...).")
        tps = np.broadcast_to(np.asarray(contexts.touchpoint), (len(decisions),)).tolist()
        sts = np.broadcast_to(np.asarray(contexts.stage), (len(decisions),)).tolist()
        lines = []
        for i, decision_id in enumerate(decisions.decision_ids):
            a = int(decisions.actions[i])
            lines.append({
                "v": SCHEMA_VERSION, "type": "decision", "decision_id": decision_id, "time": float(decisions.time[i]),
                "touchpoint": tps[i], "stage": sts[i], "market": None, "identification": None, "customer_id": None,
                "features": None, "x": X[i].tolist(), "eligible": [n for n, e in zip(names, eligible[i].tolist()) if e],
                "action": names[a], "action_index": a, "propensity": float(decisions.propensities[i]),
                "probabilities": decisions.probabilities[i].tolist(), "policy": decisions.policy,
                "policy_version": decisions.policy_version,
            })
        self._append_many(lines)

    def record_reward(self, decision_id, reward, time, kind, event_id=None) -> None:
        self._append({"v": SCHEMA_VERSION, "type": "reward", "decision_id": decision_id, "reward": _number(reward),
                      "time": time, "kind": kind, "event_id": event_id})

    def bind_schema(self, schema) -> None:
        """Called by the engine the sink is attached to: learn the names and write a ``schema`` line."""
        from .featurise import Featuriser

        if self.action_names is None:
            self.action_names = list(schema.action_names)
        self._append({"v": SCHEMA_VERSION, "type": "schema", "actions": list(schema.action_names),
                      "features": list(Featuriser(schema).names), "touchpoints": list(schema.touchpoints),
                      "stages": list(schema.stages)})

    # ------------------------------------------------------------------ control
    def flush(self) -> None:
        """Write (and with "batch"/"fsync", fsync) everything buffered."""
        with self._lock:
            self._write_buffer(sync=self.durability != "none")

    def tell(self) -> int:
        """Byte offset just past the last written event (call :meth:`flush` first)."""
        return self._offset

    def close(self) -> None:
        """Flush and close; the writer cannot be used afterwards."""
        if self._closed:
            return
        self.flush()
        self._closed = True
        os.close(self._fd)

    def __enter__(self) -> "EventLogWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ internals
    def _names(self, decision):
        if self.action_names is None:
            raise ConfigurationError("action_names", None, "give EventLogWriter(action_names=schema.action_names).")
        return self.action_names

    def _append(self, event: dict) -> None:
        line = json.dumps(event, separators=(",", ":"), allow_nan=False).encode() + b"\n"
        with self._lock:
            if not self._buffer:
                self._oldest = _time.monotonic()
            self._buffer.append(line)
            self.events_written += 1
            if self.durability == "fsync":
                self._write_buffer(sync=True)
            elif len(self._buffer) >= self.batch_events or _time.monotonic() - self._oldest >= self.batch_ms / 1000:
                self._write_buffer(sync=self.durability == "batch")

    def _append_many(self, events: list[dict]) -> None:
        lines = [json.dumps(e, separators=(",", ":"), allow_nan=False).encode() + b"\n" for e in events]
        with self._lock:
            if not self._buffer:
                self._oldest = _time.monotonic()
            self._buffer.extend(lines)
            self.events_written += len(lines)
            if self.durability == "fsync" or len(self._buffer) >= self.batch_events:
                self._write_buffer(sync=self.durability != "none")

    def _write_buffer(self, *, sync: bool) -> None:
        if self._buffer and not self._closed:
            data = b"".join(self._buffer)
            view = memoryview(data)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
            self._offset += len(data)
            self._buffer.clear()
            if sync:
                os.fsync(self._fd)

    def _tick(self) -> None:
        period = self.batch_ms / 2000
        while not self._closed:
            _time.sleep(period)
            with self._lock:
                if self._buffer and _time.monotonic() - self._oldest >= self.batch_ms / 1000:
                    self._write_buffer(sync=self.durability == "batch")

    def _repair_tail(self) -> int:
        if not self.path.exists():
            return 0
        with open(self.path, "rb+") as f:
            size = f.seek(0, os.SEEK_END)
            if size == 0:
                return 0
            f.seek(max(0, size - 1))
            if f.read(1) == b"\n":
                return 0
            step, end = 4096, size
            while end > 0:  # find the last newline
                start = max(0, end - step)
                f.seek(start)
                chunk = f.read(end - start)
                cut = chunk.rfind(b"\n")
                if cut >= 0:
                    keep = start + cut + 1
                    break
                end = start
            else:
                keep = 0
            f.truncate(keep)
            f.flush()
            os.fsync(f.fileno())
            return size - keep


def _plain_features(features):
    if features is None:
        return None
    if isinstance(features, np.ndarray):
        return features.tolist()
    return {str(k): (v if isinstance(v, (str, int, float, bool)) or v is None else str(v)) for k, v in features.items()}


def recovery_records(path, offset: int = 0, action_names=None):
    """Recovery records (see :mod:`omnibandit.engine.recovery`) of the log at ``path`` from byte ``offset``.

    A torn last line (no newline: the write never completed, so it was never
    acknowledged) is ignored; any other unreadable line raises :class:`RecoveryError`
    naming the file and line.
    """
    from .recovery import DecisionRecord, RewardRecord

    with open(path, "rb") as f:
        f.seek(offset)
        for number, line in enumerate(f, start=1):
            if not line.endswith(b"\n"):
                return
            try:
                event = json.loads(line)
                if event["type"] == "decision":
                    eligible = np.zeros(len(event["probabilities"]), dtype=np.bool_)
                    index = {n: i for i, n in enumerate(action_names)} if action_names is not None else None
                    if index is None:
                        eligible[[i for i, p in enumerate(event["probabilities"]) if p > 0]] = True
                    else:
                        eligible[[index[n] for n in event["eligible"]]] = True
                    yield DecisionRecord(event["decision_id"], float(event["time"]),
                                         np.asarray(event["x"], dtype=np.float64), eligible,
                                         int(event["action_index"]), float(event["propensity"]))
                elif event["type"] == "schema":
                    continue
                elif event["type"] == "reward":
                    yield RewardRecord(event["decision_id"], float(event["reward"]), float(event["time"]),
                                       event["kind"], event.get("event_id"))
                else:
                    raise KeyError("type")
            except (ValueError, KeyError, TypeError) as err:
                raise RecoveryError(f"{path}:{number} (after byte {offset})", line[:80].decode(errors="replace"),
                                    f"is not a valid event: {err!r}.") from None
