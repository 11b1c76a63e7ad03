# cython: language_level=3
# The venue's margin maths for compiled code, as inline functions (no module of their own: venue_native
# cimports them). Each does what its Python original in agents.exchange.margin does, in the same order.

from libc.math cimport NAN, fabs


cdef inline double liquidation_price(double position, double entry, double wallet, object table) except? -2.0:
    """`agents.exchange.margin.liquidation_price_one`, compiled (NaN for a flat position)."""
    if position == 0.0:
        return NAN
    cdef double qabs = position if position > 0 else -position
    cdef double s = 1.0 if position > 0 else -1.0
    cdef double cap, mm_at_cap, mmr, cum, lp
    cdef Py_ssize_t n = 0
    for cap, mm_at_cap in table._edges:
        if s * (wallet + position * (cap / qabs - entry) - mm_at_cap) >= 0:
            break  # s*f is increasing and the edges ascend: no later edge lies below P*
        n += 1
    row = table.rows[n]
    mmr, cum = row[1], row[3]
    lp = (wallet + cum - position * entry) / (qabs * mmr - position)
    return lp if lp > 0.0 else 0.0


cdef inline double max_leverage(object table, double notional) except? -1.0:
    """``table.tier_of(notional)[2]`` (`agents.exchange.margin.TierTable`), compiled: no Python call per order."""
    notional = fabs(notional)
    cdef tuple rows = table.rows
    for row in rows:
        if notional <= <double>(<tuple>row)[0]:
            return (<tuple>row)[2]
    return (<tuple>rows[len(rows) - 1])[2]
