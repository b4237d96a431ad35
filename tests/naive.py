"""Plain-NumPy reference implementations the numba kernels are checked against."""

from __future__ import annotations

import numpy as np


def ridge_state(X, actions, rewards, n_actions, l2):
    """A = λI + Σ x xᵀ and b = Σ r x per action, θ = A⁻¹ b, straight from the data."""
    d = X.shape[1]
    A = np.stack([l2 * np.eye(d) for _ in range(n_actions)])
    b = np.zeros((n_actions, d))
    for x, a, r in zip(X, actions, rewards):
        A[a] += np.outer(x, x)
        b[a] += r * x
    theta = np.stack([np.linalg.solve(A[k], b[k]) for k in range(n_actions)])
    return A, b, theta


def discounted_state(X, actions, rewards, n_actions, l2, gamma):
    """Per-action discounting: A ← γA + (1-γ)λI + xxᵀ, b ← γb + r x at each update of that action."""
    d = X.shape[1]
    A = np.stack([l2 * np.eye(d) for _ in range(n_actions)])
    b = np.zeros((n_actions, d))
    for x, a, r in zip(X, actions, rewards):
        A[a] = gamma * A[a] + (1 - gamma) * l2 * np.eye(d) + np.outer(x, x)
        b[a] = gamma * b[a] + r * x
    return A, b


def greedy_floor(scores, eligible, epsilon):
    scores = np.where(eligible, scores, -np.inf)
    best = scores.max()
    ties = eligible & (scores >= best - 1e-12 * max(1.0, abs(best)))
    probs = np.where(eligible, epsilon / eligible.sum(), 0.0)
    probs[ties] += (1 - epsilon) / ties.sum()
    return probs


def linucb_probabilities(x, A, b, alpha, epsilon, eligible):
    theta = np.stack([np.linalg.solve(A[k], b[k]) for k in range(len(A))])
    width = np.array([np.sqrt(x @ np.linalg.solve(A[k], x)) for k in range(len(A))])
    return greedy_floor(theta @ x + alpha * width, eligible, epsilon)


def egreedy_probabilities(x, A, b, epsilon, eligible):
    theta = np.stack([np.linalg.solve(A[k], b[k]) for k in range(len(A))])
    return greedy_floor(theta @ x, eligible, epsilon)


def thompson_win_probabilities(mu, sd, eligible, n_draws=400_000, seed=0):
    """P(argmax = k) for independent normal scores, by brute-force Monte Carlo in numpy."""
    rng = np.random.default_rng(seed)
    idx = np.flatnonzero(eligible)
    draws = mu[idx] + sd[idx] * rng.standard_normal((n_draws, len(idx)))
    wins = np.bincount(np.argmax(draws, axis=1), minlength=len(idx)) / n_draws
    out = np.zeros(len(mu))
    out[idx] = wins
    return out


def featurise(schema, context):
    """The documented vector layout, built column by column from the schema."""
    x = [1.0]
    numeric = [f for f in schema.features if f.kind == "numeric"]
    feats = context.features or {}
    for f in numeric:
        v = feats.get(f.name)
        x.append(f.scaled(f.default_impute() if v is None else float(v)))
    for f in numeric:
        if not f.required and f.indicator:
            x.append(float(feats.get(f.name) is None))
    for f in schema.features:
        if f.kind == "categorical":
            v = feats.get(f.name)
            x.extend(float(v == c) for c in f.categories)
            x.append(float(v not in f.categories))
    x.extend(float(context.touchpoint == t) for t in schema.touchpoints)
    x.extend(float(context.stage == s) for s in schema.stages)
    x.extend(float(context.market == m) for m in schema.markets)
    x.extend(float(context.identification == m) for m in schema.identification)
    return np.array(x)
