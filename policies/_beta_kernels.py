"""Numba kernels for Bernoulli Thompson sampling with Beta posteriors."""

from __future__ import annotations

import numpy as np

from ._linear_kernels import PRUNE_SD
from ._numba import kernel
from ._rng import gamma


@kernel
def group_of(x, group_start, group_stop):
    """Index of the hot entry of x[group_start:group_stop] (0 when no grouping)."""
    if group_stop <= group_start:
        return 0
    best = group_start
    for i in range(group_start, group_stop):
        if x[i] > x[best]:
            best = i
    return best - group_start


@kernel
def beta_row(x, alpha, beta, group_start, group_stop, eligible, epsilon, n_draws, rng, counts, contenders, out):
    g = group_of(x, group_start, group_stop)
    n_actions = alpha.shape[1]
    n_eligible = 0
    lower = -np.inf
    for k in range(n_actions):
        counts[k] = 0.0
        if eligible[k]:
            n_eligible += 1
            a, b = alpha[g, k], beta[g, k]
            sd = np.sqrt(a * b / ((a + b) ** 2 * (a + b + 1.0)))
            lo = a / (a + b) - PRUNE_SD * sd
            if lo > lower:
                lower = lo
    n_cont = 0
    for k in range(n_actions):
        if eligible[k]:
            a, b = alpha[g, k], beta[g, k]
            sd = np.sqrt(a * b / ((a + b) ** 2 * (a + b + 1.0)))
            if a / (a + b) + PRUNE_SD * sd >= lower:
                contenders[n_cont] = k
                n_cont += 1
    if n_cont == 1:
        counts[contenders[0]] = n_draws
    else:
        for _ in range(n_draws):
            best = -1.0
            arg = contenders[0]
            for j in range(n_cont):
                k = contenders[j]
                ga = gamma(rng, alpha[g, k])
                gb = gamma(rng, beta[g, k])
                s = ga / (ga + gb)
                if s > best:
                    best = s
                    arg = k
            counts[arg] += 1.0
    floor = epsilon / n_eligible
    scale = (1.0 - epsilon) / n_draws
    for k in range(n_actions):
        out[k] = floor + scale * counts[k] if eligible[k] else 0.0


@kernel
def beta_batch(X, alpha, beta, group_start, group_stop, eligible, epsilon, n_draws, rng, counts, contenders, out):
    for n in range(X.shape[0]):
        beta_row(X[n], alpha, beta, group_start, group_stop, eligible[n], epsilon, n_draws, rng, counts,
                 contenders, out[n])


@kernel
def beta_update_batch(X, actions, rewards, alpha, beta, group_start, group_stop):
    for n in range(X.shape[0]):
        g = group_of(X[n], group_start, group_stop)
        alpha[g, actions[n]] += rewards[n]
        beta[g, actions[n]] += 1.0 - rewards[n]
