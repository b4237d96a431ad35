"""Atomic, checksummed snapshots of a whole engine.

File layout (format version 2)::

    OMNIBANDIT-SNAPSHOT\\n
    {"format_version": 2, "sha256": "<hex of payload>", "payload_bytes": N}\\n
    <payload: an uncompressed .npz archive>

The payload holds the policy's state arrays (``policy/<name>``), the pending
decisions (``pending/<column>``, in issue order), the state of the engine's draws
(``draw_state``, version 2 on) and one JSON document (``meta``):
the schema, the policy's name and hyperparameters, the engine's settings, counters,
the seeding generator's state, the recently closed decisions and delivered event
ids, the attribution deadlines, budgets and, when the engine writes an event log,
the log's byte offset at the moment of the snapshot.

The file is written to a temporary name in the same folder, flushed and fsynced,
then renamed over the target and the folder fsynced: a crash leaves either the old
snapshot or the new one, never a mix. :func:`read_snapshot` checks the magic line,
the format version, the length and the checksum, and builds the engine completely
before returning it.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from .errors import SnapshotError

MAGIC = b"OMNIBANDIT-SNAPSHOT\n"
FORMAT_VERSION = 2

__all__ = ["write_snapshot", "read_snapshot", "FORMAT_VERSION"]


def _payload(engine, log_offset: int | None) -> bytes:
    pending = engine.pending
    slots = pending.slots()
    arrays: dict[str, np.ndarray] = {f"policy/{k}": v for k, v in engine.policy.get_state().items()}
    for column in ("X", "action", "propensity", "time", "deadline", "accumulated", "n_outcomes"):
        arrays[f"pending/{column}"] = getattr(pending, column)[slots]
    arrays["budget"] = engine._budget.copy()
    arrays["draw_state"] = engine._draw_state.copy()
    meta: dict[str, Any] = {
        "schema": engine.schema.to_dict(),
        "policy": {"name": engine.policy.name, "params": engine.policy.params.as_dict()},
        "engine": {
            "attribution_window": engine.attribution_window,
            "default_reward": engine.default_reward,
            "pending_capacity": pending.capacity,
            "engine_id": engine.engine_id,
            "join": engine.join,
            "outcome_weights": engine.outcome_weights,
        },
        "generation": engine._generation,
        "seq": engine._seq,
        "rng_state": engine.rng.bit_generator.state,
        "pending_ids": list(pending.index),
        "closed": [list(item) for item in engine._closed.items()],
        "seen_events": list(engine._seen_events),
        "deadlines": [list(item) for item in engine._deadline_pairs()],
        "counters": dict(engine.counters),
        "rejected": dict(engine.rejected),
        "log_offset": log_offset,
    }
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def write_snapshot(engine, path: str | os.PathLike, *, log_offset: int | None = None) -> Path:
    """Write ``engine`` to ``path`` atomically (temporary file, fsync, rename, fsync folder)."""
    path = Path(path)
    payload = _payload(engine, log_offset)
    header = json.dumps({"format_version": FORMAT_VERSION, "sha256": hashlib.sha256(payload).hexdigest(),
                         "payload_bytes": len(payload)}).encode()
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            f.write(MAGIC)
            f.write(header + b"\n")
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return path


def read_snapshot(path: str | os.PathLike, *, clock=None, event_sink=None):
    """Build an :class:`~omnibandit.engine.Engine` from a snapshot, or raise :class:`SnapshotError`."""
    from .engine import Engine
    from .schema import Schema

    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise SnapshotError("path", str(path), f"cannot be read: {err.strerror}.") from None
    if not data.startswith(MAGIC):
        raise SnapshotError("path", str(path), "is not an omnibandit snapshot (bad magic line).")
    newline = data.find(b"\n", len(MAGIC))
    try:
        header = json.loads(data[len(MAGIC):newline])
        version, digest, size = header["format_version"], header["sha256"], header["payload_bytes"]
    except (ValueError, KeyError, TypeError):
        raise SnapshotError("header", data[len(MAGIC):newline][:80], "is not a valid snapshot header.") from None
    if version != FORMAT_VERSION:
        raise SnapshotError("format_version", version, f"this omnibandit reads format {FORMAT_VERSION}.")
    payload = data[newline + 1:]
    if len(payload) != size:
        raise SnapshotError("payload_bytes", len(payload), f"the header promises {size} bytes: the file is truncated.")
    if hashlib.sha256(payload).hexdigest() != digest:
        raise SnapshotError("sha256", hashlib.sha256(payload).hexdigest(), f"does not match the header's {digest}.")
    try:
        with np.load(io.BytesIO(payload), allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
        meta = json.loads(arrays.pop("meta").tobytes())
        engine = Engine.for_policy(Schema.from_dict(meta["schema"]), meta["policy"]["name"],
                                   clock=clock, event_sink=event_sink, **meta["engine"], **meta["policy"]["params"])
        _restore(engine, meta, arrays)
    except SnapshotError:
        raise
    except Exception as err:  # a consistent checksum over inconsistent content: refuse, whatever broke
        raise SnapshotError("payload", type(err).__name__, f"cannot be restored: {err}.") from None
    return engine, meta.get("log_offset")


def _restore(engine, meta, arrays) -> None:
    engine.policy.set_state({k.split("/", 1)[1]: v for k, v in arrays.items() if k.startswith("policy/")})
    ids = meta["pending_ids"]
    p = {k.split("/", 1)[1]: v for k, v in arrays.items() if k.startswith("pending/")}
    if len(ids) != len(p["X"]) or len(ids) > engine.pending.capacity:
        raise SnapshotError("pending", len(ids), "the pending ids and arrays disagree.")
    for i, decision_id in enumerate(ids):
        slot = engine.pending.add(decision_id, p["X"][i], int(p["action"][i]), float(p["propensity"][i]),
                                  float(p["time"][i]), float(p["deadline"][i]))
        engine.pending.accumulated[slot] = p["accumulated"][i]
        engine.pending.n_outcomes[slot] = p["n_outcomes"][i]
    engine._budget[:] = arrays["budget"]
    engine._draw_state[:] = arrays["draw_state"]
    engine._set_generation(int(meta["generation"]))
    engine._seq = int(meta["seq"])
    engine.rng.bit_generator.state = meta["rng_state"]
    engine._closed.update((k, v) for k, v in meta["closed"])
    engine._seen_events.update((k, None) for k in meta["seen_events"])
    engine._deadlines[:] = [(float(t), str(d)) for t, d in meta["deadlines"]]
    engine.counters.update(meta["counters"])
    engine.rejected.update(meta["rejected"])
