"""Offline replay of a logged data set (Li, Chu, Langford & Wang 2011).

The policy under test sees the logged contexts in order and acts; where its action
matches the logged one, the logged reward is revealed and the policy learns from it;
elsewhere the round is discarded (``Engine.cancel``). With a uniform logging policy
the matched rounds are an unbiased sample of the policy's own interaction. With known
non-uniform propensities a match is accepted with probability p_min / pᵢ (rejection
sampling on the propensity), which restores that property; p_min is the smallest
logged propensity.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy import stats

from omnibandit.engine import ContextBatch, DecisionBatch, Engine, Schema
from omnibandit.engine.errors import ConfigurationError

from .base import RewardEvents

__all__ = ["ReplayEnvironment", "ReplayResult", "replay", "schema_for_vectors"]


def schema_for_vectors(action_names, n_features: int) -> Schema:
    """A schema whose featuriser has exactly ``n_features`` columns, for replaying
    pre-featurised rows (``ContextBatch.X``) when the original schema is not at hand.

    >>> schema_for_vectors(["a", "b"], 5).action_names
    ('a', 'b')
    """
    fixed = 3  # bias, one touchpoint, one stage
    if n_features < fixed:
        raise ConfigurationError("n_features", n_features, f"must be >= {fixed}.")
    return Schema.from_dict({
        "actions": [{"name": str(n)} for n in action_names],
        "features": [{"name": f"x{j}", "required": True} for j in range(n_features - fixed)],
        "touchpoints": ["logged"], "stages": ["logged"], "identification": []})


@dataclasses.dataclass(frozen=True)
class ReplayResult:
    """The replay estimate: mean reward over accepted rounds, its interval, and the counts."""

    value: float
    ci_low: float
    ci_high: float
    std_err: float
    n_accepted: int
    n_matched: int
    n_events: int

    def as_row(self) -> dict:
        return dataclasses.asdict(self)


class ReplayEnvironment:
    """A logged data set as an :class:`~omnibandit.simulators.base.Environment`.

    Parameters
    ----------
    data : omnibandit.experiments.logdata.LoggedBandit
        Rewarded decisions, featurised with ``schema`` (``data.X`` columns = the
        schema's featuriser columns).
    schema : Schema
        The schema the log was written with.
    weighting : {"auto", "uniform", "propensity"}
        "propensity" accepts matches with probability p_min / pᵢ; "auto" uses it
        unless every logged propensity is equal.
    seed : int or None
        Seeds the acceptance draws.

    Examples
    --------
    >>> import numpy as np
    >>> from omnibandit.engine import Schema
    >>> from omnibandit.experiments.logdata import LoggedBandit
    >>> schema = Schema.from_dict({"actions": [{"name": "a"}, {"name": "b"}], "touchpoints": ["web"],
    ...                            "stages": ["in_visit"], "identification": []})
    >>> n = 4
    >>> data = LoggedBandit(np.array([f"d{i}" for i in range(n)]), np.zeros(n), np.tile([1.0, 1.0, 1.0], (n, 1)),
    ...                     np.array([0, 1, 0, 1]), np.full(n, 0.5), np.full((n, 2), 0.5), np.array([1., 0., 1., 0.]),
    ...                     np.ones(n, bool), np.array(["web"] * n), ("a", "b"))
    >>> result = replay(Engine.for_policy(schema, "fixed", action=0, seed=0), data, seed=0)
    >>> result.n_matched, result.value
    (2, 1.0)
    """

    def __init__(self, data, schema: Schema, *, weighting: str = "auto", seed=None) -> None:
        if weighting not in ("auto", "uniform", "propensity"):
            raise ConfigurationError("weighting", weighting, "must be 'auto', 'uniform' or 'propensity'.")
        data = data.only_rewarded()
        if len(data) == 0:
            raise ConfigurationError("data", 0, "no rewarded decisions to replay.")
        self.schema = schema
        self.data = data
        p = data.propensities
        uniform = bool(np.allclose(p, p[0]))
        self.weighting = ("uniform" if uniform else "propensity") if weighting == "auto" else weighting
        self._p_min = float(p.min())
        self._rng = np.random.default_rng(seed)
        self._position = 0
        self._last = None
        self.n_matched = 0
        self.accepted_rewards: list[float] = []

    def next_batch(self, n: int) -> ContextBatch | None:
        start = self._position
        if start >= len(self.data):
            return None
        stop = min(start + n, len(self.data))
        self._position = stop
        self._last = (start, stop)
        d = self.data
        return ContextBatch(touchpoint=d.touchpoints[start:stop], stage=None, X=d.X[start:stop],
                            eligible=d.probabilities[start:stop] > 0, time=d.times[start:stop])

    def respond(self, decisions: DecisionBatch) -> RewardEvents:
        start, stop = self._last
        logged = self.data.actions[start:stop]
        match = decisions.actions == logged
        self.n_matched += int(match.sum())
        if self.weighting == "propensity":
            accept = match & (self._rng.random(stop - start) < self._p_min / self.data.propensities[start:stop])
        else:
            accept = match
        ids = [decisions.decision_ids[i] for i in np.flatnonzero(accept)]
        rewards = self.data.rewards[start:stop][accept]
        self.accepted_rewards.extend(rewards.tolist())
        cancelled = [decisions.decision_ids[i] for i in np.flatnonzero(~accept)]
        return RewardEvents(ids, rewards, self.data.times[start:stop][accept], cancelled)

    def flush(self) -> RewardEvents:
        return RewardEvents.empty()

    def result(self, alpha: float = 0.05) -> ReplayResult:
        r = np.asarray(self.accepted_rewards)
        m = r.shape[0]
        if m == 0:
            return ReplayResult(math.nan, math.nan, math.nan, math.nan, 0, self.n_matched, self._position)
        value = float(r.mean())
        se = float(r.std(ddof=1) / math.sqrt(m)) if m > 1 else math.inf
        z = stats.norm.ppf(1 - alpha / 2)
        return ReplayResult(value, value - z * se, value + z * se, se, m, self.n_matched, self._position)


def replay(engine: Engine, data, *, batch_size: int = 1, weighting: str = "auto", seed=None) -> ReplayResult:
    """Replay ``data`` through ``engine`` (which learns from accepted rounds) and return the estimate.

    ``batch_size`` 1 lets the policy learn after every accepted round, as online.
    """
    env = ReplayEnvironment(data, engine.schema, weighting=weighting, seed=seed)
    while (contexts := env.next_batch(batch_size)) is not None:
        decisions = engine.decide_batch(contexts)
        due = env.respond(decisions)
        if len(due):
            engine.reward_batch(due.decision_ids, due.rewards)
        engine.cancel(due.cancelled)
    return env.result()
