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
