"""A process that serves decisions with an fsync event log until it is killed (used by test_crash_recovery).

    python crash_worker.py DIR SEED

Starts fresh (writing DIR/initial.snap) or recovers from DIR/engine.snap + DIR/events.jsonl,
prints "ready", then decides, rewards and snapshots in a loop, printing every
decision id after the call returned (an acknowledged, durable decision).
"""

import sys
from pathlib import Path

import numpy as np

from omnibandit.engine import Context, Engine, Schema
from omnibandit.engine.eventlog import EventLogWriter

SCHEMA = Schema.from_dict({
    "actions": [{"name": "nothing"}, {"name": "coupon"}, {"name": "points", "touchpoints": ["point_of_sale"]},
                {"name": "email_offer", "touchpoints": ["email"]}],
    "features": [{"name": "spend", "low": 0, "high": 1000, "scaling": "minmax"}],
    "reward_range": [0, 1],
})


def main() -> None:
    folder, seed = Path(sys.argv[1]), int(sys.argv[2])
    snap, log = folder / "engine.snap", folder / "events.jsonl"
    writer = EventLogWriter(log, durability="fsync")
    if snap.exists():
        engine = Engine.recover(snap, log, event_sink=writer)
    else:
        engine = Engine.for_policy(SCHEMA, "lin_ts", seed=seed, attribution_window=0.2, pending_capacity=40,
                                   event_sink=writer)
        engine.snapshot(folder / "initial.snap")
        engine.snapshot(snap)
    rng = np.random.default_rng([seed, engine._generation])
    open_ids: list[str] = []
    engine.warmup()  # as a service does: compile before reporting ready
    print("ready", flush=True)
    step = 0
    while True:
        step += 1
        if rng.random() < 0.6 or not open_ids:
            tp = ("web", "email", "point_of_sale")[int(rng.integers(3))]
            d = engine.decide(Context(tp, "in_visit", features={"spend": float(rng.uniform(0, 1000))}))
            open_ids.append(d.decision_id)
            print(d.decision_id, flush=True)
        else:
            did = open_ids.pop(int(rng.integers(len(open_ids))))
            try:
                engine.reward(did, float(rng.random()), event_id=f"ev-{did}")
            except Exception:  # expired or evicted meanwhile: a documented rejection
                pass
        if step % 50 == 0:
            engine.snapshot(snap)


if __name__ == "__main__":
    main()
