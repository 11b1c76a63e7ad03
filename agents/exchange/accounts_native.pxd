# The compiled ledger kernel's C-level interface, for other compiled kernels (venue_native).

ctypedef long long i64


cdef class LedgerKernel:
    cdef double[::1] wallet, fees_paid, lot
    cdef i64[:, ::1] position
    cdef double[:, ::1] entry, margin, leverage, order_margin, realized
    cdef Py_ssize_t n_assets

    cpdef double fill(self, Py_ssize_t account, Py_ssize_t asset, i64 signed_lots, double price, double fee) except? -1.0
    cpdef double available(self, Py_ssize_t account) except? -1.0
    cpdef tuple side_totals(self, Py_ssize_t asset)
    cdef inline int _check(self, Py_ssize_t* account, Py_ssize_t* asset) except -1
