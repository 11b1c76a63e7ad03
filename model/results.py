"""Turning a finished model into plain tables (the only way results leave a model).

`collect` returns the DataFrames and scalar facts that `experiments` writes
and summarises, so nothing downstream touches the venue's internals.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from agents.exchange.venue import CAUSES


def trades_frame(model) -> pd.DataFrame:
    """Every fill on every book, plus off-book transfers (takeover, ADL), in time order.

    Built from typed columns (the asset as categorical codes, not strings), so
    a run of millions of fills needs little more memory than the tape itself.
    """
    symbols = model.spec.symbols
    venue = model.venue
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("time", "asset", "price", "qty", "taker_side", "taker",
                                                           "maker", "cause")}
    for a, book in enumerate(venue.books):
        n = book.n_fills
        parts["time"].append(np.asarray(book.tape_time, dtype=float))
        parts["asset"].append(np.full(n, a, dtype=np.int16))
        parts["price"].append(np.asarray(book.tape_tick, dtype=float) * book.tick_size)
        parts["qty"].append(np.asarray(book.tape_qty, dtype=float) * book.lot_size)
        parts["taker_side"].append(np.asarray(book.tape_side, dtype=np.int8))
        parts["taker"].append(np.asarray(book.tape_taker, dtype=np.int64))
        parts["maker"].append(np.asarray(book.tape_maker, dtype=np.int64))
        parts["cause"].append(np.asarray(book.tape_cause, dtype=np.int8))
    t = venue.transfers
    lots = np.asarray(t["lots"], dtype=float)
    assets = np.asarray(t["asset"], dtype=np.int64)
    parts["time"].append(np.asarray(t["time"], dtype=float))
    parts["asset"].append(assets.astype(np.int16))
    parts["price"].append(np.asarray(t["price"], dtype=float))
    parts["qty"].append(lots * venue.ledger.lot[assets] if len(lots) else lots)
    parts["taker_side"].append(np.asarray(t["side"], dtype=np.int8))
    parts["taker"].append(np.asarray(t["taker"], dtype=np.int64))
    parts["maker"].append(np.asarray(t["maker"], dtype=np.int64))
    parts["cause"].append(np.asarray(t["cause"], dtype=np.int8))
    cols = {k: np.concatenate(v) for k, v in parts.items()}
    order = np.argsort(cols["time"], kind="stable")
    out = pd.DataFrame({k: v[order] for k, v in cols.items() if k not in ("asset", "cause")})
    out.insert(1, "asset", pd.Categorical.from_codes(cols["asset"][order], categories=symbols))
    out["cause"] = pd.Categorical.from_codes(cols["cause"][order], categories=list(CAUSES))
    return out


def account_labels(model) -> list[str]:
    """Cohort name of every venue account (traders, then shock whales, then the fund)."""
    n = model.venue.ledger.n_accounts
    labels = list(model.cohort_of)
    labels += ["shock"] * (n - 1 - len(labels))
    return labels + ["insurance_fund"]


def accounts_frame(model) -> pd.DataFrame:
    """Final state of every account, one row per account and asset."""
    venue, symbols = model.venue, model.spec.symbols
    led = venue.ledger
    n, a = led.n_accounts, len(symbols)
    liquidated = np.zeros((n, a), dtype=bool)
    ev = venue.liquidations.events
    for acct, sym in zip(ev["account"], ev["asset"]):
        liquidated[acct, symbols.index(sym)] = True
    strategies = list(model.traders.strategies)
    strategies += ["shock"] * (n - 1 - len(strategies)) + ["insurance_fund"]
    return pd.DataFrame({
        "account": np.repeat(np.arange(n), a),
        "asset": np.tile(np.array(symbols, dtype=object), n),
        "cohort": np.repeat(np.array(account_labels(model), dtype=object), a),
        "strategy": np.repeat(np.array(strategies, dtype=object), a),
        "wallet": np.repeat(led.wallet, a),
        "position": (led.position * led.lot).reshape(-1),
        "entry_price": led.entry.reshape(-1),
        "margin": led.margin.reshape(-1),
        "leverage": np.minimum(led.leverage, 1e6).reshape(-1),
        "unrealized_pnl": led.unrealized(venue.mark.value).reshape(-1),
        "realized_pnl": led.realized.reshape(-1),
        "fees_paid": np.repeat(led.fees_paid, a),
        "liquidated": liquidated.reshape(-1),
        "sentiment": np.repeat(np.concatenate([model.sentiment, np.full(n - len(model.sentiment), np.nan)]), a),
    })


def liquidations_frame(model) -> pd.DataFrame:
    """One row per liquidation stage (ioc, takeover, adl)."""
    ev = model.venue.liquidations.events
    df = pd.DataFrame({k: list(v) for k, v in ev.items()})
    if df.empty:
        df = pd.DataFrame({k: pd.Series(dtype=float) for k in ev})
    df["account"] = df["account"].astype(np.int64)
    for col in ("asset", "side", "stage"):
        df[col] = df[col].astype(object)
    return df


def run_facts(model) -> dict:
    """Scalar facts of a finished run that the tables do not carry."""
    venue = model.venue
    liq = venue.liquidations
    return {
        "simulated_s": float(model.now),
        "kernels": venue.kernels,
        "orders": int(venue.orders_received),
        "cancels": int(venue.cancels_received),
        "rejections": dict(venue.rejections),
        "fees_collected": float(venue.fees_collected),
        "deposits": float(venue.deposits),
        "money_end": float(venue.money_total(venue.mark.value)),
        "insurance_fund_start": float(venue.rules.insurance_fund),
        "insurance_fund_end": float(venue.fund_equity()),
        "fund_shortfall_paid": float(liq.fund_shortfall_paid),
        "fund_fees_received": float(liq.fund_fees_received),
        "adl_notional": float(liq.adl_notional),
        "liquidation_count": int(liq.count),
        "stops_fired": int(venue.stops_fired.sum()),
        "funding_payments": [{"net": net, "gross": gross} for net, gross in venue.funding_net],
        "shocks": list(model.shocks.log),
        "shock_delivered_usd": {str(k): float(v) for k, v in model.shocks.delivered_usd.items()},
    }


def network_frames(model) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The social graph's edges and the node snapshots (sentiment, position notional, hub), if any."""
    mood = model.mood
    e = mood.edges()
    edges = pd.DataFrame({"source": e[:, 0], "target": e[:, 1]})
    hubs = set(mood.hubs.tolist())
    rows = []
    for label, t, sentiment, notional in mood.snapshots:
        n = len(sentiment)
        rows.append(pd.DataFrame({"snapshot": [label] * n, "time": np.full(n, t), "node": np.arange(n),
                                  "cohort": model.cohort_of[:n], "sentiment": sentiment, "notional_usd": notional,
                                  "hub": [i in hubs for i in range(n)]}))
    nodes = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(
        {c: pd.Series(dtype=t) for c, t in (("snapshot", object), ("time", float), ("node", np.int64),
                                            ("cohort", object), ("sentiment", float), ("notional_usd", float),
                                            ("hub", bool))})
    return edges, nodes
