"""The liquidation engine: IOC close, insurance-fund takeover, auto-deleveraging.

When an account's equity on one isolated position falls to its maintenance
margin, the venue calls `LiquidationEngine.liquidate`:

1. the account's orders and stops on that asset are cancelled;
2. an IOC limit order at the bankruptcy price closes what the book can take
   (stage ``ioc``; these fills never pay worse than bankruptcy);
3. whatever is left is taken over at the bankruptcy price by the insurance
   fund's account (stage ``takeover``), or, when the fund's equity is
   exhausted, closed against the top-ranked profitable opposite positions at
   the bankruptcy price (stage ``adl``);
4. of the isolated margin left after the close, the liquidation fee
   (``fee_rate`` × notional, at most what is left) goes to the fund and the
   rest back to the trader's wallet. A shortfall (rounding to the tick can
   make one) is paid by the fund.

ADL ranking is profit (as a share of margin) × effective leverage, highest
first, as on Binance.
"""

from __future__ import annotations

import math

import numpy as np

LIQ_COLUMNS = ("time", "asset", "account", "side", "qty", "price", "notional_usd", "leverage", "stage",
               "trigger_price", "mark", "equity", "maintenance", "account_equity_after")


class LiquidationEngine:
    """Closes accounts that breach maintenance margin, on behalf of a venue."""

    def __init__(self, venue, fee_rate: float) -> None:
        self.venue = venue
        self.fee_rate = fee_rate
        self.events: dict[str, list] = {c: [] for c in LIQ_COLUMNS}
        self.fund_shortfall_paid = 0.0
        self.fund_fees_received = 0.0
        self.adl_notional = 0.0
        self.count = 0
        self._pending = 0  # events of the liquidation in progress, awaiting account_equity_after

    def _event(self, account: int, asset: int, pos_sign: int, lots: int, price: float, stage: str,
               trigger: float, mark: float, eq: float, mm: float) -> None:
        v = self.venue
        lot = v.ledger.lot[asset]
        e = self.events
        e["time"].append(v.books[asset].time)
        e["asset"].append(v.symbols[asset])
        e["account"].append(account)
        e["side"].append("long" if pos_sign > 0 else "short")
        e["qty"].append(lots * lot)
        e["price"].append(price)
        e["notional_usd"].append(lots * lot * price)
        e["leverage"].append(float(v.ledger.leverage[account, asset]))
        e["stage"].append(stage)
        e["trigger_price"].append(trigger)
        e["mark"].append(mark)
        e["equity"].append(eq)
        e["maintenance"].append(mm)
        self._pending += 1

    def liquidate(self, account: int, asset: int, trigger: float, mark: float, eq: float, mm: float) -> None:
        """Liquidate one isolated position (see module docstring)."""
        v, led = self.venue, self.venue.ledger
        pos = int(led.position[account, asset])
        if pos == 0:
            return
        self.count += 1
        s = 1 if pos > 0 else -1
        v.cancel_all(account, asset)
        lot, tick = led.lot[asset], v.books[asset].tick_size
        bp = float(led.entry[account, asset]) - float(led.margin[account, asset]) / (pos * lot)
        notional = abs(pos) * lot * mark
        wallet_before = float(led.wallet[account])
        # 2. IOC at the bankruptcy price, rounded so the fills are never worse.
        bp_tick = max(1, math.ceil(bp / tick - 1e-9)) if s > 0 else max(1, math.floor(bp / tick + 1e-9))
        filled, avg = v.liquidation_order(account, asset, -s, abs(pos), bp_tick)
        if filled:
            self._event(account, asset, s, filled, avg, "ioc", trigger, mark, eq, mm)
        rest = abs(pos) - filled
        if rest:
            # 3. Bankruptcy price of what is left (margin and entry are unchanged by a partial close pro rata).
            bp_rest = float(led.entry[account, asset]) - float(led.margin[account, asset]) / (s * rest * lot)
            if v.fund_equity() <= 0:
                closed = self.deleverage(account, asset, rest, bp_rest)
                if closed:
                    self._event(account, asset, s, closed, bp_rest, "adl", trigger, mark, eq, mm)
                rest -= closed
            if rest:  # the fund takes over what neither the book nor ADL could close
                v.transfer(account, v.fund, asset, -s * rest, bp_rest, cause="takeover")
                self._event(account, asset, s, rest, bp_rest, "takeover", trigger, mark, eq, mm)
        # 4. Fee from what is left of the isolated margin; the fund covers any shortfall.
        left = float(led.wallet[account]) - wallet_before
        if left > 0:
            fee = min(left, self.fee_rate * notional)
            v.move_cash(account, v.fund, fee)
            self.fund_fees_received += fee
        elif left < 0:
            v.move_cash(v.fund, account, -left)
            self.fund_shortfall_paid += -left
        after = led.account_equity(account, v.mark.value)
        for _ in range(self._pending):
            self.events["account_equity_after"].append(after)
        self._pending = 0

    def adl_candidates(self, asset: int, side_of_liquidated: int, exclude: int) -> np.ndarray:
        """Profitable positions opposite to ``side_of_liquidated``, highest ADL rank first."""
        v, led = self.venue, self.venue.ledger
        pos = led.position[:, asset]
        mark = v.mark.value[asset]
        upnl = pos * led.lot[asset] * (mark - led.entry[:, asset])
        margin = led.margin[:, asset]
        ok = (np.sign(pos) == -side_of_liquidated) & (upnl > 0) & (margin > 0)
        ok[exclude] = False
        ok[v.fund] = False
        idx = np.flatnonzero(ok)
        if len(idx) == 0:
            return idx
        notional = np.abs(pos[idx]) * led.lot[asset] * mark
        rank = (upnl[idx] / margin[idx]) * (notional / (margin[idx] + upnl[idx]))
        return idx[np.argsort(-rank, kind="stable")]

    def deleverage(self, account: int, asset: int, lots: int, price: float) -> int:
        """Close up to ``lots`` of ``account``'s position against ranked opposite positions at ``price``."""
        v, led = self.venue, self.venue.ledger
        s = 1 if led.position[account, asset] > 0 else -1
        closed = 0
        for other in self.adl_candidates(asset, s, account):
            take = min(lots - closed, abs(int(led.position[other, asset])))
            v.transfer(account, int(other), asset, -s * take, price, cause="adl")
            closed += take
            if closed == lots:
                break
        self.adl_notional += closed * led.lot[asset] * price
        return closed

    def frame_columns(self) -> dict[str, list]:
        """The recorded events as columns."""
        return self.events

