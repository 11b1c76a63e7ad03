"""Which kernels a venue uses: the compiled ones when they were built, else the pure-Python ones.

The compiled kernels are Cython modules beside their pure-Python originals (in
``agents.exchange`` unless named in full):

* ``book_native``: `NativeLimitOrderBook`, the order book (`agents.exchange.book`), whose submissions
  return a ``match_native.NativeMatch`` (`agents.exchange.book.Match`);
* ``accounts_native``: `LedgerKernel`, the ledger's per-fill arithmetic (`agents.exchange.accounts`);
* ``triggers_native``: `NativeLiquidationWatch`, the liquidation watch (`agents.exchange.triggers`);
* ``registry_native``: `NativeOrderRegistry`, the venue's record of resting orders (`agents.exchange.registry`);
* ``venue_native``: the venue's per-order methods (margin checks, booking, settlement), which a
  venue on these kernels binds over its own (`agents.exchange.venue.OrderBookAgent`), reading
  the venue's fixed parts through one typed `VenueParts` (``venue_parts_native``, with each asset's
  tier table as C arrays) and calling its liquidation watches through ``triggers_native.pxd``; its
  margin maths are inline functions in ``margin_native.pxd`` (`agents.exchange.margin`) and its mark
  price update in ``funding_native.pxd`` (`agents.exchange.funding.MarkPrice.update`);
* ``agents.ladder_native``: a market maker's ladder (`agents.market_maker.build_ladder`);
* ``agents.market_maker_native``: a market maker's step (`agents.market_maker.MarketMaker.act`, with its
  ``requote``) and the model's loop over its makers (`agents.market_maker.act_all`);
* ``agents.traders_native``: the activations of noise traders (`agents.traders.NoiseTrader.act`),
  fundamentalists (`agents.traders.Fundamentalist.act`), beta and basis traders
  (`agents.arbitrage.BetaTrader.act`, `BasisTrader.act`) and leveraged speculators
  (`agents.speculator.LeveragedSpeculator.act`), with the `agents.traders.Trader` helpers they call, and
  the model's loop over a step's active traders (`model.population.act_each`);
* ``model.sentiment_native``: the sentiment update's arithmetic (`model.sentiment.update_sentiment`,
  `model.mood.Mood.pain_signal`).

Each gives the same results as its original for the same calls (differential
tests drive them side by side, and a whole scaled event is run on each), so
the choice changes speed only. ``SQUEEZE_NATIVE`` picks it for all of them at
once: ``auto`` (the default: compiled if every kernel is importable and up to
date), ``native`` (compiled, or an error) or ``python``.
"""

from __future__ import annotations

import importlib
import os
import re
import warnings
from pathlib import Path
from types import ModuleType

from agents.exchange.book import LimitOrderBook
from agents.exchange.registry import OrderRegistry
from agents.exchange.triggers import LiquidationWatch

ENV_VAR = "SQUEEZE_NATIVE"
KINDS = ("auto", "native", "python")
# setup.py builds every *_native.pyx under agents/ and model/; a test checks that these are the same modules.
MODULES = ("agents.exchange.book_native", "agents.exchange.match_native", "agents.exchange.accounts_native",
           "agents.exchange.triggers_native", "agents.exchange.registry_native", "agents.exchange.venue_parts_native",
           "agents.exchange.venue_native", "agents.ladder_native", "agents.market_maker_native",
           "agents.traders_native", "model.sentiment_native")
_ROOT = Path(__file__).resolve().parents[2]
_CIMPORT = re.compile(r"^from ((?:agents|model)\.[\w.]+) cimport", re.M)
_EXTERN = re.compile(r'^cdef extern from "(\w+\.h)"', re.M)  # project headers, beside the .pxd naming them


def _sources(module: ModuleType) -> list[Path]:
    """What a compiled module is built from: its .pyx, its own .pxd, the project .pxd files it cimports
    (and those cimport, in turn), and the project C++ headers they name."""
    pyx = Path(module.__file__).with_name(module.__name__.rpartition(".")[2] + ".pyx")
    if not pyx.exists():  # an install without sources: nothing to compare against
        return []
    found: list[Path] = []
    todo = [pyx, pyx.with_suffix(".pxd")]
    while todo:
        source = todo.pop(0)
        if source in found or not source.exists():
            continue
        found.append(source)
        if source.suffix != ".h":
            text = source.read_text()
            todo += [_ROOT / (name.replace(".", "/") + ".pxd") for name in _CIMPORT.findall(text)]
            todo += [source.with_name(header) for header in _EXTERN.findall(text)]
    return found


def _stale(module: ModuleType) -> Path | None:
    """A source the compiled module is built from and older than (edited since `pip install -e .`), or None."""
    built = Path(module.__file__).stat().st_mtime
    return next((source for source in _sources(module) if source.exists() and source.stat().st_mtime > built), None)


def _load(name: str) -> ModuleType | None:
    """The compiled module ``name``, or None when it is not built or is stale (with a warning)."""
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:  # not compiled (no C++ compiler at install time), or what it cimports is not
        if exc.name != name and exc.name not in MODULES:
            raise
        return None
    except ValueError as exc:  # built against another build of what it cimports (a partial rebuild)
        if "binary incompatibility" not in str(exc):
            raise
        warnings.warn(f"the compiled {name} does not match the compiled modules it uses ({exc}); the pure-Python "
                      "kernels will be used until you rebuild with: pip install -e .", RuntimeWarning, stacklevel=3)
        return None
    newer = _stale(module)
    if newer is not None:
        warnings.warn(f"{newer.relative_to(_ROOT) if newer.is_relative_to(_ROOT) else newer} is newer than the "
                      f"compiled {name}; the pure-Python kernels will be used until you rebuild with: "
                      "pip install -e .", RuntimeWarning, stacklevel=3)
        return None
    return module


_compiled = {name: _load(name) for name in MODULES}
_MISSING = [name for name, module in _compiled.items() if module is None]
BUILT = not _MISSING
if 0 < len(_MISSING) < len(MODULES):  # an older build: some kernels, not all
    warnings.warn(f"only some compiled kernels are built (missing: {', '.join(_MISSING)}); the pure-Python kernels "
                  "will be used until you rebuild with: pip install -e .", RuntimeWarning, stacklevel=2)


def _native(module: str, attr: str | None = None):
    """A compiled module (or one of its attributes); None unless every kernel is built."""
    if not BUILT:
        return None
    return _compiled[module] if attr is None else getattr(_compiled[module], attr)


NativeLimitOrderBook = _native("agents.exchange.book_native", "NativeLimitOrderBook")
LedgerKernel = _native("agents.exchange.accounts_native", "LedgerKernel")
NativeLiquidationWatch = _native("agents.exchange.triggers_native", "NativeLiquidationWatch")
NativeOrderRegistry = _native("agents.exchange.registry_native", "NativeOrderRegistry")
venue_methods = _native("agents.exchange.venue_native")  # compiled methods, named in its METHODS
VenueParts = _native("agents.exchange.venue_parts_native", "VenueParts")  # what they read, typed
ladder_native = _native("agents.ladder_native")
market_maker_native = _native("agents.market_maker_native")
traders_native = _native("agents.traders_native")
sentiment_native = _native("model.sentiment_native")


def kernel_kind(kind: str | None = None) -> str:
    """``"native"`` or ``"python"``: what ``kind`` (default: ``SQUEEZE_NATIVE``, else ``auto``) resolves to."""
    kind = kind or os.environ.get(ENV_VAR) or "auto"
    if kind not in KINDS:
        raise ValueError(f"{ENV_VAR}={kind!r}: expected one of {', '.join(KINDS)}")
    if kind == "native" and not BUILT:
        raise RuntimeError(f"{ENV_VAR}=native, but {', '.join(_MISSING)} is not built or is older than its source; "
                           "reinstall with a C++ compiler present: pip install -e .")
    return "native" if kind == "native" or (kind == "auto" and BUILT) else "python"


def book_class(kind: str | None = None) -> type:
    """The order book class for ``kind`` (see `kernel_kind`)."""
    return NativeLimitOrderBook if kernel_kind(kind) == "native" else LimitOrderBook


def watch_class(kind: str | None = None) -> type:
    """The liquidation watch class for ``kind`` (see `kernel_kind`)."""
    return NativeLiquidationWatch if kernel_kind(kind) == "native" else LiquidationWatch


def registry_class(kind: str | None = None) -> type:
    """The order registry class for ``kind`` (see `kernel_kind`)."""
    return NativeOrderRegistry if kernel_kind(kind) == "native" else OrderRegistry
