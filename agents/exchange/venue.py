"""`OrderBookAgent`: the venue as a Mesa agent.

It holds one `LimitOrderBook` per asset and the `Ledger` of every trader's
account. Orders are processed the moment they arrive (a continuous double
auction). Each fill is settled on both accounts with maker/taker fees, and
every order that could add exposure must be covered by the account's free
collateral at its leverage, or it is rejected with a recorded reason.
"""

from __future__ import annotations

from collections import Counter

import mesa
import numpy as np

from agents.exchange.accounts import Ledger
from agents.exchange.book import BUY, SELL, LimitOrderBook, Match, OrderError

# Why a trade happened; recorded on the tape for every fill (taker's cause).
CAUSES = ("trader", "stop", "liquidation", "takeover", "adl", "shock")
TRADER, STOP, LIQUIDATION, TAKEOVER, ADL, SHOCK = range(len(CAUSES))

__all__ = ["OrderBookAgent", "BUY", "SELL", "CAUSES", "OrderError"]


class OrderBookAgent(mesa.Agent):
    """The exchange: books, accounts, fees and the trade tape.

    Args:
        model: the Mesa model.
        symbols, tick_sizes, lot_sizes, prices: one entry per asset.
        n_accounts: number of trader accounts to open.
        maker_fee, taker_fee: fee rates on notional (a negative maker fee is a rebate).
    """

    def __init__(self, model: mesa.Model, symbols: list[str], tick_sizes: list[float], lot_sizes: list[float],
                 prices: list[float], n_accounts: int, maker_fee: float = 0.0002, taker_fee: float = 0.0005) -> None:
        super().__init__(model)
        self.symbols = list(symbols)
        self.books = [LimitOrderBook(t, lot, s) for s, t, lot in zip(symbols, tick_sizes, lot_sizes)]
        self.ledger = Ledger(n_accounts, np.asarray(lot_sizes, dtype=float))
        self.maker_fee, self.taker_fee = float(maker_fee), float(taker_fee)
        self.fees_collected = 0.0
        self.deposits = 0.0
        self.last_tick = [b.to_tick(p) for b, p in zip(self.books, prices)]
        self.orders_received = 0
        self.cancels_received = 0
        self.rejections: Counter[str] = Counter()
        # order id -> (account, reserved collateral per lot), per asset
        self._order_owner: list[dict[int, tuple[int, float]]] = [{} for _ in self.books]

    # ------------------------------------------------------------ accounts
    def deposit(self, account: int, amount: float) -> None:
        """Credit collateral to an account (counted as money injected)."""
        self.ledger.wallet[account] += amount
        self.deposits += amount

    def set_leverage(self, account: int, asset: int, leverage: float) -> None:
        """Set the leverage an account trades an asset at (only while flat)."""
        if self.ledger.position[account, asset] != 0:
            raise OrderError("leverage can only be changed while the position is flat")
        self.ledger.leverage[account, asset] = leverage

    # -------------------------------------------------------------- prices
    def set_time(self, now: float) -> None:
        """Stamp subsequent fills with the simulated time ``now`` (seconds)."""
        for b in self.books:
            b.time = now

    def last_price(self, asset: int) -> float:
        """Last traded price (the start price before any trade)."""
        return self.last_tick[asset] * self.books[asset].tick_size

    def mid_price(self, asset: int) -> float:
        """Mid if both sides quote, else the last price."""
        m = self.books[asset].mid()
        return self.last_price(asset) if m is None else m

    def last_prices(self) -> np.ndarray:
        """Last price of every asset."""
        return np.array([self.last_price(i) for i in range(len(self.books))])

    # -------------------------------------------------------------- orders
    def _reserve(self, account: int, asset: int, side: int, lots: int, tick: int) -> float | None:
        """Collateral per lot to reserve for an order, or None if it cannot be covered."""
        led = self.ledger
        opening = led.opening_lots(account, asset, side, lots)
        if opening == 0:
            return 0.0
        price = tick * self.books[asset].tick_size
        per_lot = led.lot[asset] * price * (1.0 / led.leverage[account, asset] + self.taker_fee)
        if per_lot * opening > led.available(account) + 1e-9:
            return None
        return per_lot * opening / lots

    def limit(self, account: int, asset: int, side: int, tick: int, lots: int, tif: str = "GTC",
              cause: int = TRADER) -> int | None:
        """Place a limit order; returns the resting order id or None (filled, IOC, rejected)."""
        self.orders_received += 1
        per_lot = self._reserve(account, asset, side, lots, tick)
        if per_lot is None:
            self.rejections["insufficient_margin"] += 1
            return None
        book = self.books[asset]
        book.cause = cause
        m = book.submit_limit(account, side, tick, lots, tif)
        if m.rejected:
            self.rejections["post_only_would_cross"] += 1
            return None
        self._settle(asset, account, side, m)
        if m.order_id is not None:
            self._order_owner[asset][m.order_id] = (account, per_lot)
            self.ledger.order_margin[account, asset] += per_lot * (lots - m.filled)
        return m.order_id

    def market(self, account: int, asset: int, side: int, lots: int, cause: int = TRADER) -> int:
        """Send a market order; returns the lots filled (the rest is cancelled)."""
        self.orders_received += 1
        book = self.books[asset]
        if cause == TRADER:
            opp = book.best_ask() if side == BUY else book.best_bid()
            if opp is None:
                self.rejections["no_liquidity"] += 1
                return 0
            # Market orders are checked at a price 1% through the touch.
            guard = int(opp * (1.01 if side == BUY else 0.99))
            if self._reserve(account, asset, side, lots, max(guard, 1)) is None:
                self.rejections["insufficient_margin"] += 1
                return 0
        book.cause = cause
        m = book.submit_market(account, side, lots)
        self._settle(asset, account, side, m)
        return m.filled

    def cancel(self, asset: int, order_id: int) -> int:
        """Cancel a resting order; returns its remaining lots, or 0 if it is already gone."""
        self.cancels_received += 1
        book = self.books[asset]
        if order_id not in book:
            return 0
        lots = book.cancel(order_id)
        self._release(asset, order_id, lots, gone=True)
        return lots

    # ----------------------------------------------------------- settlement
    def _release(self, asset: int, order_id: int, lots: int, gone: bool) -> None:
        owner = self._order_owner[asset]
        account, per_lot = owner[order_id]
        om = self.ledger.order_margin
        om[account, asset] = max(0.0, om[account, asset] - per_lot * lots)
        if gone:
            del owner[order_id]

    def _settle(self, asset: int, taker: int, side: int, m: Match) -> None:
        for oid, maker, tick, lots in m.cancelled:
            self._release(asset, oid, lots, gone=True)
        if not m.fills:
            return
        book, led = self.books[asset], self.ledger
        lot, tick_size = led.lot[asset], book.tick_size
        for oid, maker, tick, lots in m.fills:
            price = tick * tick_size
            notional = lots * lot * price
            self._release(asset, oid, lots, gone=oid not in book)
            maker_fee = notional * self.maker_fee
            taker_fee = notional * self.taker_fee
            led.fill(maker, asset, -side * lots, price, maker_fee)
            led.fill(taker, asset, side * lots, price, taker_fee)
            self.fees_collected += maker_fee + taker_fee
        self.last_tick[asset] = m.fills[-1][2]

    # -------------------------------------------------------------- checks
    def money_total(self, prices: np.ndarray | None = None) -> float:
        """Accounts' equity at a common price plus fees collected (conserved)."""
        p = self.last_prices() if prices is None else prices
        return self.ledger.total_money(p) + self.fees_collected

    def open_orders(self, account: int, asset: int) -> list[int]:
        """Ids of an account's resting orders on one asset."""
        return [oid for oid, (acct, _) in self._order_owner[asset].items() if acct == account]
