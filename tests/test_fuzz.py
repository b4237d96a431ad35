"""Fuzzing the engine's public API with a hypothesis state machine.

Arbitrary contexts, feature dicts, reward values, decision ids, batches, clock jumps
and interleaved snapshot/load: the only exceptions allowed are OmnibanditError
subclasses, every rejected call leaves the state bit-for-bit unchanged, and every
decision is accounted for exactly once (rewarded, expired, evicted, cancelled or
still pending). ``FUZZ_STATS`` counts what ran; ``benchmarks/fuzz.py`` runs the same
machine for longer and prints the counts.
"""

import shutil
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from omnibandit.engine import Context, ContextBatch, Engine, OmnibanditError
from test_engine import SCHEMA, FakeClock, snapshot

FUZZ_STATS: Counter = Counter()

garbage = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20), st.text(max_size=8),
                    st.floats(allow_nan=True, allow_infinity=True), st.lists(st.integers(), max_size=2),
                    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
feature_value = st.one_of(st.floats(-10, 6000), st.floats(allow_nan=True, allow_infinity=True), garbage)
feature_name = st.one_of(st.sampled_from(["spend_90d", "visits_90d", "satisfaction", "segment"]), st.text(max_size=6))
names = lambda options: st.one_of(st.sampled_from(options), st.none(), st.text(max_size=10), garbage)  # noqa: E731

contexts = st.builds(
    Context,
    touchpoint=names(list(SCHEMA.touchpoints)),
    stage=names(list(SCHEMA.stages)),
    customer_id=st.one_of(st.none(), st.text(max_size=5)),
    features=st.one_of(st.none(), st.dictionaries(feature_name, feature_value, max_size=5), garbage),
    market=names(["uk", "de"]),
    identification=names(list(SCHEMA.identification)),
    eligible=st.one_of(st.none(), st.lists(names(list(SCHEMA.action_names)), max_size=3), garbage),
    time=st.one_of(st.none(), st.floats(0, 1000), garbage),
)
valid_features = st.fixed_dictionaries({}, optional={
    "spend_90d": st.floats(0, 5000), "visits_90d": st.integers(0, 90), "satisfaction": st.floats(1, 5),
    "segment": st.sampled_from(["new", "returning", "loyal", "lapsed", "vip"])})
valid_contexts = st.builds(
    Context,
    touchpoint=st.sampled_from(SCHEMA.touchpoints),
    stage=st.sampled_from(SCHEMA.stages),
    customer_id=st.one_of(st.none(), st.just("c-1")),
    features=valid_features,
    market=st.sampled_from([None, "uk", "de"]),
    identification=st.sampled_from([None, "anonymous", "loyalty_card"]),
    eligible=st.one_of(st.none(), st.lists(st.sampled_from(SCHEMA.action_names), min_size=1, max_size=3)),
)
reward_values = st.one_of(st.floats(-10, 110), st.floats(allow_nan=True, allow_infinity=True), garbage)


class EngineMachine(RuleBasedStateMachine):
    @initialize(policy=st.sampled_from(["linucb", "lin_ts", "beta_ts", "egreedy"]), join=st.sampled_from(["first", "sum"]),
                capacity=st.integers(1, 20))
    def setup(self, policy, join, capacity):
        self.clock = FakeClock()
        self.dir = Path(tempfile.mkdtemp())
        self.engine = Engine.for_policy(SCHEMA, policy, seed=1, clock=self.clock, attribution_window=50.0,
                                        pending_capacity=capacity, join=join,
                                        default_reward=0.0, outcome_weights={"trip": 1.0, "basket": 0.01})
        self.ids = []
        self.beta = policy == "beta_ts"

    def _call(self, kind, fn):
        """Run fn; on an OmnibanditError, check nothing changed (other than the rejection count)."""
        self.engine.expire()
        before = snapshot(self.engine)
        FUZZ_STATS["calls"] += 1
        try:
            result = fn()
        except OmnibanditError as err:
            FUZZ_STATS[f"rejected:{kind}"] += 1
            FUZZ_STATS[f"error:{kind}:{type(err).__name__}"] += 1
            after = snapshot(self.engine)
            for key in before:
                if key == "policy":
                    for name in before[key]:
                        assert np.array_equal(before[key][name], after[key][name]), name
                elif isinstance(before[key], np.ndarray):
                    assert np.array_equal(before[key], after[key]), key
                else:
                    assert before[key] == after[key], key
            return None
        FUZZ_STATS[f"accepted:{kind}"] += 1
        return result

    @rule(context=valid_contexts)
    def decide(self, context):
        self._decide(context)

    @rule(context=st.one_of(contexts, garbage))
    def decide_fuzzy(self, context):
        self._decide(context)

    def _decide(self, context):
        d = self._call("decide", lambda: self.engine.decide(context))
        if d is not None:
            assert abs(d.probabilities.sum() - 1) < 1e-9 and d.propensity > 0
            assert d.probabilities[d.action_index] == d.propensity
            self.ids.append(d.decision_id)

    @precondition(lambda self: self.ids)
    @rule(data=st.data(), value=st.floats(0, 1), event=st.one_of(st.none(), st.sampled_from(["e1", "e2", "e3"])))
    def reward(self, data, value, event):
        decision_id = data.draw(st.sampled_from(self.ids))
        self._call("reward", lambda: self.engine.reward(decision_id, value, event_id=event))

    @rule(data=st.data(), value=reward_values, event=st.one_of(st.none(), st.text(max_size=3), garbage))
    def reward_fuzzy(self, data, value, event):
        decision_id = data.draw(st.one_of(st.sampled_from(self.ids), garbage) if self.ids else garbage)
        self._call("reward_fuzzy", lambda: self.engine.reward(decision_id, value, event_id=event))

    @rule(data=st.data(), outcomes=st.one_of(st.dictionaries(st.sampled_from(["trip", "basket", "bogus"]), reward_values,
                                                             max_size=2), garbage))
    def reward_outcomes(self, data, outcomes):
        decision_id = data.draw(st.sampled_from(self.ids)) if self.ids else "none"
        self._call("outcomes", lambda: self.engine.reward(decision_id, outcomes=outcomes))

    @rule(n=st.integers(1, 5), data=st.data())
    def decide_batch(self, n, data):
        tps = data.draw(st.lists(st.sampled_from(list(SCHEMA.touchpoints) * 5 + ["kiosk"]), min_size=n, max_size=n))
        row = st.tuples(st.floats(0, 5000), st.floats(0, 90), st.floats(1, 5))
        bad_row = st.tuples(st.floats(-1, 6000), st.just(float("nan")), st.floats(allow_nan=True))
        feats = data.draw(st.lists(st.one_of(row, row, row, row, bad_row), min_size=n, max_size=n))
        batch = ContextBatch(touchpoint=np.array(tps), stage="in_visit", features=np.array(feats))
        result = self._call("decide_batch", lambda: self.engine.decide_batch(batch))
        if result is not None:
            assert np.allclose(result.probabilities.sum(axis=1), 1)
            self.ids.extend(result.decision_ids)

    @rule(data=st.data())
    def reward_batch(self, data):
        ids = data.draw(st.lists(st.sampled_from(self.ids) if self.ids else st.text(max_size=3), max_size=4))
        values = data.draw(st.lists(st.one_of(st.floats(-1, 2), st.just(float("nan"))), min_size=len(ids), max_size=len(ids) + 1))
        self._call("reward_batch", lambda: self.engine.reward_batch(ids, values))

    @rule(data=st.data())
    def cancel_or_close(self, data):
        if self.ids:
            decision_id = data.draw(st.sampled_from(self.ids))
            if data.draw(st.booleans()):
                self._call("cancel", lambda: self.engine.cancel([decision_id]))
            else:
                self._call("close", lambda: self.engine.close(decision_id))

    @rule(dt=st.floats(0, 80))
    def advance_clock(self, dt):
        self.clock.now += dt

    @precondition(lambda self: True)
    @rule()
    def snapshot_and_load(self):
        path = self.dir / "e.snap"
        self.engine.snapshot(path)
        loaded = Engine.load(path, clock=self.clock)
        assert loaded.stats == self.engine.stats
        self.engine = loaded
        FUZZ_STATS["snapshot_load"] += 1

    def teardown(self):
        if hasattr(self, "dir"):
            shutil.rmtree(self.dir, ignore_errors=True)

    @invariant()
    def accounted_and_finite(self):
        if not hasattr(self, "engine"):
            return
        s = self.engine.stats
        closed = s["rewards"] + s["expired"] + s["evicted"] + s["cancelled"]
        assert s["decisions"] == closed + s["pending"], s
        assert s["pending"] <= self.engine.pending.capacity
        for value in self.engine.policy.get_state().values():
            if value.dtype.kind == "f":
                assert np.isfinite(value).all()


EngineMachine.TestCase.settings = settings(max_examples=200, stateful_step_count=30, deadline=None)
TestEngineFuzz = EngineMachine.TestCase
