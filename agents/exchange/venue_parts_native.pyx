# distutils: language = c++
# cython: language_level=3, annotation_typing=False
"""`VenueParts`: the parts of a venue that its compiled methods (`agents.exchange.venue_native`) read, typed.

The venue binds its compiled methods to its `VenueParts` (their first
argument), so a method reads its parts without a Python attribute lookup,
where it read one or two per part (the books, the registries, the ledger, the
fees...). The lists and objects are the venue's own, so changes inside them
show; the venue never rebinds them. It also keeps the venue's counters
(`VenueCounters`: the venue's attributes of those names read and write these),
and each asset's tier table as C arrays, read again if the venue's table for
the asset is replaced.
"""

import numpy as np

from agents.exchange.margin_native cimport tier_rows


cdef class VenueParts:
    """The parts of a venue its compiled methods read and that are fixed once it is built, typed."""

    def __init__(self, venue) -> None:
        self.venue = venue
        mark = venue.mark
        self.mark_value, self.mark_ema, self.mark_index, self.mark_basis = mark.value, mark.ema, mark.index, mark.basis
        self.mids, self.stop_heaps = np.empty(len(venue.books)), [(s.up._heap, s.down._heap) for s in venue.stops]
        counts = venue._counts
        self.orders_received, self.cancels_received = counts.orders_received, counts.cancels_received
        self.fees_collected = counts.fees_collected
        self.books, self.registries, self.tiers = venue.books, venue.registries, venue.tiers
        self.stops, self.watch, self.last_tick = venue.stops, venue.watch, venue.last_tick
        self.ledger, self.mark, self.rejections = venue.ledger, venue.mark, venue.rejections
        self.kernel = venue.ledger.kernel
        self.fund = venue.fund
        self.maker_fee, self.taker_fee = venue.maker_fee, venue.taker_fee
        self.market_band = venue.rules.market_band
        self.tier_tables = [None] * len(self.tiers)
        self.tier_rows.resize(len(self.tiers))

    cdef const TierRows* tiers_of(self, Py_ssize_t asset) except NULL:
        """The asset's tier table (``tiers[asset]``) as C arrays, read again if the table was replaced."""
        table = self.tiers[asset]  # (a negative asset counts from the end, as in the list)
        if asset < 0:
            asset += len(self.tiers)
        if table is not self.tier_tables[asset]:
            if asset >= <Py_ssize_t>self.tier_rows.size():  # an asset's table appended since
                self.tier_rows.resize(asset + 1)
                self.tier_tables.extend([None] * (asset + 1 - len(self.tier_tables)))
            self.tier_rows[asset] = tier_rows(table)
            self.tier_tables[asset] = table
        return &self.tier_rows[asset]
