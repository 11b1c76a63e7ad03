# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
# cython: annotation_typing=False, cdivision=True
"""The sentiment update's elementwise arithmetic compiled, in one pass per trader.

* `mix`: the mixing step of `model.sentiment.update_sentiment`, after the
  neighbours' mean, the ``tanh`` of the return and the Gaussian draw (which
  stay numpy's: numpy's ``tanh`` is not the C library's to the last bit);
* `neighbour_mean`: the neighbours' mean before it, ``W @ s`` (where a trader
  has neighbours), in scipy's order;
* `pain_signal`: `model.mood.Mood.pain_signal` from the ledger's columns.

Each does numpy's (and scipy's) double operations in their order, element by
element (additions, products, quotients, ``maximum``, ``clip`` and the sums of
`agents.exchange.accounts.row_sums` and of a CSR row), and the build disables floating-point
contraction, so the results are bit-identical to the numpy originals, which
stay the reference (tests/test_sentiment.py compares both).
"""

ctypedef long long i64


cdef inline double _maximum(double a, double b) noexcept:
    """``np.maximum(a, b)``: NaN if either is NaN, else the larger (``a`` on a tie)."""
    return a if (a >= b or a != a) else b


def mix(double[::1] out, const double[:] s, const double[:] m, const double[:] conformity,
        const double[:] persistence, const double[:] momentum, const double[:] tanh_return,
        const double[:] pain, const double[:] pain_signal, const double[:] news, const double[:] noise,
        const double[:] z):
    """``clip((s + c (m - s)) p + mom tanh + pain pain_signal + news + noise z, -1, 1)`` into ``out``.

    Every argument has the length of ``out`` (scalars broadcast to it); ``out`` may alias ``s``.
    """
    cdef Py_ssize_t i, n = out.shape[0]
    cdef double x
    cdef Py_ssize_t shortest = min(s.shape[0], m.shape[0], conformity.shape[0], persistence.shape[0],
                                   momentum.shape[0], tanh_return.shape[0], pain.shape[0], pain_signal.shape[0],
                                   news.shape[0], noise.shape[0], z.shape[0])
    cdef Py_ssize_t longest = max(s.shape[0], m.shape[0], conformity.shape[0], persistence.shape[0],
                                  momentum.shape[0], tanh_return.shape[0], pain.shape[0], pain_signal.shape[0],
                                  news.shape[0], noise.shape[0], z.shape[0])
    if shortest != n or longest != n:
        raise ValueError(f"every input must have the length of out ({n})")
    for i in range(n):
        x = s[i] + conformity[i] * (m[i] - s[i])
        x = x * persistence[i]
        x = x + momentum[i] * tanh_return[i]
        x = x + pain[i] * pain_signal[i]
        x = x + news[i]
        x = x + noise[i] * z[i]
        out[i] = -1.0 if x < -1.0 else (1.0 if x > 1.0 else x)


def pain_signal(double[::1] out, const i64[:, ::1] position, const double[::1] lot, const double[::1] mark,
                const double[:, ::1] entry, const double[::1] wallet, const double[:, ::1] margin):
    """Unrealised loss over equity for the first ``len(out)`` accounts, into ``out`` (see `Mood.pain_signal`)."""
    cdef Py_ssize_t i, a, n = out.shape[0], k = lot.shape[0]
    if not (mark.shape[0] == k and position.shape[1] == entry.shape[1] == margin.shape[1] == k
            and min(position.shape[0], entry.shape[0], margin.shape[0], wallet.shape[0]) >= n):
        raise ValueError("the ledger's columns do not have the accounts and assets asked for")
    cdef double upnl, loss_sum, margin_sum, upnl_sum, sign
    cdef i64 q
    for i in range(n):
        loss_sum = margin_sum = upnl_sum = 0.0
        for a in range(k):
            q = position[i, a]
            upnl = (<double>q * lot[a]) * (mark[a] - entry[i, a])
            sign = -1.0 if q > 0 else (1.0 if q < 0 else 0.0)  # -np.sign(position)
            loss_sum = loss_sum + _maximum(0.0, -upnl) * sign
            margin_sum = margin_sum + margin[i, a]
            upnl_sum = upnl_sum + upnl
        out[i] = loss_sum / _maximum(wallet[i] + margin_sum + upnl_sum, 1.0)


ctypedef fused index_t:
    int
    long long


def neighbour_mean(double[::1] out, const double[::1] s, const index_t[::1] indptr, const index_t[::1] indices,
                   const double[::1] data):
    """``np.where(np.diff(indptr) > 0, W @ s, s)`` for a CSR matrix ``W`` (``indptr``, ``indices``, ``data``).

    A row's sum runs over its stored entries in order from 0.0, as scipy's ``csr_matvec`` adds them; a row
    without entries keeps its own ``s``. ``out`` must not alias ``s`` (it is scratch: a malformed matrix
    raises `ValueError` with part of it written).
    """
    cdef Py_ssize_t i, j, c, n = out.shape[0]
    if s.shape[0] != n or indptr.shape[0] != n + 1 or indptr[0] != 0:
        raise ValueError("a CSR matrix of the size of out, and a vector as long, are needed")
    if n and &out[0] == &s[0]:
        raise ValueError("out must not alias s")
    cdef double total
    for i in range(n):
        if not indptr[i] <= indptr[i + 1] <= min(indices.shape[0], data.shape[0]):
            raise ValueError("the CSR row pointers must ascend within the stored entries")
        if indptr[i + 1] == indptr[i]:
            out[i] = s[i]
            continue
        total = 0.0
        for j in range(indptr[i], indptr[i + 1]):
            c = indices[j]
            if not 0 <= c < n:
                raise ValueError("a CSR column index is out of range")
            total = total + data[j] * s[c]
        out[i] = total
