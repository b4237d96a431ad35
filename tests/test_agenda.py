"""The learning agenda: validation, the scorecard's statistics, and lift recovered on the simulator."""

import math

import numpy as np
import pytest
from scipy import stats

from omnibandit.engine import Engine
from omnibandit.engine.errors import ConfigurationError
from omnibandit.experiments.agenda import Agenda, ArmStats, UseCase, scorecard_row, verdict
from omnibandit.experiments.run import run_policy
from omnibandit.simulators.journey import OUTCOMES, JourneySimulator

SCHEMA = JourneySimulator(seed=0, n_customers=100, n_events=100).schema
BASKET = {"id": "basket", "hypothesis": "h", "stage": "in_visit", "touchpoints": ["point_of_sale"],
          "actions": ["no_message", "bonus_points"], "outcome": "basket", "control": "no_message"}
RETAIL = [
    {"id": "pre", "hypothesis": "h", "stage": "pre_visit",
     "touchpoints": ["mobile_app", "email", "web", "digital_display"],
     "actions": ["no_message", "fresh_coupon", "home_coupon", "fashion_new_in", "beauty_event_invite"],
     "outcome": "trip", "value_per_unit": 12.0, "min_effect": 0.03, "control": "no_message"},
    {"id": "in", "hypothesis": "h", "stage": "in_visit",
     "touchpoints": ["point_of_sale", "interactive_screen", "associate_device", "mobile_app", "digital_display"],
     "actions": ["no_message", "fresh_recipe_bundle", "style_advice", "bonus_points", "home_bundle_discount"],
     "outcome": "basket", "reward_weights": {"basket": 0.02}, "value_per_unit": 0.3, "control": "random"},
    {"id": "post", "hypothesis": "h", "stage": "post_visit", "touchpoints": ["email", "mobile_app", "web"],
     "actions": ["no_message", "satisfaction_survey", "service_recovery_voucher", "personalised_recommendations"],
     "outcome": "return", "reward_weights": {"return": 1.0, "satisfaction": 0.02}, "control": "no_message"},
]


@pytest.mark.parametrize("change, field", [
    ({"actions": ["no_message", "teleport"]}, "actions"),
    ({"outcome": "happiness"}, "outcome"),
    ({"reward_weights": {"happiness": 1.0}}, "reward_weights"),
    ({"control": "fresh_coupon"}, "control"),
    ({"stage": "checkout"}, "stage"),
    ({"touchpoints": ["fax"]}, "touchpoints"),
    ({"actions": ["fresh_coupon"], "control": "random"}, "actions"),  # a pre-visit coupon, not eligible in store
    ({"actions": ["no_message", "fresh_coupon"], "control": "fresh_coupon"}, "control"),
])
def test_a_bad_use_case_is_refused_with_the_field_named(change, field):
    with pytest.raises(ConfigurationError, match=field):
        Agenda([{**BASKET, **change}], SCHEMA, OUTCOMES)


def test_two_use_cases_cannot_claim_the_same_slot_and_the_holdout_share_is_checked():
    with pytest.raises(ConfigurationError, match="already belongs"):
        Agenda([BASKET, {**BASKET, "id": "again"}], SCHEMA, OUTCOMES)
    with pytest.raises(ConfigurationError, match="holdout_share"):
        Agenda([BASKET], SCHEMA, OUTCOMES, holdout_share=1.0)


def test_rewards_weigh_outcomes_per_use_case():
    agenda = Agenda(RETAIL, SCHEMA, OUTCOMES)
    outcomes = {name: np.full(3, float(j + 1)) for j, name in enumerate(OUTCOMES)}  # trip 1, basket 2, sat 3, ret 4
    np.testing.assert_allclose(agenda.rewards(np.array([0, 1, 2]), outcomes), [1.0, 0.04, 4.0 + 0.06])


def test_scorecard_row_matches_the_formulas():
    rng = np.random.default_rng(0)
    treated, control = rng.normal(1.1, 1.0, 4000), rng.normal(1.0, 1.0, 900)
    a, b = ArmStats(), ArmStats()
    a.add_rewards(treated, treated > 1)
    b.add_rewards(control, control > 1)
    a.add_decisions(np.full(4000, 1.1), np.full(4000, 0.2))
    b.add_decisions(np.full(900, 1.0), np.zeros(900))
    uc = UseCase(**{**BASKET, "value_per_unit": 3.0, "min_effect": 0.05})
    row = scorecard_row(uc, "p", a, b)
    m1, m0 = treated.mean(), control.mean()
    se1, se0 = treated.std(ddof=1) / math.sqrt(4000), control.std(ddof=1) / math.sqrt(900)
    se = math.sqrt((se1 / m0) ** 2 + (m1 * se0 / m0**2) ** 2)
    z = stats.norm.ppf(0.975)
    assert row["reward"] == pytest.approx(m1, rel=1e-12) and row["control_reward"] == pytest.approx(m0, rel=1e-12)
    assert row["reward_ci_low"] == pytest.approx(m1 - z * se1, rel=1e-9)
    assert row["lift"] == pytest.approx(m1 / m0 - 1, rel=1e-12)
    assert (row["lift_ci_low"], row["lift_ci_high"]) == pytest.approx((m1 / m0 - 1 - z * se, m1 / m0 - 1 + z * se))
    assert row["p_beats_control"] == pytest.approx(stats.norm.cdf((m1 - m0) / math.hypot(se1, se0)))
    assert row["incremental_value"] == pytest.approx(3.0 * ((treated > 1).mean() - (control > 1).mean()) * 4000)
    assert row["regret"] == pytest.approx(0.2) and row["true_lift"] == pytest.approx(0.1)
    assert row["verdict"] == verdict(row["lift"], row["lift_ci_low"], row["lift_ci_high"], 0.05)


def test_the_lift_interval_covers_the_true_lift_95_percent_of_the_time():
    rng = np.random.default_rng(1)
    reps, covered = 1000, 0
    for _ in range(reps):
        a, b = ArmStats(), ArmStats()
        t, c = (rng.random(6000) < 0.33).astype(float), (rng.random(700) < 0.30).astype(float)
        a.add_rewards(t, t)
        b.add_rewards(c, c)
        row = scorecard_row(UseCase(**BASKET), "p", a, b)
        covered += row["lift_ci_low"] <= 0.1 <= row["lift_ci_high"]
    assert 0.93 <= covered / reps <= 0.97


@pytest.mark.parametrize("lift, low, high, expected", [
    (0.08, 0.01, 0.15, "adopt"), (0.02, 0.001, 0.04, "keep testing"), (0.01, -0.02, 0.029, "stop"),
    (-0.05, -0.09, -0.01, "stop"), (0.05, -0.01, 0.11, "keep testing"), (math.nan, math.nan, math.nan, "keep testing"),
])
def test_verdicts_against_the_minimum_effect(lift, low, high, expected):
    assert verdict(lift, low, high, 0.03) == expected


def test_the_scorecard_recovers_the_simulators_true_lift_within_its_interval():
    """Over 20 seeds × 3 use cases, the lift interval covers the true lift (the simulator's expected
    rewards of the actions actually chosen in each arm) in about 95% of cases."""
    covered, total, holdout = 0, 0, []
    for seed in range(20):
        sim = JourneySimulator(seed=seed, n_customers=3000, n_events=20_000)
        agenda = Agenda(RETAIL, sim.schema, OUTCOMES, holdout_share=0.2)
        engine = Engine.for_policy(sim.schema, "egreedy", seed=seed, epsilon=0.2, pending_capacity=40_000)
        result = run_policy(engine, sim, agenda, seed=seed)
        for u, uc in enumerate(agenda.use_cases):
            row = scorecard_row(uc, "egreedy", *result.arms[u])
            covered += row["lift_ci_low"] <= row["true_lift"] <= row["lift_ci_high"]
            total += 1
        holdout.append(sum(c.decided for _, c in result.arms) / sum(p.decided + c.decided for p, c in result.arms))
    assert covered / total >= 0.88, (covered, total)
    assert abs(np.mean(holdout) - 0.2) < 0.01  # the holdout gets its configured share


def test_the_holdout_takes_its_share_and_a_random_control_is_uniform_over_eligible_candidates():
    from omnibandit.engine.featurise import Featuriser
    from omnibandit.experiments.agenda import ControlHoldout

    agenda = Agenda(RETAIL, SCHEMA, OUTCOMES, holdout_share=0.2)
    holdout = ControlHoldout(agenda, Featuriser(SCHEMA).eligibility, seed=3)
    n = 60_000
    stage = np.full(n, SCHEMA.stages.index("in_visit"))
    touchpoint = np.full(n, SCHEMA.touchpoints.index("interactive_screen"))
    split = holdout.assign(stage, touchpoint)
    # the share: a binomial test at the 0.1% level
    assert stats.binomtest(int(split.control.sum()), n, 0.2).pvalue > 1e-3
    assert not (split.control & split.treat).any() and (split.control | split.treat).all()
    # "random" control at the screen: uniform over the candidates eligible there
    chosen = split.control_action[split.control]
    eligible = np.flatnonzero(split.eligible[0])
    assert set(chosen.tolist()) == set(eligible.tolist())
    counts = np.bincount(chosen, minlength=len(SCHEMA.actions))[eligible]
    assert stats.chisquare(counts).pvalue > 1e-3
    # a fixed control always gets its action; rows outside the agenda get nothing
    out = holdout.assign(np.array([SCHEMA.stages.index("pre_visit")] * 1000),
                         np.array([SCHEMA.touchpoints.index("point_of_sale")] * 1000))
    assert (out.use_case == -1).all() and not out.control.any() and not out.treat.any()
    pre = holdout.assign(np.array([SCHEMA.stages.index("pre_visit")] * 1000),
                         np.array([SCHEMA.touchpoints.index("mobile_app")] * 1000))
    assert (pre.control_action[pre.control] == 0).all() and (pre.control_action[~pre.control] == -1).all()
