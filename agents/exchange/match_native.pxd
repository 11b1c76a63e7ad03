# The compiled book's `Match`, declared for the compiled venue (venue_native), which reads its fields
# without a Python attribute lookup.

cimport cython

ctypedef long long i64


@cython.final
cdef class NativeMatch:
    cdef public object fills, order_id, cancelled
    cdef public i64 filled
    cdef public bint rejected


cdef inline NativeMatch new_match(object fills, object order_id, i64 filled, object cancelled, bint rejected):
    """A `NativeMatch` made without a Python call (``__init__`` is not run; every field is set here)."""
    cdef NativeMatch m = NativeMatch.__new__(NativeMatch)
    m.fills, m.order_id, m.filled, m.cancelled, m.rejected = fills, order_id, filled, cancelled, rejected
    return m
