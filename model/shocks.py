"""Timed shocks: their scenario schema and how the model applies them.

Kinds:

* ``market_order``: a whale buys or sells a USD notional on one asset, all
  at once or spread evenly over ``over`` (cause ``shock`` on the tape). The
  whale's account is funded at the start; that deposit is money injected.
* ``fundamental_jump``: the fundamental value of one asset jumps by ``pct``
  percent (a jump of the first asset carries the others along at their
  ``beta``), or, with no asset, every fundamental jumps by exactly ``pct``;
  at once, or compounding evenly over ``over`` (spot digesting news).
* ``liquidity_withdrawal``: market makers scale their quote sizes by
  ``factor`` for ``duration`` (0 pulls them entirely), then restore them.
* ``spot_volatility``: the fundamentals' volatility is multiplied by
  ``factor`` for ``duration`` (spot is jumpier after macro news), then restored.
* ``news``: shifts the sentiment of all traders, a random fraction, or the
  hubs by ``amount``, decaying with ``half_life`` (see `model.sentiment`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, ClassVar, Literal, Union

import numpy as np
from pydantic import Field

from model.schema_types import Duration, Fraction, Offset, Strict, Symbol

if TYPE_CHECKING:
    from model.market import MarketModel


class _Shock(Strict):
    at: Offset = Field(description="when, from the start of the run")
    label: str = ""

    def check(self, scenario, index: int) -> None:
        """Cross-field checks against the scenario; raise ValueError naming the shock."""
        if self.at >= scenario.duration:
            raise ValueError(f"shocks.{index}: at ({self.at:g} s) is not before the end of the run ({scenario.duration:g} s)")
        for sym in self.symbols():
            if sym not in scenario.symbols:
                raise ValueError(f"shocks.{index}: unknown asset {sym!r}; known: {scenario.symbols}")

    def symbols(self) -> list[str]:
        """Assets the shock names."""
        return []


class MarketOrderShock(_Shock):
    kind: Literal["market_order"]
    asset: Symbol
    side: Literal["buy", "sell"]
    notional_usd: float = Field(gt=0)
    over: Offset = Field(0.0, description="spread evenly over this long; 0 sends it at once")

    def symbols(self) -> list[str]:
        return [self.asset]


class FundamentalJumpShock(_Shock):
    kind: Literal["fundamental_jump"]
    asset: Symbol | None = Field(None, description="one asset, or every asset if omitted")
    pct: float = Field(gt=-100, description="jump in percent, e.g. 3 for +3%")
    over: Offset = Field(0.0, description="compound the move evenly over this long; 0 jumps at once")

    def symbols(self) -> list[str]:
        return [] if self.asset is None else [self.asset]


class _FactorShock(_Shock):
    """A multiplier on some assets (all if none are named) for ``duration``, then back to 1."""

    model_array: ClassVar[str]  # the model's per-asset array the factor sets
    duration: Duration
    assets: list[Symbol] | None = None

    def symbols(self) -> list[str]:
        return list(self.assets or [])


class LiquidityWithdrawalShock(_FactorShock):
    model_array: ClassVar[str] = "liquidity_factor"
    kind: Literal["liquidity_withdrawal"]
    factor: float = Field(ge=0, le=10, description="quote size multiplier while it lasts")


class SpotVolatilityShock(_FactorShock):
    model_array: ClassVar[str] = "fund_vol_factor"
    kind: Literal["spot_volatility"]
    factor: float = Field(ge=0, le=20, description="multiplier of fundamental_vol while it lasts")


class NewsShock(_Shock):
    kind: Literal["news"]
    amount: float = Field(ge=-2, le=2, description="sentiment shift (sentiment lives in [-1, 1])")
    target: Literal["all", "fraction", "hubs"] = "all"
    fraction: Fraction | None = None
    half_life: Duration | None = Field(None, description="decay half-life; none means the shift is permanent")

    def check(self, scenario, index: int) -> None:
        super().check(scenario, index)
        if (self.target == "fraction") != (self.fraction is not None):
            raise ValueError(f"shocks.{index}: fraction is required with target: fraction, and only then")
        if self.target == "hubs" and scenario.network.hubs == 0:
            raise ValueError(f"shocks.{index}: target: hubs needs network.hubs > 0")


ShockSpec = Annotated[
    Union[MarketOrderShock, FundamentalJumpShock, LiquidityWithdrawalShock, SpotVolatilityShock, NewsShock],
    Field(discriminator="kind"),
]
SHOCK_KINDS = ("market_order", "fundamental_jump", "liquidity_withdrawal", "spot_volatility", "news")


class ShockRunner:
    """Applies a scenario's shocks to a model as simulated time passes."""

    def __init__(self, model: "MarketModel", shocks: list, first_account: int) -> None:
        self.model = model
        self.shocks = sorted(enumerate(shocks), key=lambda p: p[1].at)
        self.accounts: dict[int, int] = {}
        self.delivered_usd: dict[int, float] = {}
        self.log: list[dict] = []
        acct = first_account
        for i, shock in self.shocks:
            if isinstance(shock, MarketOrderShock):
                self.accounts[i] = acct
                self.delivered_usd[i] = 0.0
                acct += 1
        self._next = 0
        self._active: list[tuple[int, object]] = []

    @staticmethod
    def accounts_needed(shocks: list) -> int:
        """Venue accounts the shocks need (one per market order)."""
        return sum(isinstance(s, MarketOrderShock) for s in shocks)

    def fund_accounts(self) -> None:
        """Deposit each whale's collateral: its notional plus a margin of safety."""
        venue = self.model.venue
        for i, shock in self.shocks:
            if i in self.accounts:
                venue.deposit(self.accounts[i], 1.5 * shock.notional_usd)

    def step(self, now: float) -> None:
        """Start the shocks that are due and advance the ones in progress."""
        while self._next < len(self.shocks) and self.shocks[self._next][1].at <= now + 1e-9:
            i, shock = self.shocks[self._next]
            self._next += 1
            self._start(i, shock, now)
        still = []
        for i, shock in self._active:
            if self._advance(i, shock, now):
                still.append((i, shock))
        self._active = still

    def _start(self, i: int, shock, now: float) -> None:
        m = self.model
        if not self.log:
            m.mood.snapshot("before first shock", now)
        self.log.append({"index": i, "time": now, "kind": shock.kind, "label": shock.label or shock.kind,
                         **m.shock_snapshot()})
        if isinstance(shock, FundamentalJumpShock):
            if shock.over <= 0:
                self._jump(shock, shock.pct)
            else:
                self._active.append((i, shock))  # `step` applies its first share right away
            return
        if isinstance(shock, NewsShock):
            m.mood.apply_news(shock, now)
            return
        self._active.append((i, shock))
        self._advance(i, shock, now)

    def _advance(self, i: int, shock, now: float) -> bool:
        """Apply one step of an ongoing shock; False once it is over."""
        m = self.model
        if isinstance(shock, _FactorShock):
            factors = getattr(m, shock.model_array)
            idx = [m.spec.symbols.index(s) for s in shock.assets] if shock.assets else range(len(m.fundamental))
            over = now >= shock.at + shock.duration - 1e-9
            for a in idx:
                factors[a] = 1.0 if over else shock.factor
            return not over
        if isinstance(shock, MarketOrderShock):
            return self._deliver(i, shock, now)
        if isinstance(shock, FundamentalJumpShock):
            steps = max(1, round(shock.over / m.dt))
            self._jump(shock, ((1.0 + shock.pct / 100.0) ** (1.0 / steps) - 1.0) * 100.0)
            return now + m.dt < shock.at + steps * m.dt - 1e-9
        return False

    def _jump(self, shock: "FundamentalJumpShock", pct: float) -> None:
        """Move the shock's fundamental(s) by ``pct`` percent."""
        m = self.model
        if shock.asset is None:
            m.jump_all_fundamentals(pct)
        else:
            m.jump_fundamental(m.spec.symbols.index(shock.asset), pct)

    def _deliver(self, i: int, shock: MarketOrderShock, now: float) -> bool:
        """Send this step's share; the last step tops up lot by lot to land within one lot."""
        m, venue = self.model, self.model.venue
        a = m.spec.symbols.index(shock.asset)
        side = 1 if shock.side == "buy" else -1
        done = shock.over <= 0 or now + m.dt >= shock.at + shock.over - 1e-9
        share = 1.0 if done else (now - shock.at + m.dt) / shock.over
        for _ in range(50 if done else 1):
            owed = shock.notional_usd * share - self.delivered_usd[i]
            book = venue.books[a]
            touch = book.best_ask() if side > 0 else book.best_bid()
            lot_usd = (touch * book.tick_size if touch else venue.mid_price(a)) * venue.ledger.lot[a]
            # On the last step, size for the worst price the band allows, so the order cannot overshoot.
            lots = int(owed // (lot_usd * (1.0 + venue.rules.market_band))) if done else int(owed // lot_usd)
            if lots == 0 and done and owed > 0.5 * lot_usd:
                lots = 1
            if lots <= 0:
                break
            self.delivered_usd[i] += self._send(self.accounts[i], a, side, lots)
        return not done

    def _send(self, account: int, asset: int, side: int, lots: int) -> float:
        """A whale's market order; returns the USD it actually traded."""
        venue = self.model.venue
        book = venue.books[asset]
        n0 = book.n_fills
        venue.market(account, asset, side, lots, cause=self.model.SHOCK_CAUSE)
        mine = np.asarray(book.tape_taker[n0:]) == account
        qty = np.asarray(book.tape_qty[n0:], dtype=float)[mine]
        px = np.asarray(book.tape_tick[n0:], dtype=float)[mine] * book.tick_size
        return float((qty * px).sum() * venue.ledger.lot[asset])
