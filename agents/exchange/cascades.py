"""How the venue resolves its triggers: stop and liquidation cascades, nearest first.

`TriggerResolution` is the part of `agents.exchange.venue.OrderBookAgent` that
keeps every open position's liquidation price on the watch list and, after each
fill, fires whatever the last price (stops) or the mark (liquidations) has
crossed, until nothing more is due. Upward triggers go before downward ones and
nearer prices before farther ones, so a cascade unfolds in price order.
"""

from __future__ import annotations

import numpy as np

from agents.exchange.margin import liquidation_price, liquidation_price_one, maintenance_margin_one
from agents.exchange.triggers import UP

# Why a trade happened; recorded on the tape for every fill (the taker's cause).
CAUSES = ("trader", "stop", "liquidation", "takeover", "adl", "shock")
TRADER, STOP, LIQUIDATION, TAKEOVER, ADL, SHOCK = range(len(CAUSES))
FORCED = (LIQUIDATION, TAKEOVER, ADL)  # forced trades: the liquidated side pays no trading fee


class TriggerResolution:
    """Liquidation watch upkeep and trigger cascades (a mix-in of the venue)."""

    def _after_position_change(self, account: int, asset: int) -> None:
        led = self.ledger
        pos = int(led.position[account, asset])
        if pos == 0:  # reduce-only orders of a flat position must not open a new one
            for oid in self.registries[asset].pop_reduce_only(account):
                self.cancel(asset, oid)
        if account == self.fund:
            return
        lp = liquidation_price_one(pos * float(led.lot[asset]), float(led.entry[account, asset]),
                                   float(led.margin[account, asset]), self.tiers[asset])
        self.watch[asset].watch(account, pos, lp)

    def _rewatch_all(self, asset: int) -> None:
        led = self.ledger
        idx = np.flatnonzero(led.position[:, asset])
        idx = idx[idx != self.fund]
        if len(idx) == 0:
            return
        lps = np.atleast_1d(liquidation_price(led.position[idx, asset] * led.lot[asset], led.entry[idx, asset],
                                              led.margin[idx, asset], self.tiers[asset]))
        w = self.watch[asset]
        for acct, pos, lp in zip(idx.tolist(), led.position[idx, asset].tolist(), lps.tolist()):
            w.watch(acct, pos, lp)

    # ------------------------------------------------------------- triggers
    def _equity_and_mm(self, account: int, asset: int, mark: float) -> tuple[float, float]:
        led = self.ledger
        q = int(led.position[account, asset]) * led.lot[asset]
        eq = float(led.margin[account, asset] + q * (mark - led.entry[account, asset]))
        return eq, maintenance_margin_one(q, mark, self.tiers[asset])

    def resolve(self, asset: int) -> None:
        """Fire due stops and liquidations on one asset until nothing more is due."""
        if self._resolving:
            return
        self._resolving = True
        try:
            stops, watch = self.stops[asset], self.watch[asset]
            while True:
                last = self.last_price(asset)
                mark = self.mark.update(asset, last, self.mid_price(asset))
                s, liq = stops.next_due(last), watch.next_due(mark)
                pick = _nearest(s, liq)
                if pick is None:
                    return
                if pick == "stop":
                    self._fire_stop(asset, last, s[1])
                else:
                    self._fire_liquidation(asset, mark, liq[1])
        finally:
            self._resolving = False

    def _fire_stop(self, asset: int, last: float, direction: int) -> None:
        got = self.stops[asset].pop(last, direction)
        if got is None:
            return
        _, account, side, lots = got
        self.stops_fired[asset] += 1
        self.market(account, asset, side, lots, cause=STOP, reduce_only=True)

    def _fire_liquidation(self, asset: int, mark: float, direction: int) -> None:
        got = self.watch[asset].pop(mark, direction)
        if got is None:
            return
        trigger, account = got
        eq, mm = self._equity_and_mm(account, asset, mark)
        if eq > mm:  # rounding put the trigger a hair early: watch again just beyond the mark
            pos = int(self.ledger.position[account, asset])
            self.watch[asset].watch(account, pos, mark * (1.0 - 1e-9 * (1 if pos > 0 else -1)))
            return
        pos = int(self.ledger.position[account, asset])
        self.liq_usd[asset, 0 if pos > 0 else 1] += abs(pos) * self.ledger.lot[asset] * mark
        self.liquidations.liquidate(account, asset, trigger, mark, eq, mm)


def _nearest(stop: tuple[float, int] | None, liq: tuple[float, int] | None) -> str | None:
    """Which due trigger fires first: upward before downward, nearest price first."""
    if stop is None:
        return None if liq is None else "liq"
    if liq is None:
        return "stop"
    if stop[1] != liq[1]:
        return "stop" if stop[1] == UP else "liq"
    return "stop" if (stop[0] <= liq[0]) == (stop[1] == UP) else "liq"
