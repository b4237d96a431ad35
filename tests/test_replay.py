"""Replay (Li et al. 2011) and the classification-to-bandit environments."""

import numpy as np
import pytest

from omnibandit.engine import Context, Engine, Schema
from omnibandit.engine.eventlog import EventLogWriter
from omnibandit.experiments.logdata import load_log
from omnibandit.experiments.ope import snips
from omnibandit.simulators.classification import from_sklearn
from omnibandit.simulators.replay import replay

SCHEMA = Schema.from_dict({
    "actions": [{"name": f"a{k}"} for k in range(4)],
    "features": [{"name": "f0", "low": -5, "high": 5}, {"name": "f1", "low": -5, "high": 5}],
    "touchpoints": ["web"], "stages": ["in_visit"], "identification": [], "reward_range": [0, 1],
})
THETA = np.array([[0.5, 0.2, 0.0], [0.4, -0.3, 0.2], [0.3, 0.0, 0.3], [0.45, 0.25, -0.25]])


def true_means(f):
    return np.clip(THETA[:, 0] + THETA[:, 1] * f[0] / 5 + THETA[:, 2] * f[1] / 5, 0.02, 0.98)


def write_log(path, logging_policy, n, seed, **params):
    rng = np.random.default_rng(seed)
    log = EventLogWriter(path, durability="none", batch_events=4096)
    engine = Engine.for_policy(SCHEMA, logging_policy, seed=seed, event_sink=log, **params)
    for _ in range(n):
        f = rng.uniform(-5, 5, size=2)
        d = engine.decide(Context("web", "in_visit", features={"f0": f[0], "f1": f[1]}))
        engine.reward(d.decision_id, float(rng.random() < true_means(f)[d.action_index]))
    log.close()
    return load_log(path)


def fixed_truth(action, n=400_000):
    f = np.random.default_rng(99).uniform(-5, 5, size=(n, 2))
    return float(np.mean(np.clip(THETA[action, 0] + THETA[action, 1] * f[:, 0] / 5 + THETA[action, 2] * f[:, 1] / 5,
                                 0.02, 0.98)))


def test_replay_of_a_uniform_log_estimates_a_fixed_policy(tmp_path):
    data = write_log(tmp_path / "u.jsonl", "uniform", 20_000, seed=1)
    result = replay(Engine.for_policy(SCHEMA, "fixed", action=2, seed=0), data, batch_size=500)
    truth = fixed_truth(2)
    assert result.ci_low <= truth <= result.ci_high
    assert 0.2 * 20_000 < result.n_matched < 0.3 * 20_000 and result.n_accepted == result.n_matched
    # for a deterministic target on a uniform log, replay's estimate is exactly SNIPS
    target = np.zeros((len(data), 4))
    target[:, 2] = 1.0
    assert result.value == pytest.approx(snips(data.rewards, data.actions, data.propensities, target).value, abs=1e-12)


def test_propensity_weighted_replay_is_unbiased_on_a_non_uniform_log(tmp_path):
    # logged with p = 0.7 for a0 and 0.1 for the others; the target is uniform, so plain
    # replay would over-represent a0's rounds and drift towards a0's mean
    data = write_log(tmp_path / "nu.jsonl", "fixed", 40_000, seed=2, action=0, epsilon=0.4)
    truth = float(np.mean([fixed_truth(a) for a in range(4)]))
    weighted, plain = [], []
    for seed in range(20):
        weighted.append(replay(Engine.for_policy(SCHEMA, "uniform", seed=seed), data, batch_size=1000, seed=seed))
        plain.append(replay(Engine.for_policy(SCHEMA, "uniform", seed=seed), data, batch_size=1000,
                            weighting="uniform"))
    w = np.array([r.value for r in weighted])
    se = weighted[0].std_err
    assert abs(w.mean() - truth) < 3 * se, (w.mean(), truth, se)
    assert np.mean([r.ci_low <= truth <= r.ci_high for r in weighted]) >= 0.8
    biased = np.mean([r.value for r in plain])
    assert biased - truth > 4 * se, (biased, truth, se)
    assert weighted[0].n_accepted < weighted[0].n_matched


def test_a_learning_policy_improves_under_replay(tmp_path):
    data = write_log(tmp_path / "u.jsonl", "uniform", 20_000, seed=3)
    learned = replay(Engine.for_policy(SCHEMA, "linucb", seed=0, alpha=0.3), data)
    uniform = replay(Engine.for_policy(SCHEMA, "uniform", seed=0), data)
    assert learned.value > uniform.value + 0.03, (learned.value, uniform.value)


@pytest.mark.parametrize("name,minimum", [("digits", 0.75), ("wine", 0.8), ("iris", 0.7), ("breast_cancer", 0.85)])
def test_classification_bandits_are_learnable_and_rewards_are_correctness(name, minimum):
    env = from_sklearn(name, passes=3, seed=0)
    engine = Engine.for_policy(env.schema, "linucb", seed=0, alpha=0.2)
    while (contexts := env.next_batch(1)) is not None:
        decisions = engine.decide_batch(contexts)
        due = env.respond(decisions)
        engine.reward_batch(due.decision_ids, due.rewards)
    rewards = np.array(env.rewards)
    last_pass = rewards[-env.n_examples:].mean()
    assert last_pass >= minimum, last_pass
    assert last_pass > 1.5 / len(env.schema.actions)  # well above chance (1/K)
    assert set(np.unique(rewards)) <= {0.0, 1.0}
