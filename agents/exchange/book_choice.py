"""Which order book a venue uses: the compiled one when it was built, else the pure-Python one.

Both give the same results for the same calls (the differential tests drive
them side by side), so the choice changes speed only. ``SQUEEZE_BOOK`` picks it:
``auto`` (the default: compiled if importable), ``native`` (compiled, or an
error) or ``python``.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from agents.exchange.book import LimitOrderBook

try:
    from agents.exchange import book_native
except ModuleNotFoundError as exc:  # not compiled: no C++ compiler at install time
    if exc.name != "agents.exchange.book_native":
        raise
    book_native = None


def _stale(module) -> bool:
    """Whether the compiled module is older than its source (edited since `pip install -e .`)."""
    source = Path(module.__file__).with_name("book_native.pyx")
    return source.exists() and source.stat().st_mtime > Path(module.__file__).stat().st_mtime


if book_native is not None and _stale(book_native):
    warnings.warn("agents/exchange/book_native.pyx is newer than its compiled module; the pure-Python book "
                  "will be used until you rebuild it with: pip install -e .", RuntimeWarning, stacklevel=2)
    book_native = None
NativeLimitOrderBook = None if book_native is None else book_native.NativeLimitOrderBook

ENV_VAR = "SQUEEZE_BOOK"
KINDS = ("auto", "native", "python")


def book_class(kind: str | None = None) -> type:
    """The order book class for ``kind`` (default: the ``SQUEEZE_BOOK`` environment variable, else ``auto``)."""
    kind = kind or os.environ.get(ENV_VAR) or "auto"
    if kind not in KINDS:
        raise ValueError(f"{ENV_VAR}={kind!r}: expected one of {', '.join(KINDS)}")
    if kind == "python" or (kind == "auto" and NativeLimitOrderBook is None):
        return LimitOrderBook
    if NativeLimitOrderBook is None:
        raise RuntimeError(f"{ENV_VAR}=native, but the compiled book (agents.exchange.book_native) is not built "
                           "or is older than its source; reinstall with a C++ compiler present: pip install -e .")
    return NativeLimitOrderBook


def book_kind(cls: type) -> str:
    """``"native"`` or ``"python"``, for run metadata."""
    return "native" if cls is NativeLimitOrderBook else "python"
