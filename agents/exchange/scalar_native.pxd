# cython: language_level=3
# Scalar helpers for compiled code, as inline functions (no module of their own: venue_native,
# agents.traders_native and agents.market_maker_native cimport them).

cimport cython

from agents.exchange.book_native cimport NativeLimitOrderBook


@cython.cdivision(True)
cdef inline double ieee_div(double a, double b) noexcept:
    """``a / b`` as numpy divides float64 scalars: infinite or NaN rather than an error at zero."""
    return a / b


cdef inline double mid_price(object venue, NativeLimitOrderBook book, object asset) except? -1.0:
    """`OrderBookAgent.mid_price`: the book's mid, or the venue's last price while a side is empty."""
    cdef double mid
    if not book._mid(&mid):
        mid = venue.last_price(asset)
    return mid


cdef inline double position_usd(object trader, object venue, NativeLimitOrderBook book, object asset) except? -1.0:
    """`Trader.position_usd`: ``position × lot × mid``, from the left, as numpy multiplies."""
    ledger = venue.ledger
    return <double>ledger.position[trader.account, asset] * <double>ledger.lot[asset] * mid_price(venue, book, asset)
