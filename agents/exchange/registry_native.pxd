# The compiled order registry's C-level interface, for other compiled kernels (venue_native).

from libcpp.unordered_map cimport unordered_map
from libcpp.unordered_set cimport unordered_set

cimport cython

ctypedef long long i64


cdef struct Entry:
    i64 account
    double per_lot
    bint reduce_only


@cython.final
cdef class NativeOrderRegistry:
    cdef unordered_map[i64, Entry] _owner
    cdef unordered_map[i64, unordered_set[i64]] _by_account
    cdef unordered_map[i64, unordered_set[i64]] _reduce_only

    cdef void _add(self, i64 order_id, i64 account, double per_lot, bint reduce_only) noexcept
    cdef Entry* _entry(self, i64 order_id) noexcept
    cdef void _remove(self, i64 order_id) noexcept
    cdef Py_ssize_t _count(self, i64 account) noexcept
    cdef list _pop_reduce_only(self, i64 account)
