"""Engine kernels: featurisation and sampling from a probability vector."""

from __future__ import annotations

import numpy as np

from omnibandit.policies._numba import kernel


@kernel
def assemble(raw, present, params, num_start, onehots, out):
    """Write the feature vector of one context into ``out``.

    ``params`` rows are (low, high, center, scale, impute_scaled, log, missing_column);
    ``missing_column`` is -1 for a required feature (the caller checks presence). Returns 0, or
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
    for j in range(onehots.shape[0]):
        if onehots[j] >= 0:
            out[onehots[j]] = 1.0
    return 0


@kernel
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
def sample_rows(P, u, out):
    for n in range(P.shape[0]):
        out[n] = sample_index(P[n], u[n])
