# distutils: language = c++
# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
# cython: annotation_typing=False
"""The order registry compiled: `NativeOrderRegistry`, the same registry as
`agents.exchange.registry.OrderRegistry` in C++ hash maps (`IdMap`, from
``containers.h``; the class is declared in ``registry_native.pxd``), so the
compiled venue books and releases resting orders without touching a Python dict
or set. Ids and accounts are 64-bit ints; the Python methods look up other
numbers as a dict would (3.0 finds 3, 3.5 nothing).
"""

from libcpp.algorithm cimport sort
from libcpp.vector cimport vector


cdef bint _key(object x, i64* out):
    """Whether ``x`` is a dict key equal to a 64-bit int (in ``out``)."""
    try:
        out[0] = x
    except (TypeError, ValueError, OverflowError):
        return False
    return type(x) is int or out[0] == x  # C conversion truncates floats


cdef list _keys(IdMap[bint]& ids):
    """The ids of a set, ascending."""
    cdef vector[i64] out
    cdef size_t i
    for i in range(ids.capacity()):
        if ids.used(i):
            out.push_back(ids.key_at(i))
    sort(out.begin(), out.end())
    return list(out)


cdef dict _sets(IdMap[IdMap[bint]]& sets):
    """Every non-empty set by key, ascending, as sorted lists."""
    cdef size_t i
    out = {sets.key_at(i): _keys(sets.value_at(i))
           for i in range(sets.capacity()) if sets.used(i) and not sets.value_at(i).empty()}
    return dict(sorted(out.items()))


cdef class NativeOrderRegistry:
    """Resting orders by id and by account (compiled)."""

    cdef void _add(self, i64 order_id, i64 account, double per_lot, bint reduce_only) noexcept:
        cdef Entry e
        e.account, e.per_lot, e.reduce_only = account, per_lot, reduce_only
        self._owner[order_id] = e
        self._by_account[account][order_id] = True
        if reduce_only:
            self._reduce_only[account][order_id] = True

    cdef Entry* _entry(self, i64 order_id) noexcept:
        """The order's entry, or NULL if it is not recorded."""
        return self._owner.find(order_id)

    cdef void _remove(self, i64 order_id) noexcept:
        cdef Entry* found = self._owner.find(order_id)
        if found is NULL:
            return
        cdef Entry e = found[0]
        self._owner.erase(order_id)
        self._by_account[e.account].erase(order_id)
        cdef IdMap[bint]* reduce_only
        if e.reduce_only:
            reduce_only = self._reduce_only.find(e.account)
            if reduce_only is not NULL:
                reduce_only.erase(order_id)

    cdef list _pop_reduce_only(self, i64 account):
        cdef IdMap[bint]* found = self._reduce_only.find(account)
        if found is NULL:
            return []
        ids = _keys(found[0])
        self._reduce_only.erase(account)
        return ids

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
        cdef IdMap[bint]* found = self._by_account.find(acct)
        return [] if found is NULL else _keys(found[0])

    def count(self, account) -> int:
        """How many resting orders an account has."""
        cdef i64 acct
        return self._count(acct) if _key(account, &acct) else 0

    cdef Py_ssize_t _count(self, i64 account) noexcept:
        cdef IdMap[bint]* found = self._by_account.find(account)
        return 0 if found is NULL else found.size()

    def pop_reduce_only(self, account) -> list:
        """Ids of an account's reduce-only orders, ascending, no longer listed as such (the venue cancels them)."""
        cdef i64 acct
        return self._pop_reduce_only(acct) if _key(account, &acct) else []

    def state(self) -> tuple:
        """Everything recorded, as plain values that compare exactly (accounts without orders left out)."""
        cdef size_t i
        cdef Entry* e
        owner = {}
        for i in range(self._owner.capacity()):
            if self._owner.used(i):
                e = &self._owner.value_at(i)
                owner[self._owner.key_at(i)] = (e.account, float(e.per_lot).hex(), e.reduce_only)
        return dict(sorted(owner.items())), _sets(self._by_account), _sets(self._reduce_only)
