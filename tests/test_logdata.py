"""Reading the event log into arrays, malformed lines, and DSJSON both ways (VW reads our export)."""

import numpy as np
import pytest

from omnibandit.engine import Engine
from omnibandit.engine.eventlog import EventLogWriter
from omnibandit.experiments.logdata import LogFormatError, LogReader, load_log, read_dsjson, read_log, to_dsjson
from test_engine import SCHEMA, FakeClock, ctx


@pytest.fixture
def logged(tmp_path):
    path = tmp_path / "events.jsonl"
    log = EventLogWriter(path, durability="none")
    clock = FakeClock()
    engine = Engine.for_policy(SCHEMA, "lin_ts", seed=4, clock=clock, event_sink=log, attribution_window=30)
    rng = np.random.default_rng(0)
    truth = {}
    for i in range(60):
        clock.now += 1
        d = engine.decide(ctx(features={"spend_90d": float(rng.uniform(0, 5000))}))
        truth[d.decision_id] = (engine.pending.X[engine.pending.index[d.decision_id]].copy(), d)
        if i % 3:
            engine.reward(d.decision_id, float(i))
    clock.now += 100
    engine.expire()
    log.close()
    return path, truth


def test_the_log_reads_back_into_arrays_with_rewards_joined(logged):
    path, truth = logged
    data = load_log(path)
    assert len(data) == 60 and data.action_names == SCHEMA.action_names
    for i, decision_id in enumerate(data.decision_ids.tolist()):
        x, d = truth[decision_id]
        assert np.array_equal(data.X[i], x)
        assert data.actions[i] == d.action_index and data.propensities[i] == d.propensity
        assert np.array_equal(data.probabilities[i], d.probabilities)
    # every third decision expired and learned the default reward 0; the others their reward
    np.testing.assert_array_equal(data.rewards, [0.0 if i % 3 == 0 else float(i) for i in range(60)])
    assert data.rewarded.all()


def test_chunks_concatenate_to_the_whole_log(logged):
    path, _ = logged
    chunks = list(read_log(path, chunk_size=7))
    assert [len(c) for c in chunks] == [7] * 8 + [4]
    whole = load_log(path)
    joined = type(whole).concatenate(chunks)
    for name in ("X", "actions", "propensities", "rewards"):
        np.testing.assert_array_equal(getattr(joined, name), getattr(whole, name))


def test_malformed_lines_raise_with_file_and_line_or_are_skipped_and_counted(logged):
    path, _ = logged
    lines = path.read_text().splitlines()
    lines.insert(5, "{not json")
    lines.insert(9, '{"v": 1, "type": "decision", "decision_id": "x"}')
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(LogFormatError, match=r"events.jsonl:6"):
        load_log(path)
    reader = LogReader(path, on_error="skip")
    chunks = list(reader.chunks())
    assert reader.skipped == 2 and reader.skipped_lines == [6, 10]
    assert sum(len(c) for c in chunks) == 60


def test_dsjson_round_trip_and_vowpal_wabbit_reads_our_export(logged, tmp_path):
    path, _ = logged
    data = load_log(path)
    out = tmp_path / "events.dsjson"
    assert to_dsjson(data, out) == 60
    back = read_dsjson(out)
    np.testing.assert_array_equal(back.actions, data.actions)
    np.testing.assert_allclose(back.propensities, data.propensities)
    np.testing.assert_allclose(back.rewards, data.rewards)
    np.testing.assert_allclose(back.probabilities, data.probabilities)
    np.testing.assert_allclose(back.X, data.X)
    vowpalwabbit = pytest.importorskip("vowpalwabbit")
    ws = vowpalwabbit.Workspace(f"--dsjson --cb_explore_adf --quiet -d {out}")
    ws.run_parser()
    assert ws.get_weighted_examples() == 60
    ws.finish()
