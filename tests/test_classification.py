"""Classification-to-bandit environments: schema, reward = correctness, order and bad input."""

import numpy as np
import pytest
import sklearn.datasets

from omnibandit.engine import DecisionBatch, Engine
from omnibandit.engine.errors import ConfigurationError
from omnibandit.simulators.classification import SKLEARN_DATASETS, ClassificationEnvironment, from_sklearn


@pytest.mark.parametrize("name", SKLEARN_DATASETS)
def test_each_bundled_data_set_builds_its_own_schema(name):
    bunch = getattr(sklearn.datasets, f"load_{name}")()
    env = from_sklearn(name, seed=0)
    assert all(callable(getattr(env, m, None)) for m in ("next_batch", "respond", "flush"))  # Environment
    assert len(env.schema.actions) == len(np.unique(bunch.target)) and env.n_examples == len(bunch.target)
    assert [a.name for a in env.schema.actions] == [f"{name}:{n}" for n in bunch.target_names]
    assert len(env.schema.features) == bunch.data.shape[1]


def _fake_decisions(batch, actions):
    n = len(actions)
    return DecisionBatch(decision_ids=[f"d{i}" for i in range(n)], actions=np.asarray(actions),
                         propensities=np.ones(n), probabilities=np.ones((n, 1)), time=batch.time,
                         policy="test", policy_version=0)


def test_reward_is_one_exactly_for_the_correct_class():
    X = np.arange(12, dtype=float).reshape(6, 2)
    y = np.array(["b", "a", "c", "a", "b", "c"])
    env = ClassificationEnvironment(X, y, seed=1)
    batch = env.next_batch(4)
    order = [int(np.flatnonzero((X == row).all(axis=1))[0]) for row in batch.features]
    truth = np.unique(y, return_inverse=True)[1][order]  # classes coded in sorted order: a=0, b=1, c=2
    chosen = np.array([truth[0], (truth[1] + 1) % 3, truth[2], (truth[3] + 2) % 3])
    events = env.respond(_fake_decisions(batch, chosen))
    np.testing.assert_array_equal(events.rewards, [1.0, 0.0, 1.0, 0.0])
    assert events.decision_ids == ["d0", "d1", "d2", "d3"]
    assert len(env.next_batch(4).features) == 2 and env.next_batch(4) is None


def test_passes_and_seed_fix_the_stream():
    X, y = np.random.default_rng(0).normal(size=(30, 3)), np.arange(30) % 3
    a, b = (ClassificationEnvironment(X, y, passes=2, seed=5) for _ in range(2))
    assert len(a) == 60
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(np.sort(a.labels[:30]), np.sort(y))  # every example once per pass
    assert not np.array_equal(a.X, ClassificationEnvironment(X, y, passes=2, seed=6).X)


def test_the_same_seed_gives_the_same_run():
    def run():
        env = from_sklearn("iris", seed=2)
        engine = Engine.for_policy(env.schema, "lin_ts", seed=3)
        while (contexts := env.next_batch(16)) is not None:
            due = env.respond(engine.decide_batch(contexts))
            engine.reward_batch(due.decision_ids, due.rewards)
        return env.rewards

    assert run() == run()


@pytest.mark.parametrize("X,y", [(np.zeros(3), np.zeros(3)), (np.zeros((3, 2)), np.zeros(2)),
                                 (np.zeros((0, 2)), np.zeros(0))])
def test_bad_shapes_are_named(X, y):
    with pytest.raises(ConfigurationError, match="X, y"):
        ClassificationEnvironment(X, y)


def test_data_sets_that_need_a_download_are_refused():
    with pytest.raises(ConfigurationError, match="covtype"):
        from_sklearn("covtype")
