# cython: language_level=3
# The venue's margin maths for compiled code, as inline functions (no module of their own: venue_native
# cimports them). Each does what its Python original in agents.exchange.margin does, in the same order,
# on a tier table's rows held as C arrays (`TierRows`, the same doubles as the table's `rows` and `_edges`).

from libc.math cimport NAN, fabs
from libcpp.vector cimport vector


cdef struct TierRows:
    vector[double] cap, mmr, max_leverage, cum  # `TierTable.rows`, by column
    vector[double] edge_cap, edge_mm  # `TierTable._edges`: each finite cap and the MM at it


cdef inline TierRows tier_rows(object table) except *:
    """A `agents.exchange.margin.TierTable`'s rows and edges as C arrays."""
    cdef TierRows t
    for cap, mmr, lev, cum in table.rows:
        t.cap.push_back(cap)
        t.mmr.push_back(mmr)
        t.max_leverage.push_back(lev)
        t.cum.push_back(cum)
    for cap, mm_at_cap in table._edges:
        t.edge_cap.push_back(cap)
        t.edge_mm.push_back(mm_at_cap)
    return t


cdef inline double liquidation_price(double position, double entry, double wallet, const TierRows* t) except? -2.0:
    """`agents.exchange.margin.liquidation_price_one`, compiled (NaN for a flat position)."""
    if position == 0.0:
        return NAN
    cdef double qabs = position if position > 0 else -position
    cdef double s = 1.0 if position > 0 else -1.0
    cdef double lp
    cdef size_t n = 0
    while n < t.edge_cap.size():
        if s * (wallet + position * (t.edge_cap[n] / qabs - entry) - t.edge_mm[n]) >= 0:
            break  # s*f is increasing and the edges ascend: no later edge lies below P*
        n += 1
    lp = (wallet + t.cum[n] - position * entry) / (qabs * t.mmr[n] - position)
    return lp if lp > 0.0 else 0.0


cdef inline double max_leverage(const TierRows* t, double notional) noexcept:
    """``table.tier_of(notional)[2]`` (`agents.exchange.margin.TierTable`), compiled: no Python call per order."""
    notional = fabs(notional)
    cdef size_t j
    for j in range(t.cap.size()):
        if notional <= t.cap[j]:
            return t.max_leverage[j]
    return t.max_leverage[t.cap.size() - 1]
