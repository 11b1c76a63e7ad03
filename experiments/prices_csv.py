"""Read real price CSVs as downloaded from free crypto-data sites and exchanges.

:func:`read_prices` turns a CSV (CryptoDataDownload, Binance klines, CoinGecko,
CoinMarketCap, Yahoo Finance, Investing.com, Kraken OHLCVT, ...) into a tidy frame with
columns ``time`` (``datetime64[ns, UTC]``), ``close`` (float) and, when the file has one,
``volume`` (float), sorted ascending with a fresh index. :func:`resample_close` puts it on
a fixed interval for :mod:`experiments.stylized`.

Detection rules
---------------
* Columns are matched by name, case-insensitively, after normalising punctuation, ``_`` and
  camelCase to spaces (``open_time``, ``Open Time`` and ``openTime`` all become
  ``open time``). See :data:`TIME_NAMES`, :data:`CLOSE_NAMES`, :data:`VOLUME_NAMES`; the
  earliest name in each list wins. For volume, a column named ``volume <asset>`` (e.g.
  CryptoDataDownload's ``Volume BTC``) is accepted; the first such column in the file is used.
* The header is the first line (of the first 50) containing both a time and a close column,
  so banner lines above it (CryptoDataDownload's URL line) are skipped. Delimiters
  ``,`` ``;`` tab and ``|`` are tried. A file without any header whose first line is all
  numbers with >= 6 fields is read as the Binance/Kraken kline layout
  ``open_time, open, high, low, close, volume, ...`` (with a warning).
* Timestamps: ISO 8601 / ``YYYY-MM-DD HH:MM:SS`` / other consistently formatted date
  strings, ``YYYYMMDD`` integers, or epoch numbers whose unit is chosen per value by
  magnitude: < 1e11 seconds, < 1e14 milliseconds, < 1e17 microseconds, else nanoseconds.
  Naive timestamps are taken to be UTC.
* Numbers may carry currency signs and thousands separators (``"$16,547.50"``); in ``;``
  files a single decimal comma is accepted (``16547,5``). Volumes may use K/M/B suffixes.

Data policy
-----------
* Rows may be ascending or descending; output is ascending. Rows in neither order are
  sorted with a warning.
* Duplicate timestamps: the row appearing *last in the file* is kept; a warning says how
  many rows were dropped.
* Rows with an empty close are dropped with a warning; a non-numeric or non-positive close
  is an error. An unparseable volume column is dropped with a warning (volume is optional).
* Gzip (``.gz``) and single-member zip (``.zip``, as served by data.binance.vision) files
  are read transparently.

Every problem with the file raises :class:`PriceFileError` (a ``ValueError``) whose message
starts with the file path and says what is wrong.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import warnings
import zipfile
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["CLOSE_NAMES", "PriceFileError", "TIME_NAMES", "VOLUME_NAMES", "read_prices", "resample_close"]

TIME_NAMES: tuple[str, ...] = (
    "open time", "time open", "timestamp", "unix", "unix timestamp", "timestamp utc", "datetime",
    "datetime utc", "date time", "date", "date utc", "time", "time utc", "ts", "epoch",
    "snapped at", "time period start", "period start", "start time", "start",
)  # fmt: skip
CLOSE_NAMES: tuple[str, ...] = (
    "close", "close price", "closing price", "close usd", "price close", "adj close",
    "adjusted close", "price", "price usd", "last", "last price",
)  # fmt: skip
VOLUME_NAMES: tuple[str, ...] = ("volume", "vol", "base volume", "volume base", "total volume")

_HEADER_SCAN_LINES = 50
_DELIMITERS = (",", ";", "\t", "|")
_KLINE_COLUMNS = ("open_time", "open", "high", "low", "close", "volume")
_SUFFIX = {"K": 1e3, "M": 1e6, "B": 1e9}


class PriceFileError(ValueError):
    """A price file is missing, empty, or cannot be interpreted. The message names the file."""


def _norm(name: object) -> str:
    """Normalise a column name: split camelCase, lowercase, punctuation/underscores to spaces."""
    s = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", str(name).strip().strip("\ufeff"))
    return " ".join(re.sub(r"[^0-9a-z]+", " ", s.lower()).split())


def _find(columns: list[str], names: tuple[str, ...]) -> int | None:
    """Index of the column matching the earliest entry of ``names``, or None."""
    normed = [_norm(c) for c in columns]
    for name in names:
        if name in normed:
            return normed.index(name)
    return None


def _find_volume(columns: list[str]) -> int | None:
    """Index of the volume column: a :data:`VOLUME_NAMES` entry, else the first ``volume <x>``."""
    i = _find(columns, VOLUME_NAMES)
    if i is not None:
        return i
    return next((j for j, c in enumerate(columns) if _norm(c).startswith("volume ")), None)


def _read_text(path: Path) -> str:
    """Whole file as text, decompressing .gz / single-member .zip; UTF-8 (BOM ok) or Latin-1."""
    if not path.is_file():
        raise PriceFileError(f"{path}: file not found")
    raw = path.read_bytes()
    if path.suffix.lower() == ".gz":
        raw = gzip.decompress(raw)
    elif path.suffix.lower() == ".zip":
        with zipfile.ZipFile(io.BytesIO(raw)) as zf:
            members = [m for m in zf.namelist() if not m.endswith("/")]
            if len(members) != 1:
                raise PriceFileError(f"{path}: zip must hold exactly one file, found {members}")
            raw = zf.read(members[0])
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _split(line: str, delimiter: str) -> list[str]:
    """CSV-split one line."""
    return [c.strip() for c in next(csv.reader([line], delimiter=delimiter), [])]


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _locate_header(path: Path, lines: list[str]) -> tuple[int, str, list[str] | None]:
    """Find ``(header line index, delimiter, column names)``.

    Column names are None when the header is the row itself; for a headerless kline file
    they are the assumed layout and the index is that of the first data row.
    """
    scan = [(i, ln) for i, ln in enumerate(lines[:_HEADER_SCAN_LINES]) if ln.strip()]
    for i, line in scan:
        for d in _DELIMITERS:
            cells = _split(line, d)
            if len(cells) >= 2 and _find(cells, TIME_NAMES) is not None and _find(cells, CLOSE_NAMES) is not None:
                return i, d, None
    first_i, first = scan[0]
    for d in _DELIMITERS:
        cells = _split(first, d)
        if len(cells) >= 6 and all(_is_number(c) for c in cells) and abs(float(cells[0])) >= 1e8:
            warnings.warn(
                f"{path}: no header row; assuming the Binance/Kraken kline layout "
                f"{', '.join(_KLINE_COLUMNS)}, ...",
                stacklevel=3,
            )
            names = list(_KLINE_COLUMNS) + [f"col{k}" for k in range(6, len(cells))]
            return first_i, d, names
    # Nothing usable: report the most header-like row.
    for d in _DELIMITERS:
        for _, line in scan:
            cells = _split(line, d)
            if len(cells) >= 2 and _find(cells, TIME_NAMES) is not None:
                raise PriceFileError(
                    f"{path}: no close-price column found; columns seen: {cells}; "
                    f"expected one of: {', '.join(CLOSE_NAMES)}"
                )
            if len(cells) >= 2 and _find(cells, CLOSE_NAMES) is not None:
                raise PriceFileError(
                    f"{path}: no time column found; columns seen: {cells}; "
                    f"expected one of: {', '.join(TIME_NAMES)}"
                )
    best = max((_split(first, d) for d in _DELIMITERS), key=len)
    raise PriceFileError(
        f"{path}: no header with a time column and a close-price column found; "
        f"first row: {best}; expected e.g. 'timestamp' and 'close'"
    )


def _to_number(s: pd.Series, delimiter: str, suffixes: bool) -> pd.Series:
    """Parse strings to float, tolerating currency signs, thousands separators, K/M/B."""
    num = pd.to_numeric(s, errors="coerce")
    todo = num.isna() & s.notna()
    if not todo.any():
        return num.astype(np.float64)
    t = s[todo].astype(str).str.strip().str.replace(r"[\s$€£]|USD", "", regex=True)
    if delimiter == ";":
        t = t.str.replace(r"^(-?\d+),(\d+)$", r"\1.\2", regex=True)
    thousands = t.str.fullmatch(r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?").fillna(False).astype(bool)
    t = t.where(~thousands, t.str.replace(",", "", regex=False))
    mult = pd.Series(1.0, index=t.index)
    if suffixes:
        suf = t.str.extract(r"^-?[\d.]+([KMBkmb])$", expand=False).str.upper()
        mult = suf.map(_SUFFIX).fillna(1.0).astype(np.float64)
        t = t.str.replace(r"(?<=[\d.])[KMBkmb]$", "", regex=True)
    num = num.astype(np.float64)
    num.loc[todo] = pd.to_numeric(t, errors="coerce") * mult
    return num


def _first_bad(raw: pd.Series, ok: pd.Series) -> str:
    """Describe the first offending value, e.g. ``'abc' at data row 3``."""
    pos = int(np.flatnonzero(~ok.to_numpy())[0])
    return f"{raw.iloc[pos]!r} at data row {pos + 1}"


def _epoch_to_utc(num: pd.Series) -> pd.Series:
    """Epoch numbers to UTC datetimes, choosing s/ms/us/ns per value by magnitude."""
    mag = num.abs().to_numpy()
    units = np.select([mag < 1e11, mag < 1e14, mag < 1e17], ["s", "ms", "us"], "ns")
    out = pd.Series(pd.NaT, index=num.index, dtype="datetime64[ns, UTC]")
    for unit in np.unique(units):
        mask = units == unit
        vals = num[mask]
        if vals.dtype.kind == "f" and np.all(vals == np.floor(vals)):
            vals = vals.astype(np.int64)  # exact integer conversion, no float rounding
        out.loc[mask] = pd.to_datetime(vals, unit=str(unit), utc=True).dt.as_unit("ns").to_numpy()
    return out


def _parse_times(path: Path, raw: pd.Series, col: str) -> pd.Series:
    """Parse the time column (epoch numbers, YYYYMMDD or date strings) to ``datetime64[ns, UTC]``."""
    missing = raw.isna() | (raw.astype(str).str.strip() == "")
    if missing.any():
        raise PriceFileError(f"{path}: empty timestamp in column {col!r} ({_first_bad(raw, ~missing)})")
    num = pd.to_numeric(raw, errors="coerce")
    if num.notna().all():
        if np.all(num == np.floor(num)) and num.between(19000101, 21001231).all():
            ymd = pd.to_datetime(num.astype(np.int64).astype(str), format="%Y%m%d", utc=True, errors="coerce")
            if ymd.notna().all():
                return ymd.dt.as_unit("ns")
        return _epoch_to_utc(num)
    text = raw.astype(str).str.strip()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # pandas' "could not infer format" notice
        for fmt in ("ISO8601", None):
            try:
                return pd.to_datetime(text, utc=True, format=fmt).dt.as_unit("ns")
            except (ValueError, TypeError, OverflowError):
                continue
        ok = pd.to_datetime(text, utc=True, format="mixed", errors="coerce").notna()
    if ok.all():  # each value parses alone but the formats are inconsistent
        raise PriceFileError(
            f"{path}: timestamps in column {col!r} mix several formats (e.g. {text.iloc[0]!r} "
            f"and {text.iloc[-1]!r}); use one consistent format"
        )
    raise PriceFileError(f"{path}: unparseable timestamps in column {col!r} (e.g. {_first_bad(text, ok)})")


def read_prices(path: str | PathLike[str]) -> pd.DataFrame:
    """Read a price CSV into columns ``time`` (UTC), ``close`` and optionally ``volume``.

    See the module docstring for the detection rules and the data policy. Rows are sorted
    ascending in time, duplicate timestamps keep the last row in the file, and the index
    is a fresh ``RangeIndex``.

    Raises:
        PriceFileError: missing/empty file, no time or close column (the message lists the
            columns seen), unparseable timestamps, non-numeric or non-positive closes, or
            fewer than 2 rows.
    """
    p = Path(path)
    text = _read_text(p)
    if not text.strip():
        raise PriceFileError(f"{p}: file is empty")
    lines = text.splitlines()
    start, delim, names = _locate_header(p, lines)
    body = io.StringIO("\n".join(lines[start:]))
    try:
        frame = pd.read_csv(body, sep=delim, dtype=str, skipinitialspace=True, header=None if names else 0, names=names)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise PriceFileError(f"{p}: cannot parse as CSV: {exc}") from exc
    cols = [str(c) for c in frame.columns]
    ti, ci, vi = _find(cols, TIME_NAMES), _find(cols, CLOSE_NAMES), _find_volume(cols)
    assert ti is not None and ci is not None  # guaranteed by _locate_header
    if len(frame) < 2:
        raise PriceFileError(f"{p}: need at least 2 price rows, found {len(frame)}")

    raw_close = frame.iloc[:, ci]
    close = _to_number(raw_close, delim, suffixes=False)
    blank = raw_close.isna() | (raw_close.astype(str).str.strip() == "")
    bad = close.isna() & ~blank
    if bad.any():
        example = _first_bad(raw_close, ~bad)
        raise PriceFileError(f"{p}: non-numeric close values in column {cols[ci]!r} (e.g. {example})")
    out = pd.DataFrame({"time": _parse_times(p, frame.iloc[:, ti], cols[ti]), "close": close})
    if vi is not None:
        raw_vol = frame.iloc[:, vi]
        vol = _to_number(raw_vol, delim, suffixes=True)
        if (vol.isna() & raw_vol.notna()).any():
            warnings.warn(f"{p}: volume column {cols[vi]!r} is not numeric; ignoring it", stacklevel=2)
        else:
            out["volume"] = vol
    if blank.any():
        warnings.warn(f"{p}: dropped {int(blank.sum())} rows with an empty close", stacklevel=2)
        out = out[~blank.to_numpy()]
    nonpos = out["close"] <= 0
    if nonpos.any():
        raise PriceFileError(f"{p}: non-positive close values (e.g. {_first_bad(out['close'], ~nonpos)})")
    return _order(p, out)


def _order(path: Path, out: pd.DataFrame) -> pd.DataFrame:
    """Sort ascending (warning if the file was in neither order) and drop duplicate times."""
    steps = out["time"].diff().iloc[1:]
    zero = pd.Timedelta(0)
    if not ((steps >= zero).all() or (steps <= zero).all()):
        warnings.warn(f"{path}: rows are not in time order; sorted ascending", stacklevel=3)
    out = out.sort_values("time", kind="stable")  # stable: ties stay in file order
    dup = out["time"].duplicated(keep="last")
    if dup.any():
        warnings.warn(
            f"{path}: dropped {int(dup.sum())} rows with duplicate timestamps "
            "(kept the last occurrence in the file)",
            stacklevel=3,
        )
        out = out[~dup.to_numpy()]
    if len(out) < 2:
        raise PriceFileError(f"{path}: need at least 2 price rows, found {len(out)}")
    return out.reset_index(drop=True)


def resample_close(df: pd.DataFrame, interval: str) -> pd.Series:
    """Last close in each ``interval`` (a pandas offset alias such as ``"1min"``, ``"1h"``, ``"1D"``).

    Bins are left-closed and labelled by their start time; intervals without any row are
    dropped (not forward-filled). Returns a float Series named ``close`` indexed by ``time``.
    """
    missing = {"time", "close"} - set(df.columns)
    if missing:
        raise ValueError(f"resample_close needs columns 'time' and 'close'; missing {sorted(missing)}")
    s = df.set_index("time")["close"].resample(interval, label="left", closed="left").last().dropna()
    s.name = "close"
    return s
