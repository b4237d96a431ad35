"""The event-log writer's durability modes, tail repair, and the recovery reader."""

import json
import time

import numpy as np
import pytest

from omnibandit.engine import Engine
from omnibandit.engine.errors import ConfigurationError, RecoveryError
from omnibandit.engine.eventlog import EventLogWriter, recovery_records
from test_engine import SCHEMA, FakeClock, ctx


def lines(path):
    return [json.loads(x) for x in path.read_bytes().split(b"\n") if x]


def test_fsync_mode_writes_every_event_before_the_call_returns(tmp_path):
    log = EventLogWriter(tmp_path / "e.jsonl", durability="fsync")
    engine = Engine.for_policy(SCHEMA, "linucb", seed=0, clock=FakeClock(), event_sink=log)
    d = engine.decide(ctx())
    assert [e["type"] for e in lines(tmp_path / "e.jsonl")] == ["schema", "decision"]
    assert lines(tmp_path / "e.jsonl")[0]["actions"] == list(SCHEMA.action_names)
    engine.reward(d.decision_id, 3.0, event_id="abc")
    event = lines(tmp_path / "e.jsonl")[-1]
    assert event == {"v": 1, "type": "reward", "decision_id": d.decision_id, "reward": 3.0, "time": 0.0,
                     "kind": "reward", "event_id": "abc"}
    logged = lines(tmp_path / "e.jsonl")[1]
    assert logged["probabilities"] == d.probabilities.tolist() and logged["action"] == d.action
    assert logged["features"]["segment"] == "loyal" and logged["touchpoint"] == "mobile_app"
    assert set(logged["eligible"]) == {"nothing", "app_coupon", "basket_offer"}


def test_batch_mode_bounds_what_is_unwritten_by_count_and_time(tmp_path):
    log = EventLogWriter(tmp_path / "e.jsonl", durability="batch", batch_events=10, batch_ms=100)
    engine = Engine.for_policy(SCHEMA, "linucb", seed=0, clock=FakeClock(), event_sink=log)
    for _ in range(8):                                # + the schema line: 9 events waiting
        engine.decide(ctx())
    assert lines(tmp_path / "e.jsonl") == []          # 9 < 10 waiting, younger than 100 ms
    engine.decide(ctx())
    assert len(lines(tmp_path / "e.jsonl")) == 10     # the 10th event writes the batch
    engine.decide(ctx())
    time.sleep(0.3)                                   # the timer writes what waited > 100 ms
    assert len(lines(tmp_path / "e.jsonl")) == 11
    log.close()


def test_a_torn_last_line_is_cut_off_when_the_log_is_reopened(tmp_path):
    path = tmp_path / "e.jsonl"
    log = EventLogWriter(path, durability="fsync")
    engine = Engine.for_policy(SCHEMA, "linucb", seed=0, clock=FakeClock(), event_sink=log)
    engine.decide(ctx())
    log.close()
    with open(path, "ab") as f:
        f.write(b'{"v":1,"type":"decision","decis')
    assert len(list(recovery_records(path, 0, SCHEMA.action_names))) == 1  # the reader ignores it too
    reopened = EventLogWriter(path, durability="fsync")
    assert reopened.repaired_bytes == len(b'{"v":1,"type":"decision","decis')
    assert path.read_bytes().endswith(b"}\n") and len(lines(path)) == 2
    reopened.close()


def test_a_malformed_complete_line_names_file_and_line(tmp_path):
    path = tmp_path / "e.jsonl"
    path.write_bytes(b'{"v":1,"type":"reward","decision_id":"a","reward":1,"time":0,"kind":"reward"}\nnot json\n')
    with pytest.raises(RecoveryError, match=r"e.jsonl:2"):
        list(recovery_records(path, 0))


def test_logged_feature_vectors_round_trip_bit_for_bit(tmp_path):
    path = tmp_path / "e.jsonl"
    log = EventLogWriter(path, durability="none", batch_events=1000)
    engine = Engine.for_policy(SCHEMA, "lin_ts", seed=0, clock=FakeClock(), event_sink=log)
    rng = np.random.default_rng(0)
    xs = []
    for _ in range(50):
        d = engine.decide(ctx(features={"spend_90d": float(rng.uniform(0, 5000)), "satisfaction": float(rng.uniform(1, 5))}))
        xs.append(engine.pending.X[engine.pending.index[d.decision_id]].copy())
    log.flush()
    records = list(recovery_records(path, 0, SCHEMA.action_names))
    for record, x in zip(records, xs):
        assert np.array_equal(record.x, x)


def test_invalid_writer_settings_are_refused(tmp_path):
    with pytest.raises(ConfigurationError, match="durability"):
        EventLogWriter(tmp_path / "e.jsonl", durability="sometimes")
    with pytest.raises(ConfigurationError, match="batch_events"):
        EventLogWriter(tmp_path / "e.jsonl", batch_events=0)
