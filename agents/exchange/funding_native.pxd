# cython: language_level=3
# The mark price update for compiled code, as inline functions (no module of their own: venue_native
# cimports them). Each does what its Python original in agents.exchange.funding does, in the same order.


cdef inline double median3(double x, double y, double z) noexcept:
    """`agents.exchange.funding.median3`."""
    cdef double lo = x if x <= y else y, hi = y if x <= y else x
    return lo if z < lo else (z if z < hi else hi)


cdef inline double mark_update(object method, double* value, const double* ema, const double* index,
                               const double* basis, double last, double mid) except? -1.0:
    """`MarkPrice.update` of one asset: the pointers are at its entries of the mark's arrays."""
    cdef double v
    if method == "median":
        v = median3(last, mid, ema[0])
    elif method == "index":
        v = median3(last, index[0], index[0] + basis[0])
    elif method == "ema":
        v = ema[0]
    elif method == "last":
        v = last
    else:
        v = mid
    value[0] = v
    return v
