"""Engine kernels: featurisation, and drawing actions from probability vectors.

Draws take their uniforms from the engine's own xoshiro256** state (``uint64[4]``,
advanced in place), so the single and batch paths share one stream, which snapshots
save and recovery replays.
"""

from __future__ import annotations

import numpy as np

from omnibandit.policies._numba import kernel
from omnibandit.policies._rng import uniform


@kernel(nogil=False)
def assemble(raw, params, num_start, categorical, out, present, touchpoint, stage, market, identification):
    """Write the feature vector of one context into ``out``.

    ``params`` rows are (low, high, center, scale, impute_scaled, log, missing_column);
    ``missing_column`` is -1 for a required feature (the caller checks presence).
    ``touchpoint``, ``stage``, ``market`` and ``identification`` are the columns of their
    one-hots (-1: none), ``categorical`` those of each categorical feature. Returns 0, or
    i+1 if numeric feature i is not finite, or -(i+1) if it is outside [low, high].
    Nothing is written when a feature is rejected.
    """
    n = raw.shape[0]
    for i in range(n):
        if present[i]:
            v = raw[i]
            if not np.isfinite(v):
                return i + 1
            if v < params[i, 0] or v > params[i, 1]:
                return -(i + 1)
    for j in range(out.shape[0]):
        out[j] = 0.0
    out[0] = 1.0
    for i in range(n):
        if present[i]:
            v = raw[i]
            if params[i, 5] != 0.0:
                v = np.log1p(v)
            out[num_start + i] = (v - params[i, 2]) / params[i, 3]
        else:
            out[num_start + i] = params[i, 4]
            if params[i, 6] >= 0:
                out[int(params[i, 6])] = 1.0
    for j in range(categorical.shape[0]):
        out[categorical[j]] = 1.0
    for column in (touchpoint, stage, market, identification):
        if column >= 0:
            out[column] = 1.0
    return 0


@kernel(inline="always")
def sample_index(probs, u):
    """Inverse-CDF draw: the first k whose cumulative probability exceeds u."""
    total = 0.0
    last = -1
    for k in range(probs.shape[0]):
        if probs[k] > 0.0:
            total += probs[k]
            last = k
            if u < total:
                return k
    return last


@kernel
def sample_next(probs, state):
    """Draw from ``probs`` with the next uniform of ``state``."""
    return sample_index(probs, uniform(state))


@kernel
def sample_rows(P, state, out):
    """Draw row by row, with successive uniforms of ``state``."""
    for n in range(P.shape[0]):
        out[n] = sample_index(P[n], uniform(state))


@kernel(nogil=False)
def choose(probs, state, x, X, fields, action, n_outcomes, windows, slot, now):
    """Draw one decision's action and write its row ``slot`` of the pending store.

    ``fields`` columns are ``pending.FIELDS``: propensity, time, deadline (``now`` plus
    the action's attribution window) and the combined reward (0). Returns the action.
    """
    a = sample_index(probs, uniform(state))
    for j in range(x.shape[0]):
        X[slot, j] = x[j]
    action[slot] = a
    n_outcomes[slot] = 0
    fields[slot, 0] = probs[a]
    fields[slot, 1] = now
    fields[slot, 2] = now + windows[a]
    fields[slot, 3] = 0.0
    return a
