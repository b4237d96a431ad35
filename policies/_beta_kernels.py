"""Numba kernels for Bernoulli Thompson sampling with Beta posteriors."""

from __future__ import annotations

import numpy as np

from ._thompson_kernels import select_contenders, wins_to_probabilities
from ._numba import kernel
from ._rng import gamma


@kernel(inline="always")
def group_of(x, group_start, group_stop):
    """Index of the hot entry of x[group_start:group_stop] (0 when no grouping)."""
    if group_stop <= group_start:
        return 0
    best = group_start
    for i in range(group_start, group_stop):
        if x[i] > x[best]:
            best = i
    return best - group_start


@kernel(inline="always")
def beta_row(x, alpha, beta, group_start, group_stop, eligible, epsilon, n_draws, rng, mean, sd, counts, contenders,
             out):
    g = group_of(x, group_start, group_stop)
    for k in range(alpha.shape[1]):
        counts[k] = 0.0
        a, b = alpha[g, k], beta[g, k]
        mean[k] = a / (a + b)
        sd[k] = np.sqrt(a * b / ((a + b) ** 2 * (a + b + 1.0)))
    n_cont, n_eligible = select_contenders(mean, sd, eligible, contenders)
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
    wins_to_probabilities(counts, eligible, n_eligible, epsilon, n_draws, out)


@kernel
def beta_batch(X, alpha, beta, group_start, group_stop, eligible, epsilon, n_draws, rng, mean, sd, counts,
               contenders, out):
    for n in range(X.shape[0]):
        beta_row(X[n], alpha, beta, group_start, group_stop, eligible[n], epsilon, n_draws, rng, mean, sd, counts,
                 contenders, out[n])


@kernel
def beta_update_batch(X, actions, rewards, alpha, beta, group_start, group_stop):
    for n in range(X.shape[0]):
        g = group_of(X[n], group_start, group_stop)
        alpha[g, actions[n]] += rewards[n]
        beta[g, actions[n]] += 1.0 - rewards[n]
