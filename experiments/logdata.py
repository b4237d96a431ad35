"""Logged bandit data: read the event log into arrays, and convert to and from VW's DSJSON.

:func:`read_log` streams an event log (``omnibandit.engine.eventlog``, schema v1) of any
size in chunks of :class:`LoggedBandit` (a dataclass of arrays), with each decision's
reward joined from the log's closing reward event. A malformed line raises
:class:`LogFormatError` naming the file and line, or with ``on_error="skip"`` is skipped
and counted on the :class:`LogReader`.

:func:`to_dsjson` writes Vowpal Wabbit's decision-service JSON (one line per rewarded
decision: ``_label_cost`` = -reward, ``_label_probability``, ``_labelIndex``, ``a``
(1-based positions in ``c._multi``, chosen first), ``p`` (probabilities in ``a``'s order),
shared features under ``c.x``), so ``vw --dsjson --cb_explore_adf`` reads our logs;
:func:`read_dsjson` reads such logs back into a :class:`LoggedBandit`.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from omnibandit.engine.errors import ConfigurationError, OmnibanditError

__all__ = ["LoggedBandit", "LogReader", "LogFormatError", "read_log", "load_log", "to_dsjson", "read_dsjson"]


class LogFormatError(OmnibanditError, ValueError):
    """A log line is not valid JSON or lacks a required field."""


@dataclasses.dataclass(frozen=True)
class LoggedBandit:
    """n logged decisions as arrays.

    Attributes
    ----------
    decision_ids : ndarray of str, (n,)
    times : (n,) float
    X : (n, d) float — the featurised contexts
    actions : (n,) int — indices of the chosen actions
    propensities : (n,) float — logged probability of the chosen action
    probabilities : (n, K) float — the logging policy's full vectors
    rewards : (n,) float — joined reward (NaN where none was logged)
    rewarded : (n,) bool
    touchpoints : (n,) str
    action_names : tuple of str

    Examples
    --------
    >>> import numpy as np
    >>> data = LoggedBandit(np.array(["a"]), np.zeros(1), np.ones((1, 2)), np.array([1]), np.array([0.5]),
    ...                     np.array([[0.5, 0.5]]), np.array([1.0]), np.array([True]), np.array(["web"]), ("x", "y"))
    >>> len(data), data.n_actions
    (1, 2)
    """

    decision_ids: np.ndarray
    times: np.ndarray
    X: np.ndarray
    actions: np.ndarray
    propensities: np.ndarray
    probabilities: np.ndarray
    rewards: np.ndarray
    rewarded: np.ndarray
    touchpoints: np.ndarray
    action_names: tuple[str, ...]

    def __len__(self) -> int:
        return int(self.actions.shape[0])

    @property
    def n_actions(self) -> int:
        return int(self.probabilities.shape[1])

    def only_rewarded(self) -> "LoggedBandit":
        """The decisions that have a joined reward."""
        keep = self.rewarded
        return dataclasses.replace(self, **{f.name: getattr(self, f.name)[keep] for f in dataclasses.fields(self)
                                            if f.name != "action_names"})

    @classmethod
    def concatenate(cls, parts: list["LoggedBandit"]) -> "LoggedBandit":
        if not parts:
            raise ConfigurationError("parts", 0, "nothing to concatenate: the log has no decisions.")
        return cls(**{f.name: (parts[0].action_names if f.name == "action_names"
                               else np.concatenate([getattr(p, f.name) for p in parts]))
                      for f in dataclasses.fields(cls)})


class LogReader:
    """Streams an event log in chunks; counts lines read, skipped and decisions without reward.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "e.jsonl")
    >>> _ = open(path, "w").write("not json\\n")
    >>> reader = LogReader(path, on_error="skip")
    >>> list(reader.chunks()), reader.skipped
    ([], 1)
    """

    def __init__(self, path, *, chunk_size: int = 100_000, on_error: str = "raise") -> None:
        if on_error not in ("raise", "skip"):
            raise ConfigurationError("on_error", on_error, "must be 'raise' or 'skip'.")
        if not (isinstance(chunk_size, int) and chunk_size >= 1):
            raise ConfigurationError("chunk_size", chunk_size, "must be an int >= 1.")
        self.path = Path(path)
        self.chunk_size = chunk_size
        self.on_error = on_error
        self.lines = 0
        self.skipped = 0
        self.skipped_lines: list[int] = []
        self.unrewarded = 0

    def _events(self):
        with open(self.path, "rb") as f:
            for number, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    event = json.loads(line)
                    if not isinstance(event, dict):
                        raise TypeError(f"a JSON {type(event).__name__}, not an object")
                    if event.get("v") != 1 or event["type"] not in ("decision", "reward", "schema"):
                        raise KeyError("v/type")
                    if event["type"] == "decision":
                        for key in ("decision_id", "x", "action_index", "propensity", "probabilities", "eligible"):
                            event[key]  # noqa: B018 - presence check
                        if not 0 < float(event["propensity"]) <= 1:
                            raise ValueError("propensity outside (0, 1]")
                    elif event["type"] == "reward":
                        event["decision_id"], float(event["reward"]), event["kind"]
                    else:
                        list(event["actions"]), list(event["features"])
                except (ValueError, KeyError, TypeError) as err:
                    if self.on_error == "raise":
                        raise LogFormatError(f"{self.path}:{number}", line[:80].decode(errors="replace"),
                                             f"is not a valid event ({err!r}); pass on_error='skip' to skip and count "
                                             f"such lines.") from None
                    self.skipped += 1
                    self.skipped_lines.append(number)
                    continue
                self.lines += 1
                yield event

    def chunks(self) -> Iterator[LoggedBandit]:
        """Chunks of at most ``chunk_size`` decisions, in log order, rewards joined.

        Two passes over the file: the first collects each decision's closing reward
        (the event the policy learned from), the second streams the decisions.
        """
        rewards: dict[str, float] = {}
        self.feature_names = None
        names = None
        for event in self._events():
            if event["type"] == "reward" and event["kind"] != "outcome":
                rewards[event["decision_id"]] = float(event["reward"])
            elif event["type"] == "schema" and names is None:
                names, self.feature_names = tuple(event["actions"]), tuple(event["features"])
        self.lines = 0
        self.skipped, self.skipped_lines = 0, []
        rows: list[dict] = []
        for event in self._events():
            if event["type"] != "decision":
                continue
            rows.append(event)
            if len(rows) == self.chunk_size:
                chunk, names = self._chunk(rows, rewards, names)
                rows = []
                yield chunk
        if rows:
            yield self._chunk(rows, rewards, names)[0]

    def _chunk(self, rows, rewards, names):
        n = len(rows)
        k = len(rows[0]["probabilities"])
        if names is None:
            known = {}
            for row in rows:
                known[row["action_index"]] = row["action"]
            names = tuple(known.get(i, f"action_{i}") for i in range(k))
        ids = np.array([r["decision_id"] for r in rows])
        joined = np.array([rewards.get(i, np.nan) for i in ids.tolist()])
        rewarded = ~np.isnan(joined)
        self.unrewarded += int((~rewarded).sum())
        data = LoggedBandit(
            decision_ids=ids, times=np.array([float(r["time"]) for r in rows]),
            X=np.array([r["x"] for r in rows], dtype=np.float64),
            actions=np.array([r["action_index"] for r in rows], dtype=np.int64),
            propensities=np.array([r["propensity"] for r in rows], dtype=np.float64),
            probabilities=np.array([r["probabilities"] for r in rows], dtype=np.float64).reshape(n, k),
            rewards=joined, rewarded=rewarded, touchpoints=np.array([str(r["touchpoint"]) for r in rows]),
            action_names=names)
        return data, names


def read_log(path, *, chunk_size: int = 100_000, on_error: str = "raise") -> Iterator[LoggedBandit]:
    """Stream the event log at ``path`` in chunks (see :class:`LogReader`)."""
    return LogReader(path, chunk_size=chunk_size, on_error=on_error).chunks()


def load_log(path, *, on_error: str = "raise") -> LoggedBandit:
    """The whole event log as one :class:`LoggedBandit`."""
    return LoggedBandit.concatenate(list(read_log(path, on_error=on_error)))


def to_dsjson(data: LoggedBandit, path, *, feature_names=None) -> int:
    """Write the rewarded decisions of ``data`` as VW DSJSON lines; returns how many were written."""
    names = feature_names or [f"x{i}" for i in range(data.X.shape[1])]
    written = 0
    with open(path, "w") as f:
        for i in np.flatnonzero(data.rewarded):
            probs = data.probabilities[i]
            order = [int(data.actions[i])] + [k for k in np.flatnonzero(probs > 0).tolist() if k != data.actions[i]]
            line = {
                "_label_cost": -float(data.rewards[i]), "_label_probability": float(data.propensities[i]),
                "_label_Action": 1 + int(data.actions[i]),
                "_labelIndex": int(data.actions[i]),
                "o": [{"v": float(data.rewards[i]), "EventId": str(data.decision_ids[i]), "ActionTaken": False}],
                "Timestamp": _iso(float(data.times[i])), "Version": "1", "EventId": str(data.decision_ids[i]),
                "VWState": {"m": "N/A"},
                "a": [k + 1 for k in order], "p": [float(probs[k]) for k in order],
                "c": {"x": {n: float(v) for n, v in zip(names, data.X[i].tolist())},
                      "_multi": [{"a": {"id": data.action_names[k]}} for k in range(data.n_actions)]},
            }
            f.write(json.dumps(line, separators=(",", ":")) + "\n")
            written += 1
    return written


def read_dsjson(path, *, feature_names=None) -> LoggedBandit:
    """Read VW DSJSON (ours or VW's decision service) into a :class:`LoggedBandit`.

    Shared features under ``c`` are flattened (nested namespaces joined with ".") into
    columns in ``feature_names`` order (default: the order they are first seen in the file).
    """
    records = []
    with open(path) as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                event = json.loads(line)
                a = [int(v) - 1 for v in event["a"]]
                p = [float(v) for v in event["p"]]
                k = len(event["c"]["_multi"])
                chosen = int(event["_labelIndex"]) if "_labelIndex" in event else int(event["_label_Action"]) - 1
                shared = _flatten({key: v for key, v in event["c"].items() if key != "_multi"})
                records.append((str(event.get("EventId", number)), _seconds(event.get("Timestamp")), shared,
                                chosen, float(event["_label_probability"]), a, p, k, -float(event["_label_cost"]),
                                [m.get("a", {}).get("id", f"action_{j}") if isinstance(m.get("a"), dict)
                                 else f"action_{j}" for j, m in enumerate(event["c"]["_multi"])]))
            except (ValueError, KeyError, TypeError, AttributeError) as err:
                raise LogFormatError(f"{path}:{number}", line[:80], f"is not a DSJSON event ({err!r}).") from None
    if not records:
        raise LogFormatError(str(path), "empty", "no DSJSON events.")
    names = feature_names or list(dict.fromkeys(name for r in records for name in r[2]))
    k = max(r[7] for r in records)
    n = len(records)
    probs = np.zeros((n, k))
    X = np.zeros((n, len(names)))
    for i, r in enumerate(records):
        probs[i, r[5]] = r[6]
        X[i] = [r[2].get(name, 0.0) for name in names]
    return LoggedBandit(
        decision_ids=np.array([r[0] for r in records]), times=np.array([r[1] for r in records]), X=X,
        actions=np.array([r[3] for r in records], dtype=np.int64), propensities=np.array([r[4] for r in records]),
        probabilities=probs, rewards=np.array([r[8] for r in records]), rewarded=np.ones(n, dtype=bool),
        touchpoints=np.array([""] * n), action_names=tuple(records[0][9]))


def _iso(seconds: float) -> str:
    moment = datetime.datetime.fromtimestamp(seconds, tz=datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}Z"


def _seconds(stamp) -> float:
    if stamp is None:
        return 0.0
    if isinstance(stamp, (int, float)):
        return float(stamp)
    return datetime.datetime.fromisoformat(str(stamp).replace("Z", "+00:00")).timestamp()


def _flatten(tree, prefix=""):
    out = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, name + "."))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out[name] = float(value)
        elif isinstance(value, str):
            out[f"{name}={value}"] = 1.0
    return out
