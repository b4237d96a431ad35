"""MLflow tracking for experiment and evaluation jobs.

``mlflow`` is imported only when a tracker is enabled, so nothing on the engine's import
path pays for it. Params and metrics go through ``MlflowClient.log_batch`` (MLflow splits
at 1,000 per request), never one call per value.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping
from typing import Any

__all__ = ["Tracker", "flatten"]


def flatten(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings to dotted keys.

    >>> flatten({"policy": {"name": "linucb", "alpha": 0.5}, "seed": 1})
    {'policy.name': 'linucb', 'policy.alpha': 0.5, 'seed': 1}
    """
    out: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


class Tracker:
    """One MLflow run as a context manager; every method is a no-op when ``enabled`` is False.

    Parameters
    ----------
    enabled : bool
    uri : str or None
        Tracking URI; None keeps MLflow's own default (a local SQLite store).
    experiment : str
    run_name : str or None
    parent_run_id : str or None
        Nest this run under a parent (a sweep).

    Examples
    --------
    >>> with Tracker(enabled=False, experiment="demo") as run:
    ...     run.log_metrics({"reward": 1.0})
    >>> run.run_id is None
    True
    """

    def __init__(self, *, enabled: bool = True, uri: str | None = None, experiment: str = "omnibandit",
                 run_name: str | None = None, parent_run_id: str | None = None) -> None:
        self.enabled = enabled
        self.uri = uri
        self.experiment = experiment
        self.run_name = run_name
        self.parent_run_id = parent_run_id
        self.run_id: str | None = None
        self._mlflow = None
        self._client = None

    def __enter__(self) -> "Tracker":
        if not self.enabled:
            return self
        import mlflow

        self._mlflow = mlflow
        if self.uri:
            mlflow.set_tracking_uri(self.uri)
        mlflow.set_experiment(self.experiment)
        run = mlflow.start_run(run_name=self.run_name, parent_run_id=self.parent_run_id,
                               nested=self.parent_run_id is not None)
        self.run_id = run.info.run_id
        self._client = mlflow.tracking.MlflowClient()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if self._mlflow is not None:
            self._mlflow.end_run(status="FAILED" if exc_type else "FINISHED")

    @property
    def tracking_uri(self) -> str | None:
        return self._mlflow.get_tracking_uri() if self._mlflow is not None else None

    def log_params(self, params: Mapping[str, Any]) -> None:
        if self._client is None:
            return
        from mlflow.entities import Param

        items = [Param(k, str(v)[:6000]) for k, v in flatten(params).items()]
        for start in range(0, len(items), 100):
            self._client.log_batch(self.run_id, params=items[start:start + 100])

    def log_metrics(self, metrics: Mapping[str, float], step: int = 0) -> None:
        if self._client is None:
            return
        from mlflow.entities import Metric

        now = _now_ms()
        items = [Metric(k, float(v), now, step) for k, v in metrics.items() if v is not None and math.isfinite(v)]
        for start in range(0, len(items), 1000):
            self._client.log_batch(self.run_id, metrics=items[start:start + 1000])

    def log_series(self, series: Mapping[str, Any], steps) -> None:
        """Step-wise metrics: ``series[name][i]`` at step ``steps[i]``, all in batched requests."""
        if self._client is None:
            return
        from mlflow.entities import Metric

        now = _now_ms()
        steps = [int(s) for s in steps]
        items = [Metric(name, float(v), now, step) for name, values in series.items()
                 for step, v in zip(steps, values) if math.isfinite(v)]
        for start in range(0, len(items), 1000):
            self._client.log_batch(self.run_id, metrics=items[start:start + 1000])

    def log_figure(self, figure, artifact_file: str) -> None:
        """A matplotlib figure as a PNG artifact."""
        if self._mlflow is not None:
            self._mlflow.log_figure(figure, artifact_file)

    def log_text(self, text: str, artifact_file: str) -> None:
        if self._mlflow is not None:
            self._mlflow.log_text(text, artifact_file)

    def log_table(self, rows: list[Mapping[str, Any]], name: str) -> None:
        """``rows`` as ``<name>.csv`` and a Markdown ``<name>.md``."""
        if self._mlflow is None or not rows:
            return
        self.log_text(to_csv(rows), f"{name}.csv")
        self.log_text(to_markdown(rows), f"{name}.md")


def to_csv(rows: list[Mapping[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def to_markdown(rows: list[Mapping[str, Any]]) -> str:
    """A Markdown table (floats to 4 decimals).

    >>> print(to_markdown([{"method": "ips", "value": 0.51234}]))
    | method | value |
    | --- | --- |
    | ips | 0.5123 |
    """
    keys = list(rows[0])
    cell = lambda v: f"{v:.4f}" if isinstance(v, float) else str(v)  # noqa: E731
    lines = ["| " + " | ".join(keys) + " |", "| " + " | ".join("---" for _ in keys) + " |"]
    lines += ["| " + " | ".join(cell(r[k]) for k in keys) + " |" for r in rows]
    return "\n".join(lines)


def _now_ms() -> int:
    import time

    return int(time.time() * 1000)
