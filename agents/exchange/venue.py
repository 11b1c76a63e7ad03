"""`OrderBookAgent`: the venue as a Mesa agent.

It holds one limit order book per asset (compiled or pure Python, see
`agents.exchange.native`), the `Ledger` of every account, the
stop books, the liquidation watches, the insurance fund (an account of its
own), the mark price and the funding clock. Orders are processed the moment
they arrive (a continuous double auction):

* market orders are IOC limits at the edge of a price band around the mark
  (``market_band``, 5% by default), as on real venues;
* every order that could add exposure must be covered by the account's free
  collateral at its leverage, within the tier's maximum leverage, or it is
  rejected with a recorded reason;
* each fill is settled on both accounts with maker/taker fees;
* after the fills of an order, triggers are resolved until nothing more
  fires: due stops (on the last price) and due liquidations (on the mark),
  nearest first, upward triggers before downward ones. Every forced trade
  carries its cause on the tape (see `agents.exchange.cascades`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from types import MethodType

import mesa
import numpy as np

from agents.exchange.accounts import Ledger
from agents.exchange.book import BUY, SELL, Match, OrderError
from agents.exchange.native import (LedgerKernel, VenueParts, book_class, kernel_kind, registry_class, venue_methods,
                                    watch_class)
from agents.exchange.funding import FundingClock, MarkPrice
from agents.exchange.liquidation import LiquidationEngine
from agents.exchange.cascades import (ADL, CAUSES, FORCED, LIQUIDATION, SHOCK, STOP, TAKEOVER, TRADER,  # noqa: F401
                                      TriggerResolution)
from agents.exchange.margin import BINANCE_BTCUSDT, TierTable
from agents.exchange.triggers import StopBook
from agents.ids import Agent

_FUND_LEVERAGE = 1e12  # the insurance fund posts no initial margin

__all__ = ["OrderBookAgent", "AssetRules", "VenueRules", "BUY", "SELL", "CAUSES", "OrderError", "TRADER", "STOP",
           "LIQUIDATION", "TAKEOVER", "ADL", "SHOCK"]


@dataclass(frozen=True)
class AssetRules:
    """One contract: its grid, start price and margin tiers."""

    symbol: str
    tick_size: float
    lot_size: float
    price: float
    tiers: TierTable = BINANCE_BTCUSDT


@dataclass(frozen=True)
class VenueRules:
    """Exchange-wide rules (fees, liquidation, mark, funding)."""

    maker_fee: float = 0.0002
    taker_fee: float = 0.0005
    liquidation_fee: float = 0.015
    insurance_fund: float = 0.0
    mark_method: str = "median"
    mark_half_life: float = 30.0
    funding_every: float = 8 * 3600.0
    funding_interest: float = 0.0001
    funding_clamp: float = 0.0005
    funding_cap: float = 0.02
    fund_unwind_bps: float = 50.0
    fund_unwind_usd: float = 0.0  # per asset per step; 0: no limit. A big takeover is sold off gradually.
    market_band: float = 0.05  # price protection: market orders fill within this band around the mark


class VenueCounters:
    """What a venue counts as it runs: orders and cancels received, and fees collected.

    On the compiled kernels the venue keeps them in its `VenueParts` instead, as C
    numbers its compiled methods update; its attributes of the same names read and
    write whichever it holds as ``_counts``.
    """

    __slots__ = ("orders_received", "cancels_received", "fees_collected")

    def __init__(self) -> None:
        self.orders_received = 0
        self.cancels_received = 0
        self.fees_collected = 0.0


def _counted(name: str) -> property:
    """A venue attribute kept in its ``_counts``."""
    def get(venue: "OrderBookAgent"):
        return getattr(venue._counts, name)

    def put(venue: "OrderBookAgent", value) -> None:
        setattr(venue._counts, name, value)

    return property(get, put, doc=f"{name.replace('_', ' ').capitalize()} (kept in the venue's ``_counts``).")


class OrderBookAgent(TriggerResolution, Agent):
    """The exchange. Account ``n_traders`` is the insurance fund.

    Args:
        model: the Mesa model; ``model.fundamental`` is the spot index.
        assets: one `AssetRules` per asset.
        n_traders: number of trader accounts.
        rules: fees, liquidation, mark and funding settings.
    """

    orders_received = _counted("orders_received")
    cancels_received = _counted("cancels_received")
    fees_collected = _counted("fees_collected")

    def __init__(self, model: mesa.Model, assets: list[AssetRules], n_traders: int, rules: VenueRules) -> None:
        super().__init__(model)
        self._counts = VenueCounters()
        self.assets = list(assets)
        self.rules = rules
        self.symbols = [a.symbol for a in assets]
        self.kernels = kernel_kind()  # "native" or "python": compiled kernels or their pure-Python originals
        book = book_class(self.kernels)
        self.books = [book(a.tick_size, a.lot_size, a.symbol) for a in assets]
        self.tiers = [a.tiers for a in assets]
        self.fund = n_traders
        self.ledger = Ledger(n_traders + 1, np.array([a.lot_size for a in assets]),
                             kernel=LedgerKernel if self.kernels == "native" else None)
        self.ledger.leverage[self.fund, :] = _FUND_LEVERAGE
        self.maker_fee, self.taker_fee = rules.maker_fee, rules.taker_fee
        self.deposits = 0.0
        self.last_tick = [b.to_tick(a.price) for b, a in zip(self.books, assets)]
        self._start_tick = tuple(self.last_tick)
        prices = np.array([a.price for a in assets], dtype=float)
        self.mark = MarkPrice(rules.mark_method, rules.mark_half_life, getattr(model, "dt", 1.0), prices)
        self.funding = FundingClock(rules.funding_every, rules.funding_interest, rules.funding_clamp, len(assets),
                                    rules.funding_cap)
        self.funding_net: list[tuple[float, float]] = []  # (net, gross) payments per funding time and asset
        self.stops = [StopBook() for _ in assets]
        self.watch = [watch_class(self.kernels)(n_traders + 1) for _ in assets]
        self.liquidations = LiquidationEngine(self, rules.liquidation_fee)
        self.rejections: Counter[str] = Counter()
        self.stops_fired = np.zeros(len(assets), dtype=np.int64)
        self.liq_usd = np.zeros((len(assets), 2))  # cumulative [long, short] notional liquidated
        self.transfers: dict[str, list] = {k: [] for k in ("time", "asset", "price", "lots", "side", "taker", "maker", "cause")}
        self.registries = [registry_class(self.kernels)() for _ in assets]  # resting orders by id and account
        self._resolving = False
        if self.kernels == "native":  # the compiled per-order methods replace the ones below, which stay the reference
            self._parts = VenueParts(self)  # the parts they read, typed (last: it reads them all)
            self._counts = self._parts  # which keeps the counters too
            for name in venue_methods.METHODS:  # bound to the parts, which know the venue (`VenueParts.venue`)
                setattr(self, name, MethodType(getattr(venue_methods, name), self._parts))
        if rules.insurance_fund:
            self.deposit(self.fund, rules.insurance_fund)

    # ------------------------------------------------------------ accounts
    def deposit(self, account: int, amount: float) -> None:
        """Credit collateral to an account (counted as money injected)."""
        self.ledger.wallet[account] += amount
        self.deposits += amount

    def deposit_many(self, first: int, amounts: np.ndarray) -> None:
        """Credit ``amounts[k]`` to account ``first + k`` for every k (a population's starting wallets)."""
        amounts = np.asarray(amounts, dtype=float)
        self.ledger.wallet[first:first + len(amounts)] += amounts
        for amount in amounts.tolist():  # one at a time, so the total is the same as depositing singly
            self.deposits += amount

    def move_cash(self, src: int, dst: int, amount: float) -> None:
        """Move wallet cash between two accounts."""
        self.ledger.wallet[src] -= amount
        self.ledger.wallet[dst] += amount

    def set_leverage(self, account: int, asset: int, leverage: float) -> None:
        """Set the leverage an account trades an asset at (only while flat)."""
        if self.ledger.position[account, asset] != 0:
            raise OrderError("leverage can only be changed while the position is flat")
        self.ledger.leverage[account, asset] = leverage

    def fund_equity(self) -> float:
        """The insurance fund's balance: wallet plus the value of positions it took over."""
        led, f = self.ledger, self.fund
        return float(led.wallet[f] + led.margin[f].sum() + (led.position[f] * led.lot * (self.mark.value - led.entry[f])).sum())

    def money_total(self, prices: np.ndarray | None = None) -> float:
        """All accounts' equity at one common price per asset (mark by default), plus fees collected.

        Positions net to zero, so the choice of price does not matter; this
        equals the money deposited when nothing has been created or lost.
        """
        p = self.mark.value if prices is None else prices
        return self.ledger.total_money(p) + self.fees_collected

    # -------------------------------------------------------------- prices
    def last_price(self, asset: int) -> float:
        """Last traded price (the start price before any trade)."""
        return self.last_tick[asset] * self.books[asset].tick_size

    def start_price(self, asset: int) -> float:
        """The contract's price at the start of the run, on its tick grid."""
        return self._start_tick[asset] * self.books[asset].tick_size

    def mid_price(self, asset: int) -> float:
        """Mid if both sides quote, else the last price."""
        m = self.books[asset].mid()
        return self.last_price(asset) if m is None else m

    def last_prices(self) -> np.ndarray:
        """Last price of every asset."""
        return np.array([self.last_price(i) for i in range(len(self.books))])

    def mids(self) -> np.ndarray:
        """Mid price of every asset."""
        return np.array([self.mid_price(i) for i in range(len(self.books))])

    # ---------------------------------------------------------------- step
    def set_time(self, now: float) -> None:
        """Stamp subsequent fills and events with the simulated time ``now``."""
        for b in self.books:
            b.time = now

    def begin_step(self, now: float, index: np.ndarray) -> None:
        """Move the mark, sample the premium against the index, pay funding if due, fire due triggers."""
        self.set_time(now)
        mids = self.mids()
        self.mark.step(mids, index)
        self.funding.sample(mids, index)
        rates = self.funding.due(now)
        if rates is not None:
            self._pay_funding(rates)
        for a in range(len(self.books)):
            self.resolve(a)

    def end_step(self) -> None:
        """The insurance fund works off positions it took over, within a band around mark."""
        led, f = self.ledger, self.fund
        for a, book in enumerate(self.books):
            pos = int(led.position[f, a])
            if pos == 0:
                continue
            side = SELL if pos > 0 else BUY
            # Pay up to the band: a buy up to mark + band, a sell down to mark - band.
            limit = self.mark.value[a] * (1 + side * self.rules.fund_unwind_bps * 1e-4)
            tick = int(limit / book.tick_size) if side == BUY else -int(-limit // book.tick_size)
            lots = abs(pos)
            if self.rules.fund_unwind_usd > 0:
                lots = min(lots, max(1, int(self.rules.fund_unwind_usd / (self.mark.value[a] * led.lot[a]))))
            self.liquidation_order(f, a, side, lots, max(1, tick), cause=TAKEOVER)
            self.resolve(a)

    def _pay_funding(self, rates: np.ndarray) -> None:
        led = self.ledger
        for a in range(len(self.books)):
            pay = led.position[:, a] * led.lot[a] * self.mark.value[a] * rates[a]
            led.margin[:, a] -= pay
            self.funding_net.append((float(pay.sum()), float(np.abs(pay).sum())))
            self._rewatch_all(a)

    # -------------------------------------------------------------- orders
    def _reserve(self, account: int, asset: int, side: int, lots: int, tick: int) -> float | None:
        """Collateral per lot to reserve for an order, or None (with a recorded reason)."""
        led = self.ledger
        pos = int(led.position[account, asset])
        opening = lots if pos * side >= 0 else lots - abs(pos)  # lots that open or add exposure
        if opening <= 0:
            return 0.0
        price = tick * self.books[asset].tick_size
        lev, lot = led.leverage[account, asset], led.lot[asset]
        if account != self.fund:
            notional = (abs(pos) + opening) * lot * price
            if lev > self.tiers[asset].tier_of(notional)[2] + 1e-12:
                self.rejections["leverage_above_tier_max"] += 1
                return None
        per_lot = lot * price * (1.0 / lev + self.taker_fee)
        if per_lot * opening > led.available(account) + 1e-9:
            self.rejections["insufficient_margin"] += 1
            return None
        return per_lot * opening / lots

    def limit(self, account: int, asset: int, side: int, tick: int, lots: int, tif: str = "GTC",
              reduce_only: bool = False, cause: int = TRADER) -> int | None:
        """Place a limit order; returns the resting order id, or None (filled, IOC, rejected)."""
        self._counts.orders_received += 1
        if reduce_only:
            lots = self._reducible(account, asset, side, lots)
            if lots == 0:
                self.rejections["reduce_only_nothing_to_reduce"] += 1
                return None
        per_lot = self._reserve(account, asset, side, lots, tick)
        if per_lot is None:
            return None
        book = self.books[asset]
        book.cause = cause
        m = book.submit_limit(account, side, tick, lots, tif)
        if m.rejected:
            self.rejections["post_only_would_cross"] += 1
            return None
        if m.order_id is not None:
            self._register(asset, account, m.order_id, per_lot, lots - m.filled, reduce_only)
        self._settle(asset, account, side, m, cause)
        if m.fills:
            self.resolve(asset)
        return m.order_id

    def post_quotes(self, account: int, asset: int, quotes: list[tuple[int, int, int]]) -> list[int | None]:
        """Place post-only limit orders ``(side, tick, lots)``, in order; the resting id of each, or None.

        One `limit(..., tif="POST")` per quote: a market maker's ladder in one
        call, which the compiled kernels (`agents.exchange.venue_native`) do in C.
        """
        return [self.limit(account, asset, side, tick, lots, tif="POST") for side, tick, lots in quotes]

    def _register(self, asset: int, account: int, order_id: int, per_lot: float, lots: int, reduce_only: bool) -> None:
        """Book a resting order to its account and reserve its collateral."""
        self.registries[asset].add(order_id, account, per_lot, reduce_only)
        self.ledger.order_margin[account, asset] += per_lot * lots

    def market(self, account: int, asset: int, side: int, lots: int, cause: int = TRADER,
               reduce_only: bool = False) -> int:
        """Send a market order; returns the lots filled (the rest is cancelled)."""
        self._counts.orders_received += 1
        if reduce_only:
            lots = self._reducible(account, asset, side, lots)
            if lots == 0:
                return 0
        book = self.books[asset]
        opp = book.best_ask() if side == BUY else book.best_bid()
        if opp is None:
            self.rejections["no_liquidity"] += 1
            return 0
        # A sell fills at the best bid or lower; a buy is checked at a price 1% through the touch.
        guard = int(opp * 1.01) if side == BUY else opp
        if self._reserve(account, asset, side, lots, guard) is None:
            return 0
        # Price protection: a market order is an IOC limit at the edge of the band around the mark.
        edge = self.mark.value[asset] * (1.0 + side * self.rules.market_band) / book.tick_size
        band_tick = max(1, int(edge) if side == BUY else -int(-edge // 1))
        book.cause = cause
        m = book.submit_limit(account, side, band_tick, lots, "IOC")
        self._settle(asset, account, side, m, cause)
        if m.fills:
            self.resolve(asset)
        return m.filled

    def liquidation_order(self, account: int, asset: int, side: int, lots: int, tick: int,
                          cause: int = LIQUIDATION) -> tuple[int, float]:
        """A forced IOC limit order (no margin check, no taker fee); returns (lots filled, average price)."""
        self._counts.orders_received += 1
        book = self.books[asset]
        book.cause = cause
        m = book.submit_limit(account, side, tick, lots, "IOC")
        self._settle(asset, account, side, m, cause)
        if not m.filled:
            return 0, 0.0
        avg = sum(t * q for _, _, t, q in m.fills) / m.filled * book.tick_size
        return m.filled, avg

    def _reducible(self, account: int, asset: int, side: int, lots: int) -> int:
        pos = int(self.ledger.position[account, asset])
        return min(lots, abs(pos)) if pos * side < 0 else 0

    def cancel(self, asset: int, order_id: int) -> int:
        """Cancel a resting order; returns its remaining lots, or 0 if it is already gone."""
        self._counts.cancels_received += 1
        book = self.books[asset]
        if order_id not in book.resting_ids:
            return 0
        lots = book.cancel(order_id)
        self._release(asset, order_id, lots, gone=True)
        return lots

    def cancel_many(self, asset: int, order_ids: list[int]) -> None:
        """Cancel several resting orders (each as `cancel`; ids already gone are skipped)."""
        book = self.books[asset]
        resting, release = book.resting_ids, self._release
        for order_id in order_ids:
            self._counts.cancels_received += 1
            if order_id in resting:
                release(asset, order_id, book.cancel(order_id), gone=True)

    def cancel_all(self, account: int, asset: int) -> None:
        """Cancel an account's resting orders and stops on one asset."""
        for oid in self.open_orders(account, asset):
            self.cancel(asset, oid)
        for sid in self.stops[asset].of_account(account):
            self.stops[asset].cancel(sid)

    def stop(self, account: int, asset: int, side: int, trigger: float, lots: int) -> int:
        """Place a reduce-only stop-market order triggered by the last price; returns its id."""
        self._counts.orders_received += 1
        return self.stops[asset].add(account, side, lots, trigger)

    def cancel_stop(self, asset: int, stop_id: int) -> bool:
        """Cancel a stop; False if it already fired or was cancelled."""
        self._counts.cancels_received += 1
        return self.stops[asset].cancel(stop_id)

    def open_orders(self, account: int, asset: int) -> list[int]:
        """Ids of an account's resting orders on one asset, ascending."""
        return self.registries[asset].of_account(account)

    def resting_count(self, account: int, asset: int) -> int:
        """How many resting orders an account has on one asset."""
        return self.registries[asset].count(account)

    # ----------------------------------------------------------- settlement
    def _release(self, asset: int, order_id: int, lots: int, gone: bool) -> None:
        registry = self.registries[asset]
        account, per_lot, _ = registry.entry(order_id)
        if per_lot:
            om = self.ledger.order_margin
            om[account, asset] = max(0.0, om[account, asset] - per_lot * lots)
        if gone:
            registry.remove(order_id)

    def _settle(self, asset: int, taker: int, side: int, m: Match, cause: int) -> None:
        for oid, _maker, _tick, lots in m.cancelled:
            self._release(asset, oid, lots, gone=True)
        if not m.fills:
            return
        book, led = self.books[asset], self.ledger
        lot, tick_size, resting = led.lot[asset], book.tick_size, book.resting_ids
        taker_rate = 0.0 if cause in FORCED else self.taker_fee
        for oid, maker, tick, lots in m.fills:
            price = tick * tick_size
            notional = lots * lot * price
            self._release(asset, oid, lots, gone=oid not in resting)
            maker_fee = notional * self.maker_fee
            taker_fee = notional * taker_rate
            led.fill(maker, asset, -side * lots, price, maker_fee)
            led.fill(taker, asset, side * lots, price, taker_fee)
            self._counts.fees_collected += maker_fee + taker_fee
            self._after_position_change(maker, asset)
        self._after_position_change(taker, asset)
        self.last_tick[asset] = m.fills[-1][2]

    def transfer(self, src: int, dst: int, asset: int, src_lots: int, price: float, cause: str) -> None:
        """Move a position off the book: ``src`` trades ``src_lots`` at ``price``, ``dst`` the opposite."""
        led = self.ledger
        led.fill(src, asset, src_lots, price, 0.0)
        led.fill(dst, asset, -src_lots, price, 0.0)
        t = self.transfers
        for key, val in (("time", self.books[asset].time), ("asset", asset), ("price", price), ("lots", abs(src_lots)),
                         ("side", 1 if src_lots > 0 else -1), ("taker", src), ("maker", dst), ("cause", CAUSES.index(cause))):
            t[key].append(val)
        self._after_position_change(src, asset)
        self._after_position_change(dst, asset)
