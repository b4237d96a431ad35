"""Off-policy estimators: exact formulas, unbiasedness over repetitions, interval coverage."""

import math

import numpy as np
import pytest

from omnibandit.engine.errors import ConfigurationError, FeatureLengthMismatch, InvalidPropensity, UnknownAction
from omnibandit.experiments.ope import direct_method, doubly_robust, ips, snips, switch_dr

M, K = 20, 4  # context types, actions


def world(seed=0):
    rng = np.random.default_rng(seed)
    p_context = rng.dirichlet(np.ones(M))
    mu = rng.uniform(0.1, 0.9, size=(M, K))
    logging = rng.dirichlet(np.ones(K) * 2, size=M)  # non-uniform, every action > 0
    logging = 0.8 * logging + 0.2 / K
    target = rng.dirichlet(np.ones(K) * 0.5, size=M)
    truth = float(np.sum(p_context[:, None] * target * mu))
    return p_context, mu, logging, target, truth


def sample_log(rng, n, p_context, mu, logging):
    m = rng.choice(M, size=n, p=p_context)
    u = rng.random(n)
    a = (np.cumsum(logging[m], axis=1) < u[:, None]).sum(axis=1).clip(0, K - 1)
    r = (rng.random(n) < mu[m, a]).astype(float)
    return m, a, logging[m, a], r


def test_estimates_equal_the_published_formulas_computed_round_by_round():
    p_context, mu, logging, target, _ = world(1)
    rng = np.random.default_rng(3)
    m, a, p, r = sample_log(rng, 300, p_context, mu, logging)
    pi, q = target[m], mu[m] + rng.normal(scale=0.1, size=(300, K))
    w = [pi[i, a[i]] / p[i] for i in range(300)]
    dm = sum(sum(pi[i, k] * q[i, k] for k in range(K)) for i in range(300)) / 300
    ips_v = sum(w[i] * r[i] for i in range(300)) / 300
    ips_clip = sum(min(w[i], 2.0) * r[i] for i in range(300)) / 300
    snips_v = sum(w[i] * r[i] for i in range(300)) / sum(w)
    dr = sum(sum(pi[i, k] * q[i, k] for k in range(K)) + w[i] * (r[i] - q[i, a[i]]) for i in range(300)) / 300
    sdr = sum(sum(pi[i, k] * q[i, k] for k in range(K)) + (w[i] <= 1.5) * w[i] * (r[i] - q[i, a[i]])
              for i in range(300)) / 300
    assert direct_method(r, a, p, pi, q).value == pytest.approx(dm, abs=1e-12)
    assert ips(r, a, p, pi).value == pytest.approx(ips_v, abs=1e-12)
    assert ips(r, a, p, pi, clip=2.0).value == pytest.approx(ips_clip, abs=1e-12)
    assert snips(r, a, p, pi).value == pytest.approx(snips_v, abs=1e-12)
    assert doubly_robust(r, a, p, pi, q).value == pytest.approx(dr, abs=1e-12)
    assert switch_dr(r, a, p, pi, q, tau=1.5).value == pytest.approx(sdr, abs=1e-12)
    e = ips(r, a, p, pi, clip=2.0)
    assert e.clipped_share == pytest.approx(np.mean(np.array(w) > 2.0))
    assert e.ess == pytest.approx(sum(min(x, 2.0) for x in w) ** 2 / sum(min(x, 2.0) ** 2 for x in w))
    assert e.std_err == pytest.approx(np.std([min(x, 2.0) * y for x, y in zip(w, r)], ddof=1) / math.sqrt(300))


@pytest.mark.parametrize("name", ["ips", "snips", "dr", "dm_true_model", "switch_dr_no_switch"])
def test_unbiased_over_repetitions_and_intervals_cover_the_truth(name):
    p_context, mu, logging, target, truth = world(0)
    rng = np.random.default_rng(2024)
    reps, n = 1000, 2000
    values, covered = np.empty(reps), np.empty(reps, dtype=bool)
    for i in range(reps):
        m, a, p, r = sample_log(rng, n, p_context, mu, logging)
        pi = target[m]
        wrong_model = np.clip(mu[m] + 0.25, 0, 1)  # DR must be unbiased even with a wrong model
        if name == "ips":
            e = ips(r, a, p, pi)
        elif name == "snips":
            e = snips(r, a, p, pi)
        elif name == "dr":
            e = doubly_robust(r, a, p, pi, wrong_model)
        elif name == "dm_true_model":
            e = direct_method(r, a, p, pi, mu[m])
        else:
            e = switch_dr(r, a, p, pi, wrong_model, tau=math.inf)
        values[i], covered[i] = e.value, e.ci_low <= truth <= e.ci_high
    se_of_mean = values.std(ddof=1) / math.sqrt(reps)
    assert abs(values.mean() - truth) < 3 * se_of_mean, (values.mean(), truth, se_of_mean)
    if name != "dm_true_model":  # DM's interval ignores model error by construction; here the model is exact
        assert 0.93 <= covered.mean() <= 0.97, covered.mean()


def test_bootstrap_intervals_cover_the_truth():
    p_context, mu, logging, target, truth = world(0)
    rng = np.random.default_rng(7)
    covered = []
    for i in range(300):
        m, a, p, r = sample_log(rng, 1000, p_context, mu, logging)
        e = doubly_robust(r, a, p, target[m], np.clip(mu[m] + 0.25, 0, 1), ci="bootstrap", n_bootstrap=200, seed=i)
        covered.append(e.ci_low <= truth <= e.ci_high)
    assert 0.92 <= np.mean(covered) <= 0.98, np.mean(covered)


def test_clipping_and_switching_report_what_they_cut():
    p_context, mu, logging, target, _ = world(0)
    m, a, p, r = sample_log(np.random.default_rng(1), 2000, p_context, mu, logging)
    w = target[m][np.arange(2000), a] / p
    assert ips(r, a, p, target[m], clip=1.0).clipped_share == pytest.approx(np.mean(w > 1.0))
    e = switch_dr(r, a, p, target[m], mu[m], tau=1.0)
    assert e.clipped_share == pytest.approx(np.mean(w > 1.0)) and 0 < e.ess < 2000


def test_bad_inputs_are_named():
    r, a, p = np.ones(3), np.array([0, 1, 1]), np.full(3, 0.5)
    pi = np.full((3, 2), 0.5)
    with pytest.raises(InvalidPropensity, match="propensities"):
        ips(r, a, np.array([0.5, 0.0, 0.5]), pi)
    with pytest.raises(UnknownAction, match="actions"):
        ips(r, np.array([0, 2, 1]), p, pi)
    with pytest.raises(FeatureLengthMismatch, match="target_probs"):
        ips(r, a, p, np.full((2, 2), 0.5))
    with pytest.raises(InvalidPropensity, match="target_probs"):
        ips(r, a, p, np.full((3, 2), 0.7))
    with pytest.raises(ConfigurationError, match="reward_model"):
        doubly_robust(r, a, p, pi, None)
    with pytest.raises(ConfigurationError, match="clip"):
        ips(r, a, p, pi, clip=0)
    with pytest.raises(ConfigurationError, match="ci"):
        ips(r, a, p, pi, ci="magic")
