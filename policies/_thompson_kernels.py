"""Pieces shared by the Thompson-sampling kernels: which actions contend, and wins → probabilities."""

from __future__ import annotations

import numpy as np

from ._numba import kernel

# An action whose score upper bound (mean + PRUNE_SD sd) is below another action's
# lower bound (mean - PRUNE_SD sd) wins a Thompson draw with probability < 6e-7:
# it is left out of the draws (its probability is then exactly the floor).
PRUNE_SD = 5.0


@kernel(inline="always")
def select_contenders(mean, sd, eligible, contenders):
    """Write the eligible actions that can still win into ``contenders``; returns (count, n_eligible)."""
    n_actions = mean.shape[0]
    n_eligible = 0
    lower = -np.inf
    for k in range(n_actions):
        if eligible[k]:
            n_eligible += 1
            lo = mean[k] - PRUNE_SD * sd[k]
            if lo > lower:
                lower = lo
    n_cont = 0
    for k in range(n_actions):
        if eligible[k] and mean[k] + PRUNE_SD * sd[k] >= lower:
            contenders[n_cont] = k
            n_cont += 1
    return n_cont, n_eligible


@kernel(inline="always")
def wins_to_probabilities(counts, eligible, n_eligible, epsilon, n_draws, out):
    """out[k] = (1-ε)·counts[k]/n_draws + ε/K_eligible on eligible actions, 0 elsewhere."""
    floor = epsilon / n_eligible
    scale = (1.0 - epsilon) / n_draws
    for k in range(out.shape[0]):
        out[k] = floor + scale * counts[k] if eligible[k] else 0.0
