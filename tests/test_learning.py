"""LinUCB and linear TS learn a well-specified linear problem (d=16, K=10, 20,000 steps)."""

import numpy as np
import pytest

from omnibandit.policies import make_policy
from omnibandit.simulators.linear import LinearEnvironment

D, K, T = 16, 10, 20_000


def run(name, seed, **params):
    env = LinearEnvironment(n_actions=K, n_features=D, noise=0.1, seed=seed)
    policy = make_policy(name, n_actions=K, n_features=D, seed=seed + 100, **params)
    rng = np.random.default_rng(seed + 200)
    X = env.contexts(T)
    means = env.expected_rewards(X)
    noise = rng.normal(scale=env.noise, size=T)
    uniforms = rng.random(T)
    got = np.empty(T)
    for t in range(T):
        p = policy.probabilities(X[t])
        a = min(int(np.searchsorted(np.cumsum(p), uniforms[t], side="right")), K - 1)
        got[t] = means[t, a]
        policy.update(X[t], a, means[t, a] + noise[t], p[a])
    regret = np.cumsum(means.max(axis=1) - got)
    return got.mean(), means.max(axis=1).mean(), regret


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("name,params", [("linucb", {"alpha": 0.5}), ("lin_ts", {"v": 0.2})])
def test_reaches_90_percent_of_oracle_with_sublinear_regret(name, params, seed):
    mean, oracle, regret = run(name, seed, **params)
    uniform_mean, _, _ = run("uniform", seed)
    assert mean >= 0.9 * oracle, f"{name}: {mean:.3f} < 0.9 × oracle {oracle:.3f}"
    assert mean - uniform_mean > 0.5 * (oracle - uniform_mean), "beats Uniform by a wide margin"
    assert regret[-1] < 2.5 * regret[4_999], f"regret {regret[-1]:.0f} at 20k vs {regret[4_999]:.0f} at 5k"
