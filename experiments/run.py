"""``omnibandit-run``: simulate the customer base, let each policy decide, score it against the agenda.

Every policy in the ``policy`` config group selection runs on the same simulated
customer stream (same seed: common random numbers), through its own engine, with the
agenda's randomised control holdout. The job prints the scorecard and records one MLflow
run: params (the flattened config), step-wise metrics logged in batches, and artifacts
(the resolved config, ``scorecard.csv`` / ``scorecard.md`` and PNG plots)::

    omnibandit-run                                   # linucb, lin_ts, egreedy and uniform
    omnibandit-run policy=lin_ts simulator.n_events=1000000
    omnibandit-run -m policy=linucb,lin_ts seed=0,1,2   # a sweep: runs nested under a parent run
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from collections.abc import Mapping
from typing import Any

import hydra
import numpy as np
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from omnibandit.engine import DecisionBatch, Engine
from omnibandit.engine.errors import ConfigurationError, LateReward, OmnibanditError, UnknownDecision
from omnibandit.simulators.classification import from_sklearn
from omnibandit.simulators.journey import JourneyScenario, JourneySimulator

from .agenda import SCORECARD_COLUMNS, Agenda, ArmStats, ControlHoldout, scorecard_row
from .config import register_configs
from .tracking import Tracker, to_markdown

__all__ = ["PolicyRun", "run_policy", "run_experiment", "rank_rows", "main", "SweepParentRun"]

PARENT_RUN_ENV = "OMNIBANDIT_PARENT_RUN_ID"


@dataclasses.dataclass
class PolicyRun:
    """What one policy did on the simulated stream.

    Attributes
    ----------
    policy : str
    arms : list of (policy ArmStats, control ArmStats), one pair per use case
    series : dict of str to numpy.ndarray
        Step-wise metrics (``step`` is the number of events decided so far).
    touchpoint_reward : dict of str to float
        Mean realised reward of the policy's decisions per touchpoint.
    seconds : float
        Wall time of the decision loop (simulator + engine), after warm-up.
    events : int
    engine_stats : dict
    dropped_rewards : int
        Rewards that arrived for a decision the engine no longer held (evicted or expired).
    capped_rewards : int
        Rewards capped to [0, 1] for a policy that learns only from such rewards (Beta TS).

    Examples
    --------
    >>> import numpy as np
    >>> run = PolicyRun("linucb", [], {"step": np.array([1000.0])}, {}, seconds=0.5, events=1000, engine_stats={})
    >>> run.events_per_second
    2000.0
    """

    policy: str
    arms: list[tuple[ArmStats, ArmStats]]
    series: dict[str, np.ndarray]
    touchpoint_reward: dict[str, float]
    seconds: float
    events: int
    engine_stats: dict[str, Any]
    dropped_rewards: int = 0
    capped_rewards: int = 0

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else math.nan


def run_policy(engine: Engine, simulator, agenda: Agenda, *, seed: int, policy: str | None = None,
               log_every: int = 2000, progress: bool = False) -> PolicyRun:
    """Run ``engine`` on ``simulator`` with ``agenda``'s control holdout until the stream ends.

    Examples
    --------
    >>> from omnibandit.simulators.journey import JourneySimulator, OUTCOMES
    >>> sim = JourneySimulator(seed=0, n_customers=1000, n_events=2000)
    >>> agenda = Agenda([{"id": "basket", "hypothesis": "h", "stage": "in_visit",
    ...                   "touchpoints": ["point_of_sale", "mobile_app", "associate_device"],
    ...                   "actions": ["no_message", "bonus_points"], "outcome": "basket", "control": "no_message"}],
    ...                 sim.schema, OUTCOMES)
    >>> result = run_policy(Engine.for_policy(sim.schema, "egreedy", seed=0), sim, agenda, seed=0)
    >>> result.arms[0][0].n > 0 and result.arms[0][1].n > 0
    True
    """
    name = policy or engine.policy.name
    n_uc = len(agenda)
    n_tp = len(simulator.schema.touchpoints)
    holdout = ControlHoldout(agenda, engine.featuriser.eligibility, seed=np.random.SeedSequence(seed).spawn(2)[1])
    arms = [(ArmStats(), ArmStats()) for _ in range(n_uc)]
    # per stream position of a decided context: (touchpoint * n_uc + use case) * 2 + arm
    tags = np.full(len(simulator), -1, dtype=np.int64)
    tp_sum, tp_n = np.zeros(n_tp), np.zeros(n_tp)
    steps: list[list[float]] = []
    totals = {"reward": 0.0, "regret": 0.0, "expected": 0.0, "oracle": 0.0}
    budgeted = bool(np.isfinite(engine.remaining_budget).any())
    control_seq = 0
    decided = 0
    next_log = log_every
    dropped = 0
    capped = 0
    try:  # Beta TS learns from rewards in [0, 1] only: it gets them capped (the scorecard keeps the true ones)
        engine.policy.check_reward(2.0)
        unit_rewards = False
    except OmnibanditError:
        unit_rewards = True
    bar = _progress(total=len(simulator), desc=name, enabled=progress)
    start = time.perf_counter()

    def absorb(due) -> None:
        nonlocal dropped, capped
        if not len(due):
            return
        if due.event_index is None:
            raise ConfigurationError("environment", type(simulator).__name__,
                                     "run_policy needs reward events that carry event_index.")
        packed = tags[due.event_index]
        arm, uc, tp = packed % 2, (packed // 2) % n_uc, packed // (2 * n_uc)
        rewards = agenda.rewards(uc, due.outcomes)
        outcomes = np.column_stack([due.outcomes[o] for o in agenda.outcomes])
        target = outcomes[np.arange(len(due)), agenda.target[uc]]
        ours = np.flatnonzero(arm == 0)
        if ours.shape[0]:
            ids = [due.decision_ids[i] for i in ours.tolist()]
            learn = rewards[ours]
            if unit_rewards:
                capped += int(((learn < 0) | (learn > 1)).sum())
                learn = np.clip(learn, 0.0, 1.0)
            when = float(due.times[ours].min())
            try:
                engine.reward_batch(ids, learn, time=when)
            except (LateReward, UnknownDecision):  # some were evicted or expired: learn the rest, count the drop
                alive = np.fromiter(map(engine.pending.index.__contains__, ids), dtype=np.bool_, count=len(ids))
                dropped += int((~alive).sum())
                if alive.any():
                    engine.reward_batch([i for i, ok in zip(ids, alive.tolist()) if ok], learn[alive], time=when)
            np.add.at(tp_sum, tp[ours], rewards[ours])
            np.add.at(tp_n, tp[ours], 1.0)
            totals["reward"] += float(rewards[ours].sum())
        group = uc * 2 + arm
        sums = [np.bincount(group, weights=w, minlength=2 * n_uc) for w in (None, rewards, rewards**2, target)]
        for g in np.flatnonzero(sums[0]).tolist():
            arms[g // 2][g % 2].add_reward_sums(*(s[g] for s in sums))

    def point() -> list[float]:
        return [decided, totals["reward"], totals["regret"], totals["expected"], totals["oracle"],
                *(tp_sum / np.maximum(tp_n, 1))]

    while (batch := simulator.next_batch()) is not None:
        n = len(batch)
        tp, stage = engine.featuriser.touchpoint_stage_codes(batch)
        split = holdout.assign(stage, tp, engine.remaining_budget if budgeted else None)
        uc, control, treat, E = split.use_case, split.control, split.treat, split.eligible
        inside = uc >= 0
        R = agenda.expected_rewards(np.maximum(uc, 0), simulator.expected_outcomes())
        best = np.max(np.where(E, R, -np.inf), axis=1)
        actions = np.full(n, -1, dtype=np.int64)
        ids: list[str] = [""] * n  # "": outside the agenda, nothing decided
        if treat.any():
            rows = np.flatnonzero(treat)
            sub = dataclasses.replace(batch.take(rows), eligible=agenda.candidates[uc[rows]])
            decisions = engine.decide_batch(sub)
            actions[rows] = decisions.actions
            for i, d in zip(rows.tolist(), decisions.decision_ids):
                ids[i] = d
        if control.any():
            rows = np.flatnonzero(control)
            actions[rows] = split.control_action[rows]
            for i in rows.tolist():
                control_seq += 1
                ids[i] = f"control-{control_seq}"
        decided_rows = np.flatnonzero(inside)
        chosen = R[decided_rows, actions[decided_rows]]
        regret = best[decided_rows] - chosen
        arm = control[decided_rows].astype(np.int64)
        packed = (tp[decided_rows] * n_uc + uc[decided_rows]) * 2 + arm
        tags[decided + decided_rows] = packed
        group = uc[decided_rows] * 2 + arm
        sums = [np.bincount(group, weights=w, minlength=2 * n_uc) for w in (None, chosen, regret)]
        for g in np.flatnonzero(sums[0]).tolist():
            arms[g // 2][g % 2].add_decision_sums(*(s[g] for s in sums))
        ours = arm == 0
        totals["regret"] += float(regret[ours].sum())
        totals["expected"] += float(chosen[ours].sum())
        totals["oracle"] += float(best[decided_rows][ours].sum())
        absorb(simulator.respond(DecisionBatch(ids, actions, np.ones(n), np.zeros((0, 0)), name, 0,
                                               np.asarray(batch.time))))
        decided += n
        bar.update(n)
        if decided >= next_log:
            steps.append(point())
            next_log = decided + log_every
    absorb(simulator.flush())
    if steps and steps[-1][0] == decided:
        steps.pop()
    steps.append(point())  # the last point includes the rewards still in flight at the end
    seconds = time.perf_counter() - start
    bar.close()
    touchpoints = simulator.schema.touchpoints
    columns = ["step", "cumulative_reward", "cumulative_regret", "cumulative_expected_reward",
               "cumulative_oracle_reward", *[f"reward.{t}" for t in touchpoints]]
    table = np.array(steps, dtype=np.float64).reshape(-1, len(columns))
    return PolicyRun(policy=name, arms=arms, series={c: table[:, j] for j, c in enumerate(columns)},
                     touchpoint_reward={t: float(tp_sum[j] / tp_n[j]) for j, t in enumerate(touchpoints) if tp_n[j]},
                     seconds=seconds, events=decided, engine_stats=dict(engine.stats), dropped_rewards=dropped,
                     capped_rewards=capped)


def _progress(*, total: int, desc: str, enabled: bool):
    """A tqdm bar that appears only when the run lasts more than two seconds."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="ev", unit_scale=True, delay=2.0, mininterval=0.5,
                disable=not enabled, leave=False)


def _policies(cfg: DictConfig) -> dict[str, dict[str, Any]]:
    selected = OmegaConf.to_container(cfg.policy, resolve=True)
    if not isinstance(selected, Mapping) or not selected:
        raise ValueError("policy: select one or more policies, e.g. policy=linucb or 'policy=[linucb,lin_ts]'.")
    return {key: dict(value) for key, value in selected.items()}


def build_simulator(cfg: DictConfig):
    """The environment ``cfg.simulator`` names: ``journey`` or ``classification``."""
    params = {k: v for k, v in OmegaConf.to_container(cfg.simulator, resolve=True).items() if k != "name"}
    name = cfg.simulator.name
    if name == "journey":
        return JourneySimulator(JourneyScenario(**params), seed=int(cfg.seed))
    if name == "classification":
        return from_sklearn(params.pop("dataset"), seed=int(cfg.seed), **params)
    raise ConfigurationError("simulator.name", name, "known simulators: journey, classification.")


def build_agenda(cfg: DictConfig, simulator) -> Agenda:
    conf = OmegaConf.to_container(cfg.agenda, resolve=True)
    return Agenda(conf["use_cases"], simulator.schema, simulator.outcomes, holdout_share=conf["holdout_share"])


def run_experiment(cfg: DictConfig) -> tuple[list[dict[str, Any]], list[PolicyRun], Agenda]:
    """Run every selected policy on the same stream; returns (ranked scorecard rows, runs, agenda)."""
    runs: list[PolicyRun] = []
    agenda = None
    for key, params in _policies(cfg).items():
        simulator = build_simulator(cfg)  # the same seed: the same customer stream for every policy
        if agenda is None:
            agenda = build_agenda(cfg, simulator)
        name = params.pop("name", key)
        engine = Engine.for_policy(simulator.schema, name, seed=int(cfg.seed),
                                   pending_capacity=int(cfg.engine.pending_capacity), **params)
        engine.warmup()
        runs.append(run_policy(engine, simulator, agenda, seed=int(cfg.seed), policy=key,
                               log_every=int(cfg.log_every), progress=bool(cfg.progress)))
    rows = [scorecard_row(uc, run.policy, *run.arms[u]) for run in runs for u, uc in enumerate(agenda.use_cases)]
    return rank_rows(rows), runs, agenda


def rank_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Use cases by expected value (best policy's), then priority; policies in their given order."""
    best: dict[str, tuple[float, int]] = {}
    for r in rows:
        ev = r["expected_value"] if math.isfinite(r["expected_value"]) else -math.inf
        prev = best.get(r["use_case"], (-math.inf, r["priority"]))
        best[r["use_case"]] = (max(prev[0], ev), r["priority"])
    order = sorted(best, key=lambda u: (-best[u][0], best[u][1]))
    rank = {u: i for i, u in enumerate(order)}
    return sorted(rows, key=lambda r: rank[r["use_case"]])


def summary_metrics(rows: list[dict[str, Any]], runs: list[PolicyRun]) -> dict[str, float]:
    """Final scalar metrics: per policy totals and throughput, per use case and policy scorecard figures."""
    out: dict[str, float] = {}
    for run in runs:
        p = run.policy
        out[f"{p}.events_per_second"] = run.events_per_second
        out[f"{p}.dropped_rewards"] = float(run.dropped_rewards)
        out[f"{p}.capped_rewards"] = float(run.capped_rewards)
        for key in ("decisions", "rewards", "expired", "evicted"):
            if key in run.engine_stats:
                out[f"{p}.engine.{key}"] = float(run.engine_stats[key])
    for r in rows:
        for column in ("reward", "control_reward", "lift", "lift_ci_low", "lift_ci_high", "p_beats_control",
                       "incremental_value", "regret"):
            out[f"{r['policy']}.{r['use_case']}.{column}"] = r[column]
    return out


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg: DictConfig) -> None:
    """The Hydra entry point (``omnibandit-run``)."""
    from .plots import log_plots

    tracking = cfg.tracking
    names = "+".join(_policies(cfg))
    with Tracker(enabled=tracking.enabled, uri=tracking.uri, experiment=tracking.experiment,
                 run_name=f"{names}-seed{cfg.seed}", parent_run_id=os.environ.get(PARENT_RUN_ENV)) as run:
        run.log_params(OmegaConf.to_container(cfg, resolve=True))
        rows, runs, agenda = run_experiment(cfg)
        table = [{k: r[k] for k in SCORECARD_COLUMNS} for r in rows]
        print(to_markdown([{**t, "expected_value": r["expected_value"]} for t, r in zip(table, rows)]))
        for result in runs:
            print(f"{result.policy}: {result.events:,} events in {result.seconds:.1f} s "
                  f"({result.events_per_second:,.0f} events/s), dropped rewards {result.dropped_rewards}")
        for result in runs:
            run.log_series({f"{result.policy}.{k}": v for k, v in result.series.items() if k != "step"},
                           steps=result.series["step"])
        run.log_metrics(summary_metrics(rows, runs))
        run.log_text(OmegaConf.to_yaml(cfg, resolve=True), "config.yaml")
        run.log_table(table, "scorecard")
        if run.run_id:
            log_plots(run, rows, runs)
            print(f"MLflow run {run.run_id} in experiment {tracking.experiment!r} at {run.tracking_uri} "
                  f"(browse with: mlflow ui --backend-store-uri {run.tracking_uri})")


class SweepParentRun(Callback):
    """Hydra callback: a parent MLflow run for a multirun, created in the launching process.

    Jobs find its id in the ``OMNIBANDIT_PARENT_RUN_ID`` environment variable and nest
    under it; the tracking URI is pinned (absolute) so every job writes to the same store.

    Examples
    --------
    >>> from omegaconf import OmegaConf
    >>> callback = SweepParentRun()
    >>> callback.on_multirun_start(OmegaConf.create({"tracking": {"enabled": False}}))  # no tracking: no run
    >>> callback.run_id is None
    True
    """

    def __init__(self) -> None:
        self.run_id: str | None = None
        self._client = None

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        tracking = config.get("tracking")
        if tracking is None or not tracking.get("enabled", False):
            return
        import mlflow

        if tracking.get("uri"):
            mlflow.set_tracking_uri(tracking.uri)
        uri = mlflow.get_tracking_uri()
        os.environ["MLFLOW_TRACKING_URI"] = uri
        client = mlflow.tracking.MlflowClient(uri)
        experiment = client.get_experiment_by_name(tracking.experiment)
        experiment_id = experiment.experiment_id if experiment else client.create_experiment(tracking.experiment)
        overrides = " ".join(config.hydra.overrides.task) if "hydra" in config else ""
        run = client.create_run(experiment_id, run_name=f"sweep {overrides}".strip(),
                                tags={"omnibandit.sweep": "parent"})
        self.run_id, self._client = run.info.run_id, client
        os.environ[PARENT_RUN_ENV] = self.run_id

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        if self._client is not None and self.run_id is not None:
            self._client.set_terminated(self.run_id)
            os.environ.pop(PARENT_RUN_ENV, None)


register_configs()

if __name__ == "__main__":
    main()
