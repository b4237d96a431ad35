"""Many threads calling decide and reward at once."""

import threading
import time

import numpy as np
import pytest

from omnibandit.engine import OmnibanditError
from test_engine import ctx, make_engine


@pytest.mark.parametrize("policy", ["linucb", "lin_ts"])
def test_eight_threads_decide_and_reward_consistently(policy):
    engine = make_engine(policy=policy, pending_capacity=100_000)
    engine.warmup()  # as a service does before it reports ready: no thread waits on a compile
    errors, accepted, decided = [], [0] * 8, [0] * 8
    stop = time.monotonic() + 2.0

    def worker(i):
        rng = np.random.default_rng(i)
        mine = []
        try:
            while time.monotonic() < stop:
                d = engine.decide(ctx(features={"spend_90d": float(rng.uniform(0, 5000))}))
                decided[i] += 1
                mine.append(d.decision_id)
                if len(mine) > 3:  # reward out of order, sometimes twice
                    did = mine.pop(int(rng.integers(len(mine))))
                    engine.reward(did, float(rng.uniform(0, 10)))
                    accepted[i] += 1
                    if rng.random() < 0.1:
                        try:
                            engine.reward(did, 1.0)
                        except OmnibanditError:
                            pass
                        else:
                            errors.append("a second reward was accepted")
        except Exception as err:  # noqa: BLE001 - any exception fails the test below
            errors.append(repr(err))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    stats = engine.stats
    assert stats["decisions"] == sum(decided) > 1000
    assert stats["rewards"] == sum(accepted) == engine.policy.version
    assert int(engine.policy.n_updates_.sum()) == sum(accepted)
    assert stats["pending"] == sum(decided) - sum(accepted)
    assert stats["rejected"].get("DuplicateReward", 0) == stats["rejected_total"]
    for value in engine.policy.get_state().values():
        assert np.isfinite(value).all() if value.dtype.kind == "f" else True
