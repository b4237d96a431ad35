"""omnibandit-run: config composition, the experiment on a tiny stream, and end-to-end runs into MLflow."""

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.errors import ConfigCompositionException

from omnibandit.experiments.agenda import SCORECARD_COLUMNS
from omnibandit.experiments.config import register_configs
from omnibandit.experiments.run import run_experiment

CONF = str(Path(__file__).resolve().parents[1] / "conf")
register_configs()
TINY = ["simulator.n_events=6000", "simulator.n_customers=2000", "tracking=none", "progress=false"]


def composed(*overrides):
    with initialize_config_dir(config_dir=CONF, version_base="1.3"):
        return compose("config", overrides=list(overrides))


def test_the_default_config_compares_four_policies_on_the_retail_agenda():
    cfg = composed()
    assert list(cfg.policy) == ["linucb", "lin_ts", "egreedy", "uniform"]
    assert cfg.simulator.name == "journey" and cfg.simulator.n_events == 200_000 and cfg.seed == 0
    assert cfg.agenda.name == "retail" and len(cfg.agenda.use_cases) == 4
    assert cfg.tracking.enabled and cfg.tracking.uri is None and cfg.tracking.experiment == "omnibandit"


@pytest.mark.parametrize("policy", ["linucb", "lin_ts", "beta_ts", "egreedy", "uniform", "control"])
@pytest.mark.parametrize("tracking", ["mlflow", "none"])
def test_every_group_option_composes(policy, tracking):
    cfg = composed(f"policy={policy}", f"tracking={tracking}")
    assert list(cfg.policy) == [policy] and cfg.tracking.enabled == (tracking == "mlflow")


def test_the_classification_simulator_brings_its_own_agenda_and_runs():
    cfg = composed("simulator=classification", "simulator.dataset=wine", "simulator.n_events=3000",
                   "policy=[linucb,uniform]", "tracking=none", "progress=false")
    assert cfg.agenda.name == "classification" and cfg.simulator.dataset == "wine"
    rows, runs, agenda = run_experiment(cfg)
    assert agenda.candidates.all() and [r["policy"] for r in rows] == ["linucb", "uniform"]
    by_policy = {r["policy"]: r for r in rows}
    # the same stream and holdout for both: identical control arms
    assert by_policy["linucb"]["control_reward"] == by_policy["uniform"]["control_reward"]
    assert by_policy["linucb"]["reward"] > 0.8 and by_policy["linucb"]["verdict"] == "adopt"
    assert by_policy["linucb"]["regret"] < by_policy["uniform"]["regret"]


@pytest.mark.parametrize("override", ["simulator.n_event=5", "simulator.n_events=lots", "policy.linucb.alpah=1",
                                      "agenda.holdout_share=half", "agenda.use_cases.0.stagee=x", "tracking.urii=x",
                                      "policy=lincub"])
def test_a_typo_in_an_override_fails_with_hydras_error(override):
    with pytest.raises(ConfigCompositionException):
        composed(override)


def test_a_tiny_experiment_scores_every_use_case_and_policy():
    cfg = composed("policy=[linucb,control]", *TINY)
    rows, runs, agenda = run_experiment(cfg)
    assert {(r["use_case"], r["policy"]) for r in rows} == {(u, p) for u in agenda.ids for p in ("linucb", "control")}
    assert all(set(SCORECARD_COLUMNS) <= set(r) for r in rows)
    assert all(r["verdict"] in ("adopt", "keep testing", "stop") for r in rows)
    assert all(run.events == 6000 and run.dropped_rewards == 0 for run in runs)
    # ranked by expected value: the first use case's best expected value is the largest
    best = {}
    for r in rows:
        best[r["use_case"]] = max(best.get(r["use_case"], -float("inf")), r["expected_value"])
    order = list(dict.fromkeys(r["use_case"] for r in rows))
    assert [best[u] for u in order] == sorted(best.values(), reverse=True)


def run_app(tmp_path, *overrides, multirun=False):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    args = [sys.executable, "-m", "omnibandit.experiments.run", *(["-m"] if multirun else []),
            f"tracking.uri={uri}", "tracking.experiment=test", "simulator.n_events=6000", "simulator.n_customers=2000",
            "log_every=500", f"hydra.run.dir={tmp_path / 'run'}", f"hydra.sweep.dir={tmp_path / 'sweep'}", *overrides]
    done = subprocess.run(args, capture_output=True, text=True, timeout=600, cwd=tmp_path,
                          env={**os.environ, "MLFLOW_TRACKING_URI": ""})
    assert done.returncode == 0, done.stderr[-3000:]
    import mlflow

    client = mlflow.tracking.MlflowClient(uri)
    experiment = client.get_experiment_by_name("test")
    return done, client, client.search_runs([experiment.experiment_id])


def test_an_end_to_end_run_is_recorded_in_mlflow(tmp_path):
    done, client, runs = run_app(tmp_path, "policy=[linucb,uniform]", "seed=3")
    assert len(runs) == 1
    run = runs[0]
    assert "| use_case | policy |" in done.stdout and f"MLflow run {run.info.run_id}" in done.stdout
    params = run.data.params
    assert params["seed"] == "3" and params["simulator.n_events"] == "6000" and params["policy.linucb.alpha"] == "0.5"
    history = client.get_metric_history(run.info.run_id, "linucb.cumulative_regret")
    steps = sorted(m.step for m in history)
    assert len(steps) >= 5 and len(set(steps)) == len(steps) and steps[-1] == 6000 and steps[0] >= 500
    assert {"uniform.cumulative_reward", "linucb.reward.point_of_sale", "linucb.pre_visit_offers.lift"} <= set(
        run.data.metrics)
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    plots = {a.path for a in client.list_artifacts(run.info.run_id, "plots")}
    assert {"config.yaml", "scorecard.csv", "scorecard.md", "plots"} <= artifacts
    assert plots == {"plots/cumulative_regret.png", "plots/lift.png", "plots/reward_by_touchpoint.png"}
    local = client.download_artifacts(run.info.run_id, "scorecard.csv", str(tmp_path))
    table = list(csv.DictReader(io.StringIO(Path(local).read_text())))
    assert tuple(table[0]) == SCORECARD_COLUMNS and len(table) == 8
    png = Path(client.download_artifacts(run.info.run_id, "plots/lift.png", str(tmp_path)))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_sweep_nests_its_runs_under_one_parent_run(tmp_path):
    _, client, runs = run_app(tmp_path, "policy=linucb,uniform", "seed=0,1", "tracking.experiment=test", multirun=True)
    parents = [r for r in runs if r.data.tags.get("omnibandit.sweep") == "parent"]
    children = [r for r in runs if r not in parents]
    assert len(parents) == 1 and len(children) == 4
    assert {r.data.tags.get("mlflow.parentRunId") for r in children} == {parents[0].info.run_id}
    assert sorted((r.data.params["seed"], next(k.split(".")[1] for k in r.data.params if k.startswith("policy.")))
                  for r in children) == [("0", "linucb"), ("0", "uniform"), ("1", "linucb"), ("1", "uniform")]
    assert parents[0].info.status == "FINISHED"
