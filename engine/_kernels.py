"""Engine kernels: featurisation, and drawing actions from probability vectors.

Draws take their uniforms from the engine's own xoshiro256** state (``uint64[4]``,
advanced in place), so the single and batch paths share one stream, which snapshots
save and recovery replays.
"""

from __future__ import annotations

import numpy as np

from omnibandit.policies._numba import array_at, kernel
from omnibandit.policies._rng import uniform


@kernel(inline="always")
def assemble(raw, params, num_start, categorical, out, present, all_present, touchpoint, stage, market, identification):
    """Write the feature vector of one context into ``out``.

    Inlined into :func:`assemble_at` (the hot path); called directly for any other ``out``.

    ``params`` rows are (low, high, center, scale, impute_scaled, log, missing_column);
    ``missing_column`` is -1 for a required feature (the caller checks presence).
    Numeric feature i is present if ``all_present`` or ``present[i]``.
    ``touchpoint``, ``stage``, ``market`` and ``identification`` are the columns of their
    one-hots (-1: none), ``categorical`` those of each categorical feature. Returns 0, or
    i+1 if numeric feature i is not finite, or -(i+1) if it is outside [low, high].
    Nothing is written when a feature is rejected.
    """
    n = raw.shape[0]
    for i in range(n):
        if all_present or present[i]:
            v = raw[i]
            if not np.isfinite(v):
                return i + 1
            if v < params[i, 0] or v > params[i, 1]:
                return -(i + 1)
    for j in range(out.shape[0]):
        out[j] = 0.0
    out[0] = 1.0
    for i in range(n):
        if all_present or present[i]:
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


#: the address table of :func:`assemble_at`: the featuriser's arrays, then their sizes
ASSEMBLE_TABLE = ("params:f8", "categorical:i8", "out:f8", "present:?", "n_numeric", "n_categorical", "n_features",
                  "num_start")


@kernel(nogil=False)
def assemble_at(table, raw, all_present, touchpoint, stage, market, identification):
    """:func:`assemble` on the featuriser's own arrays, found in ``table`` (``ASSEMBLE_TABLE``)."""
    n, c, d = table[4], table[5], table[6]
    params = array_at(table[0], (n, 7), np.float64)
    categorical = array_at(table[1], c, np.int64)
    out = array_at(table[2], d, np.float64)
    present = array_at(table[3], n, np.bool_)
    return assemble(raw, params, table[7], categorical, out, present, all_present, touchpoint, stage, market,
                    identification)


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


@kernel(inline="always")
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


#: the address table of :func:`choose_at`: the engine's arrays, then their sizes
CHOOSE_TABLE = ("probs:f8", "draw_state:u8", "x:f8", "X:f8", "fields:f8", "action:i8", "n_outcomes:i8", "windows:f8",
                "n_actions", "n_features", "capacity")


@kernel(nogil=False)
def choose_at(table, slot, now):
    """:func:`choose` on the engine's own arrays, found in ``table`` (``CHOOSE_TABLE``)."""
    k, d, capacity = table[8], table[9], table[10]
    probs = array_at(table[0], k, np.float64)
    draw_state = array_at(table[1], 4, np.uint64)
    x = array_at(table[2], d, np.float64)
    X = array_at(table[3], (capacity, d), np.float64)
    fields = array_at(table[4], (capacity, 4), np.float64)
    action = array_at(table[5], capacity, np.int64)
    n_outcomes = array_at(table[6], capacity, np.int64)
    windows = array_at(table[7], k, np.float64)
    return choose(probs, draw_state, x, X, fields, action, n_outcomes, windows, slot, now)
