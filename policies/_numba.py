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
import numpy as np
from numba import types
from numba.extending import intrinsic

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


# ---------------------------------------------------------------- address tables
# Unboxing an array argument costs about 35 ns a call (numba builds a view struct and
# a reference for it); an int64 read inside the kernel costs nothing measurable. So the
# engine's per-request kernels take one int64 "address table" holding the addresses and
# sizes of the arrays they work on, and view the memory in place (:func:`array_at`).


@intrinsic
def _voidptr(typingctx, address):
    """An integer address as ``void*`` (the inverse of ``ndarray.ctypes.data``)."""
    if not isinstance(address, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], context.get_value_type(types.voidptr))

    return types.voidptr(address), codegen


@kernel(inline="always")
def array_at(address, shape, dtype):
    """The array of ``dtype`` and ``shape`` at ``address`` (C order; a view: no copy, no reference).

    ``dtype`` is a NumPy scalar type (``np.float64``), a compile-time constant.
    """
    return numba.carray(_voidptr(address), shape, dtype)


def address_table(layout: tuple[str, ...], items: tuple) -> np.ndarray:
    """An int64 table of ``items``: each array becomes its data address, each size stays itself.

    ``layout`` names the entries as ``"name:dtype"`` for an array (checked: that dtype,
    C-contiguous) or ``"name"`` for a size; a kernel reading the table relies on it. The
    arrays must outlive every call that reads the table (keep them referenced, update them
    in place, never rebind them).

    >>> import numpy as np
    >>> a = np.zeros(3)
    >>> table = address_table(("a:f8", "n"), (a, 3))
    >>> int(table[0]) == a.ctypes.data, int(table[1])
    (True, 3)
    """
    if len(layout) != len(items):
        raise ValueError(f"the layout has {len(layout)} entries, not {len(items)}")
    values = []
    for entry, item in zip(layout, items):
        name, _, dtype = entry.partition(":")
        if dtype:
            if not (isinstance(item, np.ndarray) and item.dtype == np.dtype(dtype) and item.flags.c_contiguous):
                raise TypeError(f"table entry {name!r} must be a C-contiguous {np.dtype(dtype)} array, "
                                f"not {getattr(item, 'dtype', type(item).__name__)}")
            values.append(item.ctypes.data)
        else:
            values.append(int(item))
    return np.array(values, dtype=np.int64)


def bind_table(dispatcher, layout: tuple[str, ...], items: tuple, scalars: tuple, free: tuple) -> functools.partial:
    """:func:`bind` with the arrays and sizes ``items`` given as one :func:`address_table`
    of ``layout``, followed by the constant ``scalars``; call the result with arguments of
    the types of ``free``.

    The result holds ``items`` (attribute ``arrays``) so the memory the table points to
    stays alive as long as the bound function.
    """
    table = address_table(layout, items)
    bound = functools.partial(entry_point(dispatcher, table, *scalars, *free), table, *scalars)
    bound.arrays = items
    return bound
