"""Numba kernels for the per-action ("disjoint") linear models.

State, per action k of K, with d features:
``A[k]`` = λI + Σ x xᵀ, ``b[k]`` = Σ r x, the cache ``A_inv[k]`` kept by
Sherman–Morrison and rebuilt from ``A[k]`` every ``refresh_every`` updates, and
``theta[k]`` = A_inv[k] b[k]. Kernels take only arrays and scalars; scratch
buffers are passed in so a call allocates nothing. The single-context kernels take
the policy's state first and the per-call arguments last, so a policy binds its
state once (``_numba.bind``).
"""

from __future__ import annotations

import numpy as np

from ._numba import array_at, kernel
from ._rng import normal_pair
from ._thompson_kernels import select_contenders, wins_to_probabilities


@kernel(inline="always")
def linear_means(x, theta, eligible, mu):
    """mu[k] = θ_kᵀx for eligible k."""
    n_actions, d = theta.shape
    for k in range(n_actions):
        if eligible[k]:
            m = 0.0
            for i in range(d):
                m += theta[k, i] * x[i]
            mu[k] = m


@kernel(inline="always")
def action_moments(x, theta, A_inv, k):
    """θ_kᵀx and xᵀA_k⁻¹x (clipped at 0: rounding can make it slightly negative)."""
    d = theta.shape[1]
    A_inv_k = A_inv[k]
    m = 0.0
    q = 0.0
    for i in range(d):
        m += theta[k, i] * x[i]
        row = 0.0
        for j in range(d):
            row += A_inv_k[i, j] * x[j]
        q += row * x[i]
    return m, (q if q > 0.0 else 0.0)


@kernel(inline="always")
def linear_moments(x, theta, A_inv, eligible, mu, var):
    """mu[k] = θ_kᵀx and var[k] = xᵀA_k⁻¹x for eligible k."""
    for k in range(theta.shape[0]):
        if eligible[k]:
            mu[k], var[k] = action_moments(x, theta, A_inv, k)


@kernel(inline="always")
def greedy_with_floor(scores, eligible, epsilon, out):
    """Spread 1-ε equally over the best eligible actions and ε over all eligible ones.

    Ties (within 1e-12 relative) share the greedy mass, so a tie is broken at random
    when the engine samples, and the logged propensity is exact. ``out`` may be
    ``scores`` (each score is read before its slot is written). Returns the number
    of eligible actions.
    """
    n_actions = scores.shape[0]
    best = -np.inf
    n_eligible = 0
    for k in range(n_actions):
        if eligible[k]:
            n_eligible += 1
            if scores[k] > best:
                best = scores[k]
    tol = 1e-12 * max(1.0, abs(best))
    n_ties = 0
    for k in range(n_actions):
        if eligible[k] and scores[k] >= best - tol:
            n_ties += 1
    floor = epsilon / n_eligible
    for k in range(n_actions):
        if not eligible[k]:
            out[k] = 0.0
        elif n_ties == 0:  # scores not comparable (cannot happen with finite state)
            out[k] = 1.0 / n_eligible
        elif scores[k] >= best - tol:
            out[k] = floor + (1.0 - epsilon) / n_ties
        else:
            out[k] = floor
    return n_eligible


@kernel(inline="always", nogil=False)
def linucb_row(theta, A_inv, alpha, epsilon, x, eligible, out):
    """The scores θ_kᵀx + α·sqrt(xᵀA_k⁻¹x) go into ``out``, then become probabilities in place."""
    for k in range(theta.shape[0]):
        if eligible[k]:
            m, q = action_moments(x, theta, A_inv, k)
            out[k] = m + alpha * np.sqrt(q)
    greedy_with_floor(out, eligible, epsilon, out)


@kernel(inline="always", nogil=False)
def egreedy_row(theta, epsilon, x, eligible, out):
    """The scores θ_kᵀx go into ``out``, then become probabilities in place."""
    linear_means(x, theta, eligible, out)
    greedy_with_floor(out, eligible, epsilon, out)


@kernel(inline="always")
def thompson_from_moments(mu, sd, eligible, epsilon, n_draws, max_scores, rng, counts, contenders, out):
    """Probabilities of a Thompson draw from independent N(mu[k], sd[k]²) scores.

    ``out[k]`` = (1-ε)·(share of M draws won by k) + ε/K_eligible, with
    M = min(n_draws, max_scores // contenders) (at least 1). Sampling from ``out`` is
    distributed exactly as Thompson sampling mixed with a uniform floor, and the
    logged propensity is the exact probability given the draws.
    """
    n_actions = mu.shape[0]
    for k in range(n_actions):
        counts[k] = 0.0
    n_cont, n_eligible = select_contenders(mu, sd, eligible, contenders)
    if n_cont == 0:  # not comparable: fall back to uniform over eligible
        for k in range(n_actions):
            if eligible[k]:
                counts[k] = n_draws / n_eligible
    elif n_cont == 1:
        counts[contenders[0]] = n_draws
    else:
        n_draws = max(1, min(n_draws, max_scores // n_cont))
        spare = 0.0
        have_spare = False
        for _ in range(n_draws):
            best = -np.inf
            arg = contenders[0]
            for j in range(n_cont):
                k = contenders[j]
                if have_spare:
                    z = spare
                    have_spare = False
                else:
                    z, spare = normal_pair(rng)
                    have_spare = True
                s = mu[k] + sd[k] * z
                if s > best:
                    best = s
                    arg = k
            counts[arg] += 1.0
    wins_to_probabilities(counts, eligible, n_eligible, epsilon, n_draws, out)


@kernel(inline="always", nogil=False)
def lin_ts_row(theta, A_inv, v, epsilon, n_draws, max_scores, rng, mu, var, counts, contenders, x, eligible, out):
    linear_moments(x, theta, A_inv, eligible, mu, var)
    for k in range(mu.shape[0]):
        if eligible[k]:
            var[k] = v * np.sqrt(var[k])
    thompson_from_moments(mu, var, eligible, epsilon, n_draws, max_scores, rng, counts, contenders, out)


#: the address table of :func:`linucb_at` and :func:`egreedy_at`: the policy's model, the
#: caller's x (d,) and out (K,), the sizes
ROW_TABLE = ("theta:f8", "A_inv:f8", "x:f8", "out:f8", "n_actions", "n_features")
#: that of :func:`lin_ts_at`: the same, then the policy's RNG and scratch arrays
TS_ROW_TABLE = ROW_TABLE + ("rng:u8", "mu:f8", "var:f8", "counts:f8", "contenders:i8")


@kernel(nogil=False)
def linucb_at(table, alpha, epsilon, eligible):
    """:func:`linucb_row` on the arrays of ``table`` (``ROW_TABLE``)."""
    k, d = table[4], table[5]
    theta, A_inv = array_at(table[0], (k, d), np.float64), array_at(table[1], (k, d, d), np.float64)
    x, out = array_at(table[2], d, np.float64), array_at(table[3], k, np.float64)
    linucb_row(theta, A_inv, alpha, epsilon, x, eligible, out)


@kernel(nogil=False)
def egreedy_at(table, epsilon, eligible):
    """:func:`egreedy_row` on the arrays of ``table`` (``ROW_TABLE``; A_inv is not read)."""
    k, d = table[4], table[5]
    theta = array_at(table[0], (k, d), np.float64)
    x, out = array_at(table[2], d, np.float64), array_at(table[3], k, np.float64)
    egreedy_row(theta, epsilon, x, eligible, out)


@kernel(nogil=False)
def lin_ts_at(table, v, epsilon, n_draws, max_scores, eligible):
    """:func:`lin_ts_row` on the arrays of ``table`` (``TS_ROW_TABLE``)."""
    k, d = table[4], table[5]
    theta, A_inv = array_at(table[0], (k, d), np.float64), array_at(table[1], (k, d, d), np.float64)
    x, out = array_at(table[2], d, np.float64), array_at(table[3], k, np.float64)
    rng = array_at(table[6], 4, np.uint64)
    mu, var, counts = array_at(table[7], k, np.float64), array_at(table[8], k, np.float64), array_at(table[9], k, np.float64)
    contenders = array_at(table[10], k, np.int64)
    lin_ts_row(theta, A_inv, v, epsilon, n_draws, max_scores, rng, mu, var, counts, contenders, x, eligible, out)


@kernel
def linucb_batch(X, theta, A_inv, eligible, alpha, epsilon, out):
    for n in range(X.shape[0]):
        linucb_row(theta, A_inv, alpha, epsilon, X[n], eligible[n], out[n])


@kernel
def egreedy_batch(X, theta, eligible, epsilon, out):
    for n in range(X.shape[0]):
        egreedy_row(theta, epsilon, X[n], eligible[n], out[n])


@kernel
def lin_ts_batch(X, theta, A_inv, eligible, v, epsilon, n_draws, max_scores, rng, mu, var, counts, contenders, out):
    for n in range(X.shape[0]):
        lin_ts_row(theta, A_inv, v, epsilon, n_draws, max_scores, rng, mu, var, counts, contenders, X[n], eligible[n],
                   out[n])


@kernel
def refresh_action(a, A, b, A_inv, theta):
    """Rebuild A_inv[a] and theta[a] from A[a], b[a] through the Cholesky factor A = LLᵀ.

    A⁻¹ = L⁻ᵀL⁻¹ is symmetric by construction; the factorisation fails loudly
    (LinAlgError) if A ever stopped being positive definite.
    """
    d = A.shape[1]
    L = np.linalg.cholesky(A[a])
    L_inv = np.zeros((d, d))
    for i in range(d):
        L_inv[i, i] = 1.0 / L[i, i]
        for j in range(i):
            t = 0.0
            for k in range(j, i):
                t += L[i, k] * L_inv[k, j]
            L_inv[i, j] = -t / L[i, i]
    for i in range(d):
        for j in range(i, d):
            t = 0.0
            for k in range(j, d):
                t += L_inv[k, i] * L_inv[k, j]
            A_inv[a, i, j] = t
            A_inv[a, j, i] = t
    for i in range(d):
        t = 0.0
        for j in range(d):
            t += A_inv[a, i, j] * b[a, j]
        theta[a, i] = t


@kernel(inline="always")
def linear_update(x, a, r, A, b, A_inv, theta, n_updates, since_refresh, l2, gamma, refresh_every, u):
    """Add one observation (x, r) to action a's statistics and keep the caches in step.

    With ``gamma`` < 1 (discounted, Russac et al. 2019, per update of the action):
    A ← γA + (1-γ)λI + xxᵀ, b ← γb + r x, and the cache is rebuilt from A.
    Otherwise A_inv gets the Sherman–Morrison rank-one update and theta the matching
    recursive-least-squares step; both are rebuilt from A every ``refresh_every``.
    """
    d = x.shape[0]
    n_updates[a] += 1
    A_a, b_a = A[a], b[a]  # views of action a: contiguous rows, so the inner loops vectorise
    if gamma < 1.0:
        for i in range(d):
            xi = x[i]
            for j in range(d):
                A_a[i, j] = gamma * A_a[i, j] + xi * x[j]
            A_a[i, i] += (1.0 - gamma) * l2
            b_a[i] = gamma * b_a[i] + r * xi
        refresh_action(a, A, b, A_inv, theta)
        since_refresh[a] = 0
        return
    A_inv_a, theta_a = A_inv[a], theta[a]
    for i in range(d):
        xi = x[i]
        for j in range(d):
            A_a[i, j] += xi * x[j]
        b_a[i] += r * xi
    denom = 1.0
    for i in range(d):
        t = 0.0
        for j in range(d):
            t += A_inv_a[i, j] * x[j]
        u[i] = t
        denom += t * x[i]
    for i in range(d):
        ui = u[i] / denom
        for j in range(d):
            A_inv_a[i, j] -= ui * u[j]
    err = r
    for i in range(d):
        err -= theta_a[i] * x[i]
    for i in range(d):
        theta_a[i] += (u[i] / denom) * err
    since_refresh[a] += 1
    if since_refresh[a] >= refresh_every:
        refresh_action(a, A, b, A_inv, theta)
        since_refresh[a] = 0


#: the address table of :func:`linear_update_at`: the policy's state, the engine's pending
#: X and actions, and the sizes
UPDATE_TABLE = ("A:f8", "b:f8", "A_inv:f8", "theta:f8", "n_updates:i8", "since_refresh:i8", "u:f8", "version:i8", "X:f8",
                "actions:i8", "n_actions", "n_features", "capacity")


@kernel(nogil=False)
def linear_update_at(table, l2, gamma, refresh_every, slot, r):
    """:func:`linear_update` from row ``slot`` of the engine's pending arrays; counts the update
    in ``version``. The arrays are those of ``table`` (``UPDATE_TABLE``)."""
    k, d, capacity = table[10], table[11], table[12]
    A, b = array_at(table[0], (k, d, d), np.float64), array_at(table[1], (k, d), np.float64)
    A_inv, theta = array_at(table[2], (k, d, d), np.float64), array_at(table[3], (k, d), np.float64)
    n_updates, since_refresh = array_at(table[4], k, np.int64), array_at(table[5], k, np.int64)
    u, version = array_at(table[6], d, np.float64), array_at(table[7], 1, np.int64)
    X, actions = array_at(table[8], (capacity, d), np.float64), array_at(table[9], capacity, np.int64)
    linear_update(X[slot], actions[slot], r, A, b, A_inv, theta, n_updates, since_refresh, l2, gamma, refresh_every, u)
    version[0] += 1


@kernel
def linear_update_batch(X, actions, rewards, A, b, A_inv, theta, n_updates, since_refresh, l2, gamma, refresh_every, u):
    for n in range(X.shape[0]):
        linear_update(X[n], actions[n], rewards[n], A, b, A_inv, theta, n_updates, since_refresh,
                      l2, gamma, refresh_every, u)


@kernel
def refresh_all(A, b, A_inv, theta):
    for a in range(A.shape[0]):
        refresh_action(a, A, b, A_inv, theta)
