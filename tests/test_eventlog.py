"""Event log properties: writer -> reader round trip, DSJSON round trip, malformed lines, schema fields."""

import json
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omnibandit.engine import Schema
from omnibandit.engine.eventlog import SCHEMA_VERSION, EventLogWriter
from omnibandit.experiments.logdata import LogFormatError, LoggedBandit, LogReader, load_log, read_dsjson, to_dsjson

NAMES = ("nothing", "coupon", "content", "message")
K = len(NAMES)
SCHEMA = Schema.from_dict({"actions": [{"name": n} for n in NAMES]})
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


@st.composite
def decisions(draw, max_n=12, d=3):
    """n logged decisions: feature rows, eligible masks, probability vectors, chosen actions, rewards."""
    n = draw(st.integers(1, max_n))
    rows = []
    for i in range(n):
        x = draw(st.lists(finite, min_size=d, max_size=d))
        eligible = np.array(draw(st.lists(st.booleans(), min_size=K, max_size=K)))
        if not eligible.any():
            eligible[draw(st.integers(0, K - 1))] = True
        weights = np.array(draw(st.lists(st.floats(0.01, 1.0), min_size=K, max_size=K))) * eligible
        probs = weights / weights.sum()
        a = int(draw(st.sampled_from(np.flatnonzero(eligible).tolist())))
        reward = draw(st.one_of(st.none(), finite))
        rows.append((f"d{i}", float(i), x, eligible, probs, a, reward))
    return rows


def _write(path, rows, durability="none"):
    with EventLogWriter(path, durability=durability) as log:
        log.bind_schema(SCHEMA)
        for decision_id, t, x, eligible, probs, a, reward in rows:
            decision = SimpleNamespace(decision_id=decision_id, time=t, action=NAMES[a], action_index=a,
                                       propensity=float(probs[a]), probabilities=probs, policy="lin_ts",
                                       policy_version=3)
            context = SimpleNamespace(touchpoint="web", stage="in_visit", market="uk", identification="app",
                                      customer_id="c1", features={"spend": x[0], "segment": "gold"})
            log.record_decision(decision, context, np.array(x), eligible)
        for decision_id, t, *_, reward in rows:
            if reward is not None:
                log.record_reward(decision_id, reward, t + 0.5, "reward", event_id=f"e-{decision_id}")


@SETTINGS
@given(rows=decisions())
def test_what_is_written_reads_back_exactly(tmp_path_factory, rows):
    path = tmp_path_factory.mktemp("log") / "events.jsonl"
    _write(path, rows)
    data = load_log(path)
    assert data.decision_ids.tolist() == [r[0] for r in rows]
    np.testing.assert_array_equal(data.X, np.array([r[2] for r in rows]))  # bit for bit
    np.testing.assert_array_equal(data.actions, [r[5] for r in rows])
    np.testing.assert_array_equal(data.probabilities, np.array([r[4] for r in rows]))
    np.testing.assert_array_equal(data.propensities, [r[4][r[5]] for r in rows])
    np.testing.assert_array_equal(data.rewarded, [r[6] is not None for r in rows])
    np.testing.assert_array_equal(data.rewards[data.rewarded], [r[6] for r in rows if r[6] is not None])
    assert np.isnan(data.rewards[~data.rewarded]).all()


@SETTINGS
@given(rows=decisions(), chunk=st.integers(1, 5))
def test_chunks_are_the_log_in_order(tmp_path_factory, rows, chunk):
    path = tmp_path_factory.mktemp("log") / "events.jsonl"
    _write(path, rows)
    reader = LogReader(path, chunk_size=chunk)
    parts = list(reader.chunks())
    assert all(len(p) <= chunk for p in parts) and sum(len(p) for p in parts) == len(rows)
    whole = LoggedBandit.concatenate(parts)
    np.testing.assert_array_equal(whole.X, load_log(path).X)
    assert reader.unrewarded == sum(r[6] is None for r in rows)


def test_every_line_carries_the_schema_version_and_the_documented_fields(tmp_path):
    path = tmp_path / "events.jsonl"
    probs = np.array([0.5, 0.5, 0.0, 0.0])
    _write(path, [("d0", 1.0, [1.0, 2.0, 3.0], np.array([True, True, False, False]), probs, 1, 2.5)])
    schema, decision, reward = (json.loads(line) for line in path.read_text().splitlines())
    assert schema["type"] == "schema" and schema["actions"] == list(NAMES)
    assert schema["v"] == decision["v"] == reward["v"] == SCHEMA_VERSION
    assert set(decision) == {"v", "type", "decision_id", "time", "touchpoint", "stage", "market", "identification",
                             "customer_id", "features", "x", "eligible", "action", "action_index", "propensity",
                             "probabilities", "policy", "policy_version"}
    assert decision["eligible"] == ["nothing", "coupon"] and decision["action"] == "coupon"
    assert decision["features"] == {"spend": 1.0, "segment": "gold"} and decision["probabilities"] == [0.5, 0.5, 0, 0]
    assert reward == {"v": 1, "type": "reward", "decision_id": "d0", "reward": 2.5, "time": 1.5, "kind": "reward",
                      "event_id": "e-d0"}


@pytest.mark.parametrize("durability", ["none", "batch", "fsync"])
def test_every_durability_mode_writes_the_same_log(tmp_path, durability):
    rows = [(f"d{i}", float(i), [float(i), 0.0, 1.0], np.ones(K, bool), np.full(K, 0.25), i % K, float(i))
            for i in range(20)]
    _write(tmp_path / "ref.jsonl", rows)
    _write(tmp_path / "log.jsonl", rows, durability)
    assert (tmp_path / "log.jsonl").read_bytes() == (tmp_path / "ref.jsonl").read_bytes()


garbage = st.sampled_from([
    "{not json", "[]", '"text"', "42", '{"v": 2, "type": "decision"}', '{"v": 1, "type": "decision"}',
    '{"v": 1, "type": "reward", "decision_id": "d0"}', '{"v": 1, "type": "lunch"}',
    ('{"v":1,"type":"decision","decision_id":"z","x":[1],"action_index":0,"propensity":0,"probabilities":[1],'
     '"eligible":["a"]}'),
])


@SETTINGS
@given(rows=decisions(max_n=6), bad=st.lists(st.tuples(st.integers(0, 20), garbage), min_size=1, max_size=4))
def test_malformed_lines_name_file_and_line_or_are_skipped_and_counted(tmp_path_factory, rows, bad):
    path = tmp_path_factory.mktemp("log") / "events.jsonl"
    _write(path, rows)
    lines = path.read_text().splitlines()
    for position, text in bad:
        lines.insert(min(position, len(lines)), text)
    path.write_text("\n".join(lines) + "\n")
    bad_numbers = [i + 1 for i, line in enumerate(lines) if line in {t for _, t in bad}]
    with pytest.raises(LogFormatError, match=rf"events.jsonl:{bad_numbers[0]}\b"):
        load_log(path)
    reader = LogReader(path, on_error="skip")
    good = LoggedBandit.concatenate(list(reader.chunks()))
    assert reader.skipped == len(bad) and reader.skipped_lines == bad_numbers
    np.testing.assert_array_equal(good.X, np.array([r[2] for r in rows]))


@SETTINGS
@given(rows=decisions())
def test_dsjson_round_trip(tmp_path_factory, rows):
    folder = tmp_path_factory.mktemp("log")
    _write(folder / "events.jsonl", rows)
    data = load_log(folder / "events.jsonl")
    written = to_dsjson(data, folder / "events.dsjson")
    assert written == int(data.rewarded.sum())
    if written == 0:
        return
    back = read_dsjson(folder / "events.dsjson")  # shared features come back as c.x.x0, c.x.x1, ...
    kept = data.only_rewarded()
    assert back.action_names == NAMES and back.decision_ids.tolist() == kept.decision_ids.tolist()
    for name in ("X", "actions", "propensities", "probabilities", "rewards"):
        np.testing.assert_array_equal(getattr(back, name), getattr(kept, name))


def test_a_malformed_dsjson_line_names_file_and_line(tmp_path):
    path = tmp_path / "theirs.dsjson"
    path.write_text('{"_label_cost": 0}\n')
    with pytest.raises(LogFormatError, match=r"theirs.dsjson:1"):
        read_dsjson(path)


def test_reader_settings_are_checked(tmp_path):
    with pytest.raises(ValueError, match="on_error"):
        LogReader(tmp_path / "x", on_error="ignore")
    with pytest.raises(ValueError, match="chunk_size"):
        LogReader(tmp_path / "x", chunk_size=0)
