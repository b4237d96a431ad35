"""Kill a serving process with SIGKILL at random points, recover, and account for every event."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from omnibandit.engine import Engine
from test_recovery import assert_same_engine

WORKER = Path(__file__).with_name("crash_worker.py")
KILLS = 20


def test_no_durable_event_is_lost_or_applied_twice(tmp_path):
    rng = np.random.default_rng(2026)
    acknowledged: set[str] = set()
    for _ in range(KILLS):
        proc = subprocess.Popen([sys.executable, str(WORKER), str(tmp_path), "7"], stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(float(rng.uniform(0.05, 0.4)))
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate()
        lines = out.split("\n")
        acknowledged.update(line for line in lines[:-1] if line)  # the last piece may be cut mid-line
        assert proc.returncode == -signal.SIGKILL

    events = []
    raw = (tmp_path / "events.jsonl").read_bytes()
    for line in raw.split(b"\n")[:-1]:
        events.append(json.loads(line))
    decisions = [e["decision_id"] for e in events if e["type"] == "decision"]
    closes = [e["decision_id"] for e in events if e["type"] == "reward" and e["kind"] != "outcome"]
    # every acknowledged decision is durable; nothing is logged twice
    assert acknowledged <= set(decisions), sorted(acknowledged - set(decisions))[:5]
    assert len(decisions) == len(set(decisions)) > 200
    assert len(closes) == len(set(closes)) and set(closes) <= set(decisions)

    recovered = Engine.recover(tmp_path / "engine.snap", tmp_path / "events.jsonl")
    reference = Engine.recover(tmp_path / "initial.snap", tmp_path / "events.jsonl")  # the whole log, never crashed
    assert_same_engine(reference, recovered)
    stats = recovered.stats
    assert stats["decisions"] == len(decisions)
    assert recovered.policy.version == len(closes), "each durable reward or close applied exactly once"
    assert stats["pending"] == len(decisions) - len(closes)
    assert stats["expired"] > 0 and stats["evicted"] > 0 and stats["rewards"] > 0
