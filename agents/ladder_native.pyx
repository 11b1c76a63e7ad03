# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
# cython: annotation_typing=False, cdivision=False
"""A market maker's ladder compiled: `build_ladder`, the same function as
`agents.market_maker.build_ladder`, with the same double operations in the
same order (the build disables floating-point contraction). Python's floor
division of floats is reproduced exactly (`py_floordiv`), since C's ``floor(a / b)``
can differ from it in the last place. The tests compare both on random inputs.
``ladder_native.pxd`` declares `py_floordiv` and `trunc_int` for the maker's compiled
step (`agents.market_maker_native`), which refills levels the same way.
"""

from libc.math cimport copysign, floor, fmod, isfinite

cdef double _TRUNC_LIMIT = 9.0e18  # below 2**63: a double this size still truncates to a C long long


cpdef double py_floordiv(double vx, double wx) except? -1.0:
    """``vx // wx`` exactly as CPython computes it for floats (Objects/floatobject.c, _float_div_mod)."""
    if wx == 0.0:
        raise ZeroDivisionError("float floor division by zero")
    cdef double mod = fmod(vx, wx)
    cdef double div = (vx - mod) / wx
    cdef double floordiv
    if mod:
        if (wx < 0) != (mod < 0):
            div -= 1.0
    if div:
        floordiv = floor(div)
        if div - floordiv > 0.5:
            floordiv += 1.0
    else:
        floordiv = copysign(0.0, vx / wx)
    return floordiv


cdef i64 trunc_int(double x) except? -1:
    """``int(x)`` for a double that fits a C long long (ValueError or OverflowError otherwise, as Python)."""
    if not isfinite(x):
        raise ValueError(f"cannot convert float {x} to integer")
    if not -_TRUNC_LIMIT < x < _TRUNC_LIMIT:
        raise OverflowError(f"{x} is too large for a tick or a lot count")
    return <i64>x


def build_ladder(double mid, double skew, double stress, double size, double first_bps, double spacing_bps,
                 double size_growth, int levels, double tick, double lot, best_bid, best_ask, double inventory,
                 double max_inventory):
    """`agents.market_maker.build_ladder`, compiled."""
    cdef list ladder = [], offsets = []
    cdef int side, k
    cdef double level_size, dist_bps, price
    cdef i64 t, lots
    cdef bint has_bid = best_bid is not None, has_ask = best_ask is not None
    cdef i64 bid = best_bid if has_bid else 0, ask = best_ask if has_ask else 0
    for side in (1, -1):
        if side * inventory >= max_inventory:
            continue
        level_size = size
        for k in range(levels):
            dist_bps = (first_bps + k * spacing_bps) * stress
            price = mid * (1.0 + (skew - side * dist_bps) * 1e-4)
            t = trunc_int(price / tick) if side == 1 else -trunc_int(py_floordiv(-price, tick))
            if side == 1 and has_ask:
                t = min(t, ask - 1)
            elif side == -1 and has_bid:
                t = max(t, bid + 1)
            lots = trunc_int(level_size / (price * lot))
            ladder.append((side, max(t, 1), max(1, lots)))
            offsets.append(skew - side * dist_bps)
            level_size *= size_growth
    return ladder, offsets
