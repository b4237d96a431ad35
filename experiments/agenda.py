"""The learning agenda: use cases, their control holdouts, and the scorecard.

A use case is a hypothesis the business wants tested at one journey stage and a set of
touchpoints: which candidate actions to choose among, which outcome it targets (and how
outcomes weigh into the reward), what a unit of that outcome is worth, the minimum effect
worth detecting, and a priority. Every decision in a use case is either made by the
policy or, for a random ``holdout_share`` of traffic, by the use case's control (a fixed
action such as ``no_message``, or ``random``: uniform over the candidates), so lift is
measured against a concurrent randomised control rather than assumed.

The scorecard compares the two arms per use case and policy: means with 95% intervals,
the relative lift with a delta-method interval, the probability that the policy beats
control, the incremental business value, regret against the simulator's oracle, and a
verdict against the minimum effect.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy import stats

from omnibandit.engine import Schema
from omnibandit.engine.errors import ConfigurationError

__all__ = ["UseCase", "Agenda", "ControlHoldout", "HoldoutAssignment", "ArmStats", "SCORECARD_COLUMNS", "scorecard_row",
           "verdict"]

SCORECARD_COLUMNS = ("use_case", "policy", "n", "reward", "reward_ci_low", "reward_ci_high", "control_reward", "lift",
                     "lift_ci_low", "lift_ci_high", "p_beats_control", "incremental_value", "regret", "verdict")
_Z = float(stats.norm.ppf(0.975))


@dataclasses.dataclass(frozen=True)
class UseCase:
    """One hypothesis on the learning agenda.

    Attributes
    ----------
    id : str
    hypothesis : str
        The hypothesis in words.
    stage : str
    touchpoints : tuple of str
    actions : tuple of str
        Candidate actions the policy chooses among (``["*"]``: every action of the schema).
    outcome : str
        The target outcome (its business value is what ``value_per_unit`` prices).
    reward_weights : mapping of outcome name to weight
        reward = sum of weight × outcome (defaults to ``{outcome: 1}``).
    value_per_unit : float
        Business value (money) of one unit of the target outcome.
    min_effect : float
        The smallest relative lift over control worth acting on (0.03 = 3%).
    priority : int
        1 is the most important; breaks ties in the ranking.
    control : str
        ``"random"`` or the name of the action the holdout receives.

    Examples
    --------
    >>> uc = UseCase("trip", "Coupons bring customers in", "pre_visit", ("mobile_app",), ("no_message", "fresh_coupon"),
    ...              outcome="trip", control="no_message")
    >>> dict(uc.reward_weights)
    {'trip': 1.0}
    """

    id: str
    hypothesis: str
    stage: str
    touchpoints: tuple[str, ...]
    actions: tuple[str, ...]
    outcome: str
    reward_weights: Mapping[str, float] = dataclasses.field(default_factory=dict)
    value_per_unit: float = 1.0
    min_effect: float = 0.02
    priority: int = 1
    control: str = "random"

    def __post_init__(self) -> None:
        object.__setattr__(self, "touchpoints", tuple(self.touchpoints))
        object.__setattr__(self, "actions", tuple(self.actions))
        weights = {str(k): float(v) for k, v in dict(self.reward_weights).items()} or {self.outcome: 1.0}
        object.__setattr__(self, "reward_weights", weights)
        where = f"agenda.use_cases[{self.id!r}]"
        if not self.touchpoints or not self.actions:
            raise ConfigurationError(f"{where}.touchpoints", self.touchpoints,
                                     "touchpoints and actions must be non-empty.")
        if self.control != "random" and self.control not in self.actions:
            raise ConfigurationError(f"{where}.control", self.control,
                                     "must be 'random' or one of the use case's actions.")
        if not (self.min_effect >= 0 and math.isfinite(self.min_effect)):
            raise ConfigurationError(f"{where}.min_effect", self.min_effect, "must be finite and >= 0.")


class Agenda:
    """Use cases mapped onto a schema: which use case each (stage, touchpoint) belongs to.

    Parameters
    ----------
    use_cases : sequence of UseCase or of dicts
    schema : Schema
    outcomes : sequence of str
        The outcome names the environment reports (reward weights must use them).
    holdout_share : float
        Share of each use case's traffic kept as the randomised control.

    Examples
    --------
    >>> from omnibandit.simulators.journey import JourneySimulator, OUTCOMES
    >>> sim = JourneySimulator(seed=0, n_customers=100, n_events=100)
    >>> agenda = Agenda([{"id": "basket", "hypothesis": "h", "stage": "in_visit", "touchpoints": ["point_of_sale"],
    ...                   "actions": ["no_message", "bonus_points"], "outcome": "basket", "control": "no_message"}],
    ...                 sim.schema, OUTCOMES, holdout_share=0.1)
    >>> agenda.ids, agenda.candidates.shape
    (['basket'], (1, 12))
    """

    def __init__(self, use_cases: Sequence[UseCase | Mapping[str, Any]], schema: Schema, outcomes: Sequence[str],
                 *, holdout_share: float = 0.1) -> None:
        if not 0.0 < float(holdout_share) < 1.0:
            raise ConfigurationError("agenda.holdout_share", holdout_share, "must be in (0, 1).")
        self.holdout_share = float(holdout_share)
        self.use_cases = [u if isinstance(u, UseCase) else UseCase(**dict(u)) for u in use_cases]
        if not self.use_cases:
            raise ConfigurationError("agenda.use_cases", [], "the agenda needs at least one use case.")
        self.ids = [u.id for u in self.use_cases]
        if len(set(self.ids)) != len(self.ids):
            raise ConfigurationError("agenda.use_cases", self.ids, "ids must be unique.")
        self.outcomes = tuple(outcomes)
        names = schema.action_names
        index = {name: k for k, name in enumerate(names)}
        self.assignment = np.full((len(schema.stages), len(schema.touchpoints)), -1, dtype=np.int64)
        self.candidates = np.zeros((len(self.use_cases), len(names)), dtype=np.bool_)
        self.weights = np.zeros((len(self.use_cases), len(self.outcomes)))
        self.target = np.zeros(len(self.use_cases), dtype=np.int64)
        self.control_action = np.full(len(self.use_cases), -1, dtype=np.int64)
        for u, uc in enumerate(self.use_cases):
            where = f"agenda.use_cases[{uc.id!r}]"
            if uc.stage not in schema.stages:
                raise ConfigurationError(f"{where}.stage", uc.stage, f"known stages: {schema.stages}.")
            for a in (names if uc.actions == ("*",) else uc.actions):
                if a not in index:
                    raise ConfigurationError(f"{where}.actions", a, f"known actions: {', '.join(names)}.")
                self.candidates[u, index[a]] = True
            for name, w in uc.reward_weights.items():
                if name not in self.outcomes:
                    raise ConfigurationError(f"{where}.reward_weights", name, f"known outcomes: {self.outcomes}.")
                self.weights[u, self.outcomes.index(name)] = w
            if uc.outcome not in self.outcomes:
                raise ConfigurationError(f"{where}.outcome", uc.outcome, f"known outcomes: {self.outcomes}.")
            self.target[u] = self.outcomes.index(uc.outcome)
            if uc.control != "random":
                self.control_action[u] = index[uc.control]
            s = schema.stages.index(uc.stage)
            for tp in uc.touchpoints:
                if tp not in schema.touchpoints:
                    raise ConfigurationError(f"{where}.touchpoints", tp, f"known touchpoints: {schema.touchpoints}.")
                allowed = [a for a in schema.actions if _eligible(a, uc.stage, tp)]
                if not any(self.candidates[u, index[a.name]] for a in allowed):
                    raise ConfigurationError(f"{where}.actions", list(uc.actions),
                                             f"none is eligible at {uc.stage}/{tp} in the schema.")
                if uc.control != "random" and schema.actions[index[uc.control]] not in allowed:
                    raise ConfigurationError(f"{where}.control", uc.control,
                                             f"is not eligible at {uc.stage}/{tp} in the schema.")
                t = schema.touchpoints.index(tp)
                if self.assignment[s, t] >= 0:
                    raise ConfigurationError(f"{where}.touchpoints", tp,
                                             f"{uc.stage}/{tp} already belongs to {self.ids[self.assignment[s, t]]!r}.")
                self.assignment[s, t] = u

    def __len__(self) -> int:
        return len(self.use_cases)

    def assign(self, stage_codes: np.ndarray, touchpoint_codes: np.ndarray) -> np.ndarray:
        """Use case index of every row (-1: outside the agenda)."""
        return self.assignment[stage_codes, touchpoint_codes]

    def rewards(self, use_case: np.ndarray, outcomes: Mapping[str, np.ndarray]) -> np.ndarray:
        """Reward of every row: its use case's weighted sum of outcomes."""
        W = self.weights[use_case]
        out = np.zeros(len(use_case))
        for j, name in enumerate(self.outcomes):
            if W[:, j].any():
                out += W[:, j] * np.asarray(outcomes[name])
        return out

    def expected_rewards(self, use_case: np.ndarray, expected: Mapping[str, np.ndarray]) -> np.ndarray:
        """Expected reward (n, K) of every action on every row, from expected outcomes (n, K)."""
        W = self.weights[use_case]
        out = np.zeros(next(iter(expected.values())).shape)
        for j, name in enumerate(self.outcomes):
            if W[:, j].any():
                out += W[:, j, None] * expected[name]
        return out


@dataclasses.dataclass(frozen=True)
class HoldoutAssignment:
    """Which rows of a batch belong to which use case, and which of them the control takes.

    Attributes
    ----------
    use_case : numpy.ndarray of int (n,)
        Index into the agenda's use cases; -1 outside the agenda.
    control : numpy.ndarray of bool (n,)
        Rows held out: they get ``control_action`` instead of a policy decision.
    treat : numpy.ndarray of bool (n,)
        Rows in a use case that the policy decides.
    control_action : numpy.ndarray of int (n,)
        The control's action on control rows (-1 elsewhere).
    eligible : numpy.ndarray of bool (n, K)
        Each row's use-case candidates that are eligible there (all False outside the agenda).

    Examples
    --------
    >>> import numpy as np
    >>> split = HoldoutAssignment(np.array([0, -1]), np.array([True, False]), np.array([False, False]),
    ...                           np.array([3, -1]), np.zeros((2, 4), dtype=bool))
    >>> int(split.control_action[split.control][0])
    3
    """

    use_case: np.ndarray
    control: np.ndarray
    treat: np.ndarray
    control_action: np.ndarray
    eligible: np.ndarray


class ControlHoldout:
    """The agenda's randomised control holdout, for a simulation loop or a service.

    Each row in a use case is held out with probability ``agenda.holdout_share``, from a
    seeded generator of its own, and then gets the use case's control: its fixed action
    or, for ``control: random``, an action drawn uniformly from the eligible candidates.
    The remaining rows go to the policy (through ``Engine.decide_batch`` with
    ``eligible=assignment.eligible[treat]``, or ``Engine.decide`` per row).

    Parameters
    ----------
    agenda : Agenda
    eligibility : numpy.ndarray of bool (n_touchpoints, n_stages, K)
        The schema's eligible sets (``engine.featuriser.eligibility``).
    seed : int, numpy.random.SeedSequence or None

    Examples
    --------
    >>> import numpy as np
    >>> from omnibandit.engine import Engine
    >>> from omnibandit.simulators.journey import JourneySimulator, OUTCOMES
    >>> sim = JourneySimulator(seed=0, n_customers=100, n_events=100)
    >>> agenda = Agenda([{"id": "basket", "hypothesis": "h", "stage": "in_visit", "touchpoints": ["point_of_sale"],
    ...                   "actions": ["no_message", "bonus_points"], "outcome": "basket", "control": "no_message"}],
    ...                 sim.schema, OUTCOMES, holdout_share=0.5)
    >>> engine = Engine.for_policy(sim.schema, "linucb", seed=0)
    >>> holdout = ControlHoldout(agenda, engine.featuriser.eligibility, seed=1)
    >>> pos, in_visit = sim.schema.touchpoints.index("point_of_sale"), sim.schema.stages.index("in_visit")
    >>> split = holdout.assign(np.full(1000, in_visit), np.full(1000, pos))
    >>> 450 < int(split.control.sum()) < 550, set(split.control_action[split.control].tolist()) == {0}
    (True, True)
    """

    def __init__(self, agenda: Agenda, eligibility: np.ndarray, *, seed=None) -> None:
        self.agenda = agenda
        self.eligibility = np.asarray(eligibility, dtype=np.bool_)
        self.rng = np.random.default_rng(seed)

    def assign(self, stage: np.ndarray, touchpoint: np.ndarray,
               remaining_budget: np.ndarray | None = None) -> HoldoutAssignment:
        """Split n rows (stage and touchpoint codes) between the policy and the control.

        ``remaining_budget`` (K,) removes exhausted actions from the eligible sets.
        """
        agenda = self.agenda
        n = len(stage)
        use_case = agenda.assign(stage, touchpoint)
        inside = use_case >= 0
        draw = self.rng.random(n)
        control = inside & (draw < agenda.holdout_share)
        eligible = self.eligibility[touchpoint, stage] & agenda.candidates[np.maximum(use_case, 0)] & inside[:, None]
        if remaining_budget is not None:
            eligible &= np.asarray(remaining_budget) > 0
        action = np.full(n, -1, dtype=np.int64)
        rows = np.flatnonzero(control)
        if rows.shape[0]:
            fixed = agenda.control_action[use_case[rows]]
            # random control: the r-th eligible candidate, r uniform (draw / share is uniform on [0, 1))
            count = eligible[rows].sum(axis=1)
            r = np.minimum((draw[rows] / agenda.holdout_share * count).astype(np.int64), count - 1)
            uniform = np.argmax(np.cumsum(eligible[rows], axis=1) > r[:, None], axis=1)
            action[rows] = np.where(fixed >= 0, fixed, uniform)
        return HoldoutAssignment(use_case, control, inside & ~control, action, eligible)


def _eligible(action, stage: str, touchpoint: str) -> bool:
    in_stage = not action.stages or stage in action.stages
    return in_stage and (not action.touchpoints or touchpoint in action.touchpoints)


@dataclasses.dataclass
class ArmStats:
    """Running sums for one arm of one use case: rewards, target outcome, expected reward, regret.

    Examples
    --------
    >>> arm = ArmStats()
    >>> arm.add_rewards(np.array([1.0, 3.0]), np.array([1.0, 0.0]))
    >>> arm.mean, round(arm.variance, 6)
    (2.0, 2.0)
    """

    n: int = 0
    total: float = 0.0
    total_sq: float = 0.0
    target: float = 0.0
    decided: int = 0
    expected: float = 0.0
    regret: float = 0.0

    def add_rewards(self, rewards: np.ndarray, target: np.ndarray) -> None:
        self.add_reward_sums(rewards.shape[0], rewards.sum(), np.dot(rewards, rewards), target.sum())

    def add_reward_sums(self, n, total, total_sq, target) -> None:
        self.n += int(n)
        self.total += float(total)
        self.total_sq += float(total_sq)
        self.target += float(target)

    def add_decisions(self, expected: np.ndarray, regret: np.ndarray) -> None:
        self.add_decision_sums(expected.shape[0], expected.sum(), regret.sum())

    def add_decision_sums(self, n, expected, regret) -> None:
        self.decided += int(n)
        self.expected += float(expected)
        self.regret += float(regret)

    @property
    def mean(self) -> float:
        return self.total / self.n if self.n else math.nan

    @property
    def variance(self) -> float:
        if self.n < 2:
            return math.nan
        return max(self.total_sq - self.n * self.mean**2, 0.0) / (self.n - 1)

    @property
    def std_err(self) -> float:
        return math.sqrt(self.variance / self.n) if self.n >= 2 else math.nan

    @property
    def target_mean(self) -> float:
        return self.target / self.n if self.n else math.nan


def verdict(lift: float, lift_ci_low: float, lift_ci_high: float, min_effect: float) -> str:
    """``adopt``: the lift is significantly positive and at least the minimum effect;
    ``stop``: even the interval's upper end falls short of the minimum effect;
    otherwise ``keep testing``.

    >>> verdict(0.08, 0.05, 0.11, 0.03), verdict(0.0, -0.02, 0.02, 0.03), verdict(0.04, -0.01, 0.09, 0.03)
    ('adopt', 'stop', 'keep testing')
    """
    if not math.isfinite(lift):
        return "keep testing"
    if lift_ci_low > 0 and lift >= min_effect:
        return "adopt"
    if lift_ci_high < min_effect:
        return "stop"
    return "keep testing"


def scorecard_row(use_case: UseCase, policy: str, treated: ArmStats, control: ArmStats) -> dict[str, Any]:
    """One scorecard row (the columns of :data:`SCORECARD_COLUMNS`, plus ``expected_value``,
    ``priority`` and ``true_lift`` for ranking and for checks against the simulator).

    The lift is relative: policy mean / control mean - 1, with a delta-method 95% interval
    (the two arms are independent). ``p_beats_control`` is P(policy mean > control mean)
    under the normal approximation; ``incremental_value`` is value_per_unit × (difference
    in mean target outcome) × policy traffic; ``regret`` is the mean per-decision regret
    against the oracle, in reward units.
    """
    m1, m0 = treated.mean, control.mean
    se1, se0 = treated.std_err, control.std_err
    lift = lo = hi = p_beats = math.nan
    if treated.n >= 2 and control.n >= 2 and m0 != 0:
        lift = m1 / m0 - 1.0
        se_lift = math.sqrt((se1 / m0) ** 2 + (m1 * se0 / m0**2) ** 2)
        lo, hi = lift - _Z * se_lift, lift + _Z * se_lift
        se_diff = math.hypot(se1, se0)
        p_beats = float(stats.norm.cdf((m1 - m0) / se_diff)) if se_diff > 0 else float(m1 > m0)
    incremental = use_case.value_per_unit * (treated.target_mean - control.target_mean) * treated.n
    true_lift = (treated.expected / treated.decided) / (control.expected / control.decided) - 1.0 \
        if treated.decided and control.decided and control.expected else math.nan
    return {
        "use_case": use_case.id, "policy": policy, "n": treated.n, "reward": m1,
        "reward_ci_low": m1 - _Z * se1, "reward_ci_high": m1 + _Z * se1, "control_reward": m0,
        "lift": lift, "lift_ci_low": lo, "lift_ci_high": hi, "p_beats_control": p_beats,
        "incremental_value": incremental,
        "regret": treated.regret / treated.decided if treated.decided else math.nan,
        "verdict": verdict(lift, lo, hi, use_case.min_effect),
        "expected_value": p_beats * incremental if math.isfinite(p_beats) and math.isfinite(incremental) else math.nan,
        "priority": use_case.priority, "true_lift": true_lift,
    }
