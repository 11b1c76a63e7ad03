"""The venue's order registry: the compiled one against the pure-Python one, operation by operation."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.exchange.native import BUILT, NativeOrderRegistry
from agents.exchange.registry import OrderRegistry

ACCOUNTS = st.integers(0, 3)  # few accounts, so that each has several orders
KEYS = st.integers(0, 80) | st.sampled_from([3.0, 3.5, -1, 2**70, "3"])  # looked up as a dict would
OPS = st.lists(st.one_of(
    st.tuples(st.just("add"), ACCOUNTS, st.sampled_from([0.0, 0.1, 2.5e-7, 1e300]), st.booleans()),
    st.tuples(st.just("entry"), KEYS),
    st.tuples(st.just("remove"), KEYS),
    st.tuples(st.just("of_account"), ACCOUNTS | KEYS),
    st.tuples(st.just("count"), ACCOUNTS | KEYS),
    st.tuples(st.just("pop_reduce_only"), ACCOUNTS | KEYS),
), min_size=20, max_size=80)


def apply(registry, op: tuple, new_id: int):
    """Run one operation (``add`` records ``new_id``); its result, or the error it raised."""
    name, *args = op
    try:
        if name == "add":
            return registry.add(new_id, *args)
        return getattr(registry, name)(*args)
    except KeyError as exc:
        return ("KeyError", exc.args)


def test_python_registry_finds_orders_by_account_and_pops_reduce_only_in_id_order():
    r = OrderRegistry()
    for oid, account, ro in ((7, 1, True), (3, 1, False), (5, 1, True), (4, 2, True)):
        r.add(oid, account, 0.5, ro)
    assert r.of_account(1) == [3, 5, 7] and r.count(1) == 3 and r.count(9) == 0
    assert r.entry(5) == (1, 0.5, True)
    r.remove(5)
    assert r.pop_reduce_only(1) == [7] and r.pop_reduce_only(1) == []
    assert r.of_account(1) == [3, 7]  # popped reduce-only orders still rest until the venue cancels them
    with pytest.raises(KeyError):
        r.remove(5)
    assert r.state() == ({7: (1, (0.5).hex(), True), 3: (1, (0.5).hex(), False), 4: (2, (0.5).hex(), True)},
                         {1: [3, 7], 2: [4]}, {2: [4]})


@pytest.mark.skipif(not BUILT, reason="compiled kernels not built")
@settings(max_examples=300, deadline=None)
@given(ops=OPS, ids=st.permutations(range(81)))
def test_compiled_registry_is_the_python_one(ops, ids):
    python, native = OrderRegistry(), NativeOrderRegistry()
    for op, new_id in zip(ops, ids):  # ids in no particular order, each added once
        assert apply(python, op, new_id) == apply(native, op, new_id), op
        assert pickle.dumps(python.state()) == pickle.dumps(native.state())  # the same, in the same order


# Ids anywhere in 64 bits, some crowding a few hash slots (multiples of 2**61 share the home slot of 0 at every
# table size), through enough adds to grow the compiled hash map several times and removes that shift runs back.
WIDE_IDS = st.lists(st.integers(-2**63, 2**63 - 1) | st.integers(-4, 3).map(lambda k: k * 2**61) | st.integers(0, 400),
                    unique=True, min_size=50, max_size=300)


@pytest.mark.skipif(not BUILT, reason="compiled kernels not built")
@settings(max_examples=60, deadline=None)
@given(ids=WIDE_IDS, data=st.data())
def test_compiled_registry_is_the_python_one_for_any_ids(ids, data):
    python, native = OrderRegistry(), NativeOrderRegistry()
    live: list[int] = []
    for new_id in ids:
        account, reduce_only = data.draw(ACCOUNTS), data.draw(st.booleans())
        python.add(new_id, account, 0.5, reduce_only)
        native.add(new_id, account, 0.5, reduce_only)
        live.append(new_id)
        while live and data.draw(st.integers(0, 2)) == 0:  # remove a third of them, anywhere
            gone = live.pop(data.draw(st.integers(0, len(live) - 1)))
            python.remove(gone)
            native.remove(gone)
        probe = data.draw(st.sampled_from(ids))
        assert apply(python, ("entry", probe), 0) == apply(native, ("entry", probe), 0)
    assert pickle.dumps(python.state()) == pickle.dumps(native.state())
    assert [python.count(a) for a in range(4)] == [native.count(a) for a in range(4)]
