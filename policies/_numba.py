"""One place for numba settings used by every kernel.

``FASTMATH`` allows reassociation and contraction (so reductions vectorise) but
deliberately not ``nnan``/``ninf``: kernels must see NaN and infinity to report
them. Every kernel is cached on disk (``cache=True``); services that install
read-only should set ``NUMBA_CACHE_DIR``.
"""

from __future__ import annotations

import numba

FASTMATH = frozenset({"contract", "reassoc", "arcp", "nsz"})


def kernel(func=None, **options):
    """``numba.njit`` with the project's cache and fastmath settings."""
    settings = {"cache": True, "nogil": True, "fastmath": set(FASTMATH)}
    settings.update(options)
    if func is None:
        return lambda f: numba.njit(**settings)(f)
    return numba.njit(**settings)(func)


def entry_point(dispatcher, *args):
    """The compiled function behind ``dispatcher`` for exactly the types of ``args``.

    Calling it skips numba's per-call type dispatch (0.1-0.4 µs per call, the larger part
    of a small kernel's cost) but checks nothing: every later call must pass arguments of
    the same types (dtype, dimensions, C-contiguity), or it reads memory as the wrong type.
    Use it only where the caller owns the arrays or has just converted them.
    """
    signature = tuple(numba.typeof(a) for a in args)
    dispatcher.compile(signature)
    return dispatcher.overloads[signature].entry_point
