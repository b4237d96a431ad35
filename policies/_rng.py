"""xoshiro256** random numbers with the state in an explicit ``uint64[4]`` array.

Kernels take the state array and advance it in place, so a policy's randomness is
part of its saved state and two policies never share a stream. Seeds are spread
into the four words by numpy's ``SeedSequence``.
"""

from __future__ import annotations

import numpy as np

from ._numba import kernel

_U64 = np.uint64


def seed_state(seed: int | np.random.SeedSequence | np.random.Generator | None) -> np.ndarray:
    """Return a fresh ``uint64[4]`` state for ``seed`` (never all zero).

    >>> s = seed_state(7)
    >>> s.dtype, s.shape, bool(s.any())
    (dtype('uint64'), (4,), True)
    """
    if isinstance(seed, np.random.Generator):
        words = seed.integers(0, 2**64, size=4, dtype=np.uint64, endpoint=False)
    else:
        sequence = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        words = sequence.generate_state(4, dtype=np.uint64)
    if not words.any():
        words[0] = _U64(0x9E3779B97F4A7C15)
    return np.ascontiguousarray(words, dtype=np.uint64)


@kernel(inline="always")
def _rotl(x, k):
    return (x << _U64(k)) | (x >> _U64(64 - k))


@kernel(inline="always")
def next_u64(s):
    result = _rotl(s[1] * _U64(5), 7) * _U64(9)
    t = s[1] << _U64(17)
    s[2] ^= s[0]
    s[3] ^= s[1]
    s[1] ^= s[2]
    s[0] ^= s[3]
    s[2] ^= t
    s[3] = _rotl(s[3], 45)
    return result


@kernel(inline="always")
def uniform(s):
    """A float in [0, 1) with 53 random bits."""
    return float(next_u64(s) >> _U64(11)) * (1.0 / 9007199254740992.0)


@kernel(inline="always")
def normal_pair(s):
    """Two independent standard normals (Marsaglia's polar method)."""
    while True:
        u = 2.0 * uniform(s) - 1.0
        v = 2.0 * uniform(s) - 1.0
        q = u * u + v * v
        if 0.0 < q < 1.0:
            f = np.sqrt(-2.0 * np.log(q) / q)
            return u * f, v * f


@kernel(inline="always")
def gamma(s, shape):
    """A Gamma(shape, 1) draw (Marsaglia & Tsang 2000); shape > 0."""
    boost = 1.0
    if shape < 1.0:
        boost = uniform(s) ** (1.0 / shape)
        shape += 1.0
    d = shape - 1.0 / 3.0
    c = 1.0 / np.sqrt(9.0 * d)
    while True:
        z, _ = normal_pair(s)
        v = 1.0 + c * z
        if v <= 0.0:
            continue
        v = v * v * v
        u = uniform(s)
        if np.log(u) < 0.5 * z * z + d - d * v + d * np.log(v):
            return d * v * boost


@kernel
def draw_uniforms(s, out):
    """Fill ``out`` with uniforms (used by tests to check the generator)."""
    for i in range(out.shape[0]):
        out[i] = uniform(s)


@kernel
def draw_normals(s, out):
    """Fill ``out`` with standard normals (used by tests to check the generator)."""
    n = out.shape[0]
    i = 0
    while i < n:
        a, b = normal_pair(s)
        out[i] = a
        if i + 1 < n:
            out[i + 1] = b
        i += 2


@kernel
def draw_gammas(s, shape, out):
    """Fill ``out`` with Gamma(shape, 1) draws (used by tests)."""
    for i in range(out.shape[0]):
        out[i] = gamma(s, shape)
