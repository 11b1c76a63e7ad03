# The compiled liquidation watch's C-level interface, for the compiled venue (venue_native).

from libcpp.vector cimport vector

ctypedef long long i64

cdef extern from * nogil:
    """
    #include <algorithm>
    #include <vector>
    struct TriggerEntry { double key; long long seq; long long ident; long long version; };
    // A min-heap on (key, seq) through the standard max-heap algorithms.
    static inline bool later_first(const TriggerEntry& a, const TriggerEntry& b) {
        return a.key > b.key || (a.key == b.key && a.seq > b.seq);
    }
    static inline void heap_push(std::vector<TriggerEntry>& h) { std::push_heap(h.begin(), h.end(), later_first); }
    static inline void heap_pop(std::vector<TriggerEntry>& h) { std::pop_heap(h.begin(), h.end(), later_first); h.pop_back(); }
    static inline void heap_make(std::vector<TriggerEntry>& h) { std::make_heap(h.begin(), h.end(), later_first); }
    """
    cdef cppclass TriggerEntry:
        double key
        i64 seq, ident, version
    void heap_push(vector[TriggerEntry]& h)
    void heap_pop(vector[TriggerEntry]& h)
    void heap_make(vector[TriggerEntry]& h)


cdef class NativeLiquidationWatch:
    cdef vector[TriggerEntry] _up, _down
    cdef i64 _seq_up, _seq_down
    cdef Py_ssize_t _compact_up, _compact_down, _compact_min
    cdef vector[i64] _version

    cdef i64 _account(self, account) except -1
    cdef int _watch(self, i64 account, i64 position, double liq_price) except -1
    cdef int _push(self, i64 a, bint long_position, double liq_price) except -1
    cdef Py_ssize_t _compact(self, vector[TriggerEntry]& heap, Py_ssize_t at)
    cdef bint _top_due(self, vector[TriggerEntry]& heap, double bound)
    cdef bint _any_due(self, double price) except -1
