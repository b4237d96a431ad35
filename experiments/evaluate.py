"""``omnibandit-evaluate``: what would a policy have done on this log?

Runs on an event log (``omnibandit.engine.eventlog``), or on a VW DSJSON log (``*.dsjson``):

1. replay (Li et al. 2011) of the whole log, the policy learning online from matches;
2. off-policy estimates: the policy is trained on the first ``train_share`` of the log
   (in order), a per-action ridge reward model is fitted on the same part, and every
   estimator (DM, IPS, SNIPS, DR, switch-DR) scores the policy's probabilities on the
   rest.

Prints a table and, with ``tracking=mlflow``, logs params, metrics and the table
(``evaluation.csv``, ``evaluation.md``) plus the resolved config to one MLflow run::

    omnibandit-evaluate log=events.jsonl policy=lin_ts
    omnibandit-evaluate -m log=events.jsonl policy=linucb,lin_ts,vw
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import hydra
import numpy as np
from omegaconf import DictConfig, OmegaConf

from omnibandit.engine import Engine
from omnibandit.engine.errors import ConfigurationError
from omnibandit.policies import make_policy
from omnibandit.simulators.replay import replay, schema_for_vectors

from . import ope
from .config import register_configs
from .logdata import LoggedBandit, load_log, read_dsjson
from .tracking import Tracker, to_markdown

__all__ = ["evaluate", "load_logged", "ridge_reward_model", "main"]

register_configs()


def ridge_reward_model(X, actions, rewards, n_actions: int, l2: float = 1.0) -> np.ndarray:
    """Per-action ridge coefficients θ (K, d) fitted on (X, actions, rewards).

    >>> theta = ridge_reward_model(np.ones((4, 1)), np.array([0, 0, 1, 1]), np.array([1.0, 1.0, 0.0, 0.0]), 2, 1e-9)
    >>> theta.round(6).tolist()
    [[1.0], [0.0]]
    """
    d = X.shape[1]
    theta = np.zeros((n_actions, d))
    for k in range(n_actions):
        rows = actions == k
        A = l2 * np.eye(d) + X[rows].T @ X[rows]
        theta[k] = np.linalg.solve(A, X[rows].T @ rewards[rows])
    return theta


def load_logged(path, *, on_error: str = "raise") -> LoggedBandit:
    """An omnibandit event log, or a VW DSJSON log when ``path`` ends in ``.dsjson``.

    DSJSON shared features carry no bias, touchpoint or stage columns; three columns
    (1, 0, 0) are put in front so the rows have the layout of a featurised context.
    """
    if str(path).endswith(".dsjson"):
        data = read_dsjson(path)
        fixed = np.zeros((len(data), 3))
        fixed[:, 0] = 1.0
        return dataclasses.replace(data, X=np.hstack([fixed, data.X]))
    return load_log(path, on_error=on_error)


def evaluate(cfg: DictConfig | dict) -> list[dict[str, Any]]:
    """Run replay and every estimator for each policy selected in ``cfg.policy`` on ``cfg.log``.

    ``cfg.policy`` maps a label to a policy config (``{"lin_ts": {"name": "lin_ts", "v": 0.3}}``,
    as the ``policy`` config group gives it). One row per policy and method, then the
    logging policy's own mean.
    """
    cfg = OmegaConf.create(cfg) if not isinstance(cfg, DictConfig) else cfg
    data = load_logged(cfg.log, on_error=cfg.on_error).only_rewarded()
    rows: list[dict[str, Any]] = []
    for label, conf in OmegaConf.to_container(cfg.policy, resolve=True).items():
        params = dict(conf)
        rows += _evaluate_policy(cfg, data, params.pop("name", label), params, label)
    logged = data.rewards[int(data.X.shape[0] * cfg.train_share):]
    se = float(logged.std(ddof=1) / math.sqrt(len(logged)))
    rows.append({"policy": "logging policy", "method": "on-policy mean", "value": float(logged.mean()),
                 "ci_low": float(logged.mean()) - 1.96 * se, "ci_high": float(logged.mean()) + 1.96 * se,
                 "std_err": se, "n": int(len(logged)), "ess": float(len(logged)), "clipped_share": 0.0})
    return rows


def _evaluate_policy(cfg: DictConfig, data: LoggedBandit, name: str, params: dict[str, Any],
                     label: str) -> list[dict[str, Any]]:
    n, d = data.X.shape
    k = data.n_actions
    if n < 10:
        raise ConfigurationError("log", cfg.log, f"has {n} rewarded decisions; at least 10 are needed.")
    if not 0 < cfg.train_share < 1:
        raise ConfigurationError("train_share", cfg.train_share, "must be in (0, 1).")
    rows = []
    schema = schema_for_vectors(data.action_names, d)
    engine = Engine.for_policy(schema, name, seed=cfg.seed, **params)
    result = replay(engine, data, batch_size=cfg.replay_batch_size, seed=cfg.seed)
    rows.append({"policy": label, "method": "replay", "value": result.value, "ci_low": result.ci_low,
                 "ci_high": result.ci_high, "std_err": result.std_err,
                 "n": result.n_accepted, "ess": float(result.n_accepted), "clipped_share": 0.0})
    cut = int(n * cfg.train_share)
    train, test = slice(0, cut), slice(cut, n)
    policy = make_policy(name, n_actions=k, n_features=d, seed=cfg.seed, **params)
    policy.update_batch(data.X[train], data.actions[train], data.rewards[train], data.propensities[train])
    eligible = data.probabilities[test] > 0
    target = policy.probabilities_batch(data.X[test], eligible)
    theta = ridge_reward_model(data.X[train], data.actions[train], data.rewards[train], k, cfg.ridge_l2)
    model = data.X[test] @ theta.T
    args = (data.rewards[test], data.actions[test], data.propensities[test], target)
    common = {"ci": cfg.ci, "n_bootstrap": cfg.n_bootstrap, "seed": cfg.seed}
    estimates = [
        ope.direct_method(*args, model, **common),
        ope.ips(*args, **common),
        ope.snips(*args, **common),
        ope.doubly_robust(*args, model, clip=cfg.dr_clip, **common),
        ope.switch_dr(*args, model, tau=cfg.switch_tau, **common),
    ]
    for e in estimates:
        rows.append({"policy": label, "method": e.estimator, "value": e.value, "ci_low": e.ci_low, "ci_high": e.ci_high,
                     "std_err": e.std_err, "n": e.n, "ess": e.ess, "clipped_share": e.clipped_share})
    return rows


@hydra.main(version_base="1.3", config_path="../conf", config_name="evaluate")
def main(cfg: DictConfig) -> None:
    """The Hydra entry point (``omnibandit-evaluate``)."""
    tracking = cfg.tracking
    with Tracker(enabled=tracking.enabled, uri=tracking.uri, experiment=tracking.experiment,
                 run_name="evaluate-" + "+".join(cfg.policy)) as run:
        run.log_params(OmegaConf.to_container(cfg, resolve=True))
        rows = evaluate(cfg)
        print(to_markdown(rows))
        run.log_metrics({f"{r['policy']}.{r['method']}.{key}": r[key] for r in rows if r["policy"] != "logging policy"
                         for key in ("value", "ci_low", "ci_high", "ess")})
        run.log_table(rows, "evaluation")
        run.log_text(OmegaConf.to_yaml(cfg, resolve=True), "config.yaml")
        if run.run_id:
            print(f"MLflow run {run.run_id} in experiment {tracking.experiment!r} at {run.tracking_uri}")


if __name__ == "__main__":
    main()
