# distutils: language = c++
# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
# cython: annotation_typing=False
"""The order registry compiled: `NativeOrderRegistry`, the same registry as
`agents.exchange.registry.OrderRegistry` in C++ containers (declared in
``registry_native.pxd``), so the compiled venue books and releases resting
orders without touching a Python dict or set. Ids and accounts are 64-bit ints;
the Python methods look up other numbers as a dict would (3.0 finds 3, 3.5 nothing).
"""

from cython.operator cimport dereference as deref, preincrement as inc
from libcpp.algorithm cimport sort
from libcpp.vector cimport vector


cdef bint _key(object x, i64* out):
    """Whether ``x`` is a dict key equal to a 64-bit int (in ``out``)."""
    try:
        out[0] = x
    except (TypeError, ValueError, OverflowError):
        return False
    return type(x) is int or out[0] == x  # C conversion truncates floats


cdef class NativeOrderRegistry:
    """Resting orders by id and by account (compiled)."""

    cdef void _add(self, i64 order_id, i64 account, double per_lot, bint reduce_only) noexcept:
        cdef Entry e
        e.account, e.per_lot, e.reduce_only = account, per_lot, reduce_only
        self._owner[order_id] = e
        self._by_account[account].insert(order_id)
        if reduce_only:
            self._reduce_only[account].insert(order_id)

    cdef Entry* _entry(self, i64 order_id) noexcept:
        """The order's entry, or NULL if it is not recorded."""
        cdef unordered_map[i64, Entry].iterator it = self._owner.find(order_id)
        if it == self._owner.end():
            return NULL
        return &deref(it).second

    cdef void _remove(self, i64 order_id) noexcept:
        cdef unordered_map[i64, Entry].iterator it = self._owner.find(order_id)
        if it == self._owner.end():
            return
        cdef Entry e = deref(it).second
        self._owner.erase(it)
        self._by_account[e.account].erase(order_id)
        cdef unordered_map[i64, unordered_set[i64]].iterator found
        if e.reduce_only:
            found = self._reduce_only.find(e.account)
            if found != self._reduce_only.end():
                deref(found).second.erase(order_id)

    cdef list _pop_reduce_only(self, i64 account):
        cdef unordered_map[i64, unordered_set[i64]].iterator found = self._reduce_only.find(account)
        if found == self._reduce_only.end():
            return []
        cdef vector[i64] ids
        for oid in deref(found).second:
            ids.push_back(oid)
        self._reduce_only.erase(found)
        sort(ids.begin(), ids.end())
        return list(ids)

    # The Python interface of `OrderRegistry`.
    def add(self, order_id, account, per_lot, reduce_only) -> None:
        """Record a new resting order."""
        self._add(order_id, account, per_lot, reduce_only)

    def entry(self, order_id) -> tuple:
        """``(account, collateral per lot, reduce-only)`` of a resting order; `KeyError` if unknown."""
        cdef i64 oid
        cdef Entry* e = self._entry(oid) if _key(order_id, &oid) else NULL
        if e is NULL:
            raise KeyError(order_id)
        return e.account, e.per_lot, e.reduce_only

    def remove(self, order_id) -> None:
        """Forget an order that no longer rests; `KeyError` if unknown."""
        cdef i64 oid
        if not _key(order_id, &oid) or self._entry(oid) is NULL:
            raise KeyError(order_id)
        self._remove(oid)

    def of_account(self, account) -> list:
        """Ids of an account's resting orders, ascending."""
        cdef i64 acct
        if not _key(account, &acct):
            return []
        cdef unordered_map[i64, unordered_set[i64]].iterator found = self._by_account.find(acct)
        if found == self._by_account.end():
            return []
        return sorted(deref(found).second)

    def count(self, account) -> int:
        """How many resting orders an account has."""
        cdef i64 acct
        return self._count(acct) if _key(account, &acct) else 0

    cdef Py_ssize_t _count(self, i64 account) noexcept:
        cdef unordered_map[i64, unordered_set[i64]].iterator found = self._by_account.find(account)
        return 0 if found == self._by_account.end() else deref(found).second.size()

    def pop_reduce_only(self, account) -> list:
        """Ids of an account's reduce-only orders, ascending, no longer listed as such (the venue cancels them)."""
        cdef i64 acct
        return self._pop_reduce_only(acct) if _key(account, &acct) else []

    def state(self) -> tuple:
        """Everything recorded, as plain values that compare exactly (accounts without orders left out)."""
        owner = {p.first: (p.second.account, float(p.second.per_lot).hex(), p.second.reduce_only) for p in self._owner}
        by = {p.first: sorted(p.second) for p in self._by_account if not p.second.empty()}
        ro = {p.first: sorted(p.second) for p in self._reduce_only if not p.second.empty()}
        return dict(sorted(owner.items())), dict(sorted(by.items())), dict(sorted(ro.items()))
