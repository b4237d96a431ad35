"""One place for numba settings used by every kernel.

``FASTMATH`` allows reassociation and contraction (so reductions vectorise) but
deliberately not ``nnan``/``ninf``: kernels must see NaN and infinity to report
them. Every kernel is cached on disk (``cache=True``); services that install
read-only should set ``NUMBA_CACHE_DIR``.

Measured on the reference machine (2 vCPU EPYC, numba 0.68): a call from one cached
kernel to another that numba does not inline costs about 80 ns, so the small helpers
are inlined (``inline="always"``); and releasing and retaking the GIL costs about
45 ns a call, so the kernels the engine calls once per request, which run for about a
microsecond, keep it (``nogil=False``), while batch kernels release it.
"""

from __future__ import annotations

import functools

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


def bind(dispatcher, bound: tuple, free: tuple) -> functools.partial:
    """:func:`entry_point` of ``dispatcher`` with its leading arguments ``bound`` already given.

    Call the result with the remaining arguments, of the types of the examples ``free``.
    The bound arrays are the caller's own state, updated in place (never rebound), so a
    hot call passes only what changes per call.
    """
    return functools.partial(entry_point(dispatcher, *bound, *free), *bound)
