"""PNG plots of a simulated run: cumulative regret per policy, lift with intervals per use
case, reward by touchpoint. matplotlib runs headless (Agg) and is imported only here."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["regret_figure", "lift_figure", "touchpoint_figure", "log_plots"]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def regret_figure(runs):
    """Cumulative expected regret against the oracle, one line per policy."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    for run in runs:
        ax.plot(run.series["step"], run.series["cumulative_regret"], label=run.policy)
    ax.set_xlabel("events")
    ax.set_ylabel("cumulative regret (reward units)")
    ax.set_title("Regret against the simulator's oracle")
    ax.legend()
    fig.tight_layout()
    return fig


def lift_figure(rows: list[dict[str, Any]]):
    """Relative lift over control with its 95% interval, per use case (rows) and policy (markers)."""
    plt = _pyplot()
    use_cases = list(dict.fromkeys(r["use_case"] for r in rows))
    policies = list(dict.fromkeys(r["policy"] for r in rows))
    fig, ax = plt.subplots(figsize=(7, 1.0 + 0.8 * len(use_cases)))
    width = 0.8 / max(len(policies), 1)
    for j, policy in enumerate(policies):
        ys, xs, lo, hi = [], [], [], []
        for i, uc in enumerate(use_cases):
            row = next((r for r in rows if r["use_case"] == uc and r["policy"] == policy), None)
            if row is None or not math.isfinite(row["lift"]):
                continue
            ys.append(i + (j - (len(policies) - 1) / 2) * width)
            xs.append(100 * row["lift"])
            lo.append(100 * (row["lift"] - row["lift_ci_low"]))
            hi.append(100 * (row["lift_ci_high"] - row["lift"]))
        ax.errorbar(xs, ys, xerr=[lo, hi], fmt="o", capsize=3, label=policy)
    ax.axvline(0.0, color="grey", lw=0.8)
    ax.set_yticks(range(len(use_cases)), use_cases)
    ax.invert_yaxis()
    ax.set_xlabel("lift over control, % (95% interval)")
    ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def touchpoint_figure(runs):
    """Mean realised reward of each policy's decisions by touchpoint (grouped bars)."""
    plt = _pyplot()
    touchpoints = list(dict.fromkeys(t for run in runs for t in run.touchpoint_reward))
    fig, ax = plt.subplots(figsize=(8, 4))
    width = 0.8 / max(len(runs), 1)
    x = np.arange(len(touchpoints))
    for j, run in enumerate(runs):
        ax.bar(x + (j - (len(runs) - 1) / 2) * width, [run.touchpoint_reward.get(t, np.nan) for t in touchpoints],
               width, label=run.policy)
    ax.set_xticks(x, touchpoints, rotation=30, ha="right")
    ax.set_ylabel("mean reward")
    ax.set_title("Reward by touchpoint")
    ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def log_plots(tracker, rows, runs) -> None:
    """Log the three plots as PNG artifacts under ``plots/``."""
    plt = _pyplot()
    for name, fig in (("cumulative_regret", regret_figure(runs)), ("lift", lift_figure(rows)),
                      ("reward_by_touchpoint", touchpoint_figure(runs))):
        tracker.log_figure(fig, f"plots/{name}.png")
        plt.close(fig)
