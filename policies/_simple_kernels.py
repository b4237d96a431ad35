"""Kernels for the non-learning policies."""

from __future__ import annotations

from ._numba import kernel


@kernel(inline="always")
def uniform_row(eligible, out):
    n = 0
    for k in range(eligible.shape[0]):
        n += eligible[k]
    for k in range(eligible.shape[0]):
        out[k] = 1.0 / n if eligible[k] else 0.0


@kernel(inline="always")
def fixed_row(eligible, action, epsilon, out):
    """Probability 1-ε on ``action`` plus ε spread over eligible; uniform if ``action`` is not eligible."""
    n = 0
    for k in range(eligible.shape[0]):
        n += eligible[k]
    if not eligible[action]:
        uniform_row(eligible, out)
        return
    for k in range(eligible.shape[0]):
        out[k] = epsilon / n if eligible[k] else 0.0
    out[action] += 1.0 - epsilon


@kernel
def uniform_batch(eligible, out):
    for n in range(eligible.shape[0]):
        uniform_row(eligible[n], out[n])


@kernel
def fixed_batch(eligible, action, epsilon, out):
    for n in range(eligible.shape[0]):
        fixed_row(eligible[n], action, epsilon, out[n])
