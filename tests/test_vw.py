"""VWPolicy: every exploration runs behind the policy interface, learns, and rejects bad settings."""

import numpy as np
import pytest

pytest.importorskip("vowpalwabbit")

from omnibandit.engine import Engine
from omnibandit.engine.errors import ConfigurationError
from omnibandit.policies import make_policy
from omnibandit.policies.vw import VWParams
from omnibandit.simulators.classification import from_sklearn

EXPLORATIONS = ["epsilon", "squarecb", "bag", "cover"]


@pytest.mark.parametrize("exploration", EXPLORATIONS)
def test_probabilities_cover_exactly_the_eligible_actions(exploration):
    policy = make_policy("vw", n_actions=4, n_features=3, seed=0, exploration=exploration, epsilon=0.1)
    x = np.array([1.0, -0.5, 2.0])
    eligible = np.array([True, False, True, True])
    for _ in range(5):
        p = policy.probabilities(x, eligible)
        assert p.shape == (4,) and p[1] == 0 and abs(p.sum() - 1) < 1e-9 and (p[eligible] > 0).all()
        policy.update(x, 2, 1.0, propensity=float(p[2]))


@pytest.mark.parametrize("exploration", EXPLORATIONS)
def test_each_exploration_learns_a_classification_bandit(exploration):
    env = from_sklearn("iris", passes=4, seed=0)
    engine = Engine.for_policy(env.schema, "vw", seed=0, exploration=exploration, epsilon=0.05)
    while (contexts := env.next_batch(1)) is not None:
        due = env.respond(engine.decide_batch(contexts))
        engine.reward_batch(due.decision_ids, due.rewards)
    last_pass = float(np.mean(env.rewards[-env.n_examples:]))
    assert last_pass > 0.6, last_pass  # chance is 1/3


def test_the_same_seed_gives_the_same_probabilities():
    def run(seed):
        policy = make_policy("vw", n_actions=3, n_features=2, seed=seed, exploration="bag")
        rng = np.random.default_rng(1)
        out = []
        for _ in range(30):
            x = rng.normal(size=2)
            p = policy.probabilities(x)
            a = int(rng.choice(3, p=p))
            policy.update(x, a, float(a == 1), propensity=float(p[a]))
            out.append(p)
        return np.array(out)

    np.testing.assert_array_equal(run(7), run(7))


@pytest.mark.parametrize("exploration", EXPLORATIONS)
def test_flags_carry_the_chosen_exploration(exploration):
    flags = VWParams(exploration=exploration).flags(seed=3)
    assert "--cb_explore_adf" in flags and "--random_seed 3" in flags
    assert {"epsilon": "--epsilon", "squarecb": "--squarecb", "bag": "--bag", "cover": "--cover"}[exploration] in flags


@pytest.mark.parametrize("kwargs,field", [({"exploration": "softmax"}, "exploration"), ({"epsilon": 1.5}, "epsilon"),
                                          ({"epsilon": "0.1"}, "epsilon"), ({"bag": 0}, "bag"), ({"cover": 0}, "cover"),
                                          ({"gamma_scale": 0.0}, "gamma_scale"),
                                          ({"learning_rate": -1.0}, "learning_rate")])
def test_invalid_settings_name_the_parameter(kwargs, field):
    with pytest.raises((TypeError, ValueError), match=field):
        make_policy("vw", n_actions=3, n_features=2, **kwargs)


def test_a_corrupt_model_state_is_refused_and_the_policy_keeps_working():
    policy = make_policy("vw", n_actions=3, n_features=2, seed=0)
    state = policy.get_state()
    state["model"] = np.zeros(10, dtype=np.uint8)
    with pytest.raises(ConfigurationError, match="model"):
        policy.set_state(state)
    assert abs(policy.probabilities(np.array([1.0, 2.0])).sum() - 1) < 1e-9


@pytest.mark.parametrize("exploration", ["epsilon", "squarecb"])
def test_pushed_examples_learn_exactly_as_vw_text_examples(exploration):
    """VWPolicy pushes hashed features instead of formatting text; a twin workspace fed VW's
    text format (values exact in float32 and in decimal) must predict the same at every step."""
    import vowpalwabbit

    policy = make_policy("vw", n_actions=3, n_features=4, seed=5, exploration=exploration)
    twin = vowpalwabbit.Workspace(policy.params.flags(policy._vw_seed))
    rng = np.random.default_rng(0)
    for step in range(60):
        x = rng.integers(-8, 9, size=4) / 4.0
        lines = ["shared |s " + " ".join(f"x{i}:{v!r}" for i, v in enumerate(x.tolist()))] + [f"|a a{k}" for k in range(3)]
        want = np.asarray(twin.predict(lines), dtype=np.float64)
        np.testing.assert_allclose(policy.probabilities(x), want / want.sum(), rtol=1e-12, err_msg=f"step {step}")
        action, reward = int(rng.integers(3)), float(rng.integers(0, 5)) / 4.0
        policy.update(x, action, reward, propensity=0.5)
        labelled = list(lines)
        labelled[action + 1] = f"0:{-reward}:0.5 " + lines[action + 1]
        twin.learn(labelled)
    twin.finish()
