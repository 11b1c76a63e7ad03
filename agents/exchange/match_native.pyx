# cython: language_level=3, annotation_typing=False
"""`NativeMatch`: what one submission to the compiled book did.

The same record as `agents.exchange.book.Match`, with the same fields, equality
and repr, as a compiled class: the compiled book makes one for every order that
reaches the matching (millions a run) without running a Python ``__init__``, and
the compiled venue reads its fields directly. A `NativeMatch` equals a `Match`
with the same fields (the differential tests compare the compiled book's with
the reference book's).
"""

from agents.exchange.book import Match, match_fields, match_repr

_NONE = ()


cdef class NativeMatch:
    """See `agents.exchange.book.Match` (``filled`` is a 64-bit count of lots, ``rejected`` a bool)."""

    def __init__(self, fills=_NONE, order_id=None, filled=0, cancelled=_NONE, rejected=False) -> None:
        self.fills, self.order_id, self.filled, self.cancelled, self.rejected = (fills, order_id, filled, cancelled,
                                                                                 rejected)

    __hash__ = None  # mutable and compared by value, as `Match`

    def __eq__(self, other):
        if not isinstance(other, (NativeMatch, Match)):
            return NotImplemented
        return match_fields(self) == match_fields(other)

    def __repr__(self) -> str:
        return match_repr(self)
