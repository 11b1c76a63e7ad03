"""Tests for experiments.prices_csv on small hand-written files in the formats people download."""

from __future__ import annotations

import gzip
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments.prices_csv import PriceFileError, read_prices, resample_close

T0_MS = 1_704_067_200_000  # 2024-01-01 00:00:00 UTC
T0 = pd.Timestamp("2024-01-01", tz="UTC")


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def read_quietly(path: Path) -> pd.DataFrame:
    """read_prices, failing the test on any warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return read_prices(path)


def assert_tidy(df: pd.DataFrame) -> None:
    assert isinstance(df["time"].dtype, pd.DatetimeTZDtype)
    assert str(df["time"].dt.tz) == "UTC"
    assert df["close"].dtype == np.float64
    assert df["time"].is_monotonic_increasing and df["time"].is_unique
    assert isinstance(df.index, pd.RangeIndex) and df.index[0] == 0


def test_cryptodatadownload_banner_descending_unix_ms(tmp_path: Path) -> None:
    rows = [
        f"{T0_MS + 3600_000 * k},2024-01-01 {k:02d}:00:00,BTC/USDT,1,2,0.5,{42000 + k}.5,{10 + k},{(10 + k) * 42000},99"
        for k in range(3)
    ]
    text = "https://www.CryptoDataDownload.com\n" + (
        "unix,date,symbol,open,high,low,close,Volume BTC,Volume USDT,tradecount\n" + "\n".join(reversed(rows)) + "\n"
    )
    df = read_quietly(write(tmp_path, "Binance_BTCUSDT_1h.csv", text))
    assert_tidy(df)
    assert list(df.columns) == ["time", "close", "volume"]
    assert list(df["time"]) == [T0 + pd.Timedelta(hours=k) for k in range(3)]
    assert df["close"].tolist() == [42000.5, 42001.5, 42002.5]
    assert df["volume"].tolist() == [10.0, 11.0, 12.0]  # Volume BTC, not Volume USDT


def test_binance_kline_with_header(tmp_path: Path) -> None:
    header = (
        "open_time,open,high,low,close,volume,close_time,quote_asset_volume,number_of_trades,"
        "taker_buy_base_asset_volume,taker_buy_quote_asset_volume,ignore\n"
    )
    body = "".join(
        f"{T0_MS + 60_000 * k},100,101,99,{100 + k},{5 * (k + 1)},{T0_MS + 60_000 * (k + 1) - 1},1e6,7,1,1,0\n"
        for k in range(4)
    )
    df = read_quietly(write(tmp_path, "BTCUSDT-1m-2024-01-01.csv", header + body))
    assert_tidy(df)
    assert df["time"].iloc[1] == T0 + pd.Timedelta(minutes=1)
    assert df["close"].tolist() == [100.0, 101.0, 102.0, 103.0]
    assert df["volume"].tolist() == [5.0, 10.0, 15.0, 20.0]


def test_headerless_binance_kline_microseconds_warns(tmp_path: Path) -> None:
    body = "".join(f"{(T0_MS + 60_000 * k) * 1000},1,1,1,{7 + k},3,0,0,0,0,0,0\n" for k in range(3))
    with pytest.warns(UserWarning, match="no header row"):
        df = read_prices(write(tmp_path, "BTCUSDT-1m-2025-01-01.csv", body))
    assert_tidy(df)
    assert df["time"].iloc[0] == T0 and df["close"].tolist() == [7.0, 8.0, 9.0]


def test_iso_date_price(tmp_path: Path) -> None:
    text = "Date,Price\n2024-01-01T00:00:00Z,42000\n2024-01-02T00:00:00Z,43000.25\n2024-01-03T00:00:00+01:00,41000\n"
    df = read_quietly(write(tmp_path, "btc.csv", text))
    assert_tidy(df)
    assert "volume" not in df.columns
    assert df["close"].tolist() == [42000.0, 43000.25, 41000.0]
    assert df["time"].iloc[2] == pd.Timestamp("2024-01-02 23:00", tz="UTC")  # offset converted to UTC


@pytest.mark.parametrize(
    ("stamps", "expected"),
    [
        (["1704067200", "1704067260"], T0),  # epoch seconds
        (["1704067200000000", "1704067260000000"], T0),  # epoch microseconds
        (["2024-01-01 00:00:00", "2024-01-01 00:01:00"], T0),  # naive -> UTC
        (["20240101", "20240102"], T0),  # YYYYMMDD integers
    ],
)
def test_timestamp_formats(tmp_path: Path, stamps: list[str], expected: pd.Timestamp) -> None:
    text = "timestamp,close\n" + "".join(f"{s},{i + 1}\n" for i, s in enumerate(stamps))
    df = read_quietly(write(tmp_path, "t.csv", text))
    assert df["time"].iloc[0] == expected
    assert df["time"].iloc[1] > expected


def test_investing_style_quoted_thousands_and_k_volume(tmp_path: Path) -> None:
    text = (
        "Date,Price,Open,High,Low,Vol.,Change %\n"
        '"01/02/2024","45,100.5","1","1","1","1.5K","1%"\n'
        '"01/01/2024","44,000.0","1","1","1","2.25M","1%"\n'
    )
    df = read_quietly(write(tmp_path, "Bitcoin Historical Data.csv", text))
    assert df["close"].tolist() == [44000.0, 45100.5]
    assert df["volume"].tolist() == [2.25e6, 1500.0]
    assert df["time"].iloc[0] == T0


def test_semicolon_coinmarketcap_style(tmp_path: Path) -> None:
    text = (
        "timeOpen;timeClose;timeHigh;timeLow;name;open;high;low;close;volume;marketCap;timestamp\n"
        '"2024-01-02T00:00:00.000Z";"x";"x";"x";"2781";1;1;1;45000,5;7;9;"x"\n'
        '"2024-01-01T00:00:00.000Z";"x";"x";"x";"2781";1;1;1;44000,25;8;9;"x"\n'
    )
    df = read_quietly(write(tmp_path, "cmc.csv", text))
    assert df["time"].tolist() == [T0, T0 + pd.Timedelta(days=1)]
    assert df["close"].tolist() == [44000.25, 45000.5]


def test_gzip_file(tmp_path: Path) -> None:
    path = tmp_path / "p.csv.gz"
    path.write_bytes(gzip.compress(b"time,close\n1704067200,1\n1704067260,2\n"))
    assert read_quietly(path)["close"].tolist() == [1.0, 2.0]


def test_unsorted_and_duplicate_timestamps(tmp_path: Path) -> None:
    text = "time,close\n1704067260,2\n1704067200,1\n1704067320,3\n1704067260,20\n1704067200,10\n"
    path = write(tmp_path, "messy.csv", text)
    with pytest.warns(UserWarning) as record:
        df = read_prices(path)
    messages = [str(w.message) for w in record]
    assert any("not in time order" in m for m in messages)
    assert any("dropped 2 rows with duplicate timestamps" in m and "messy.csv" in m for m in messages)
    assert_tidy(df)
    assert df["close"].tolist() == [10.0, 20.0, 3.0]  # last occurrence in the file wins


def test_empty_close_rows_dropped_with_warning(tmp_path: Path) -> None:
    text = "time,close\n1704067200,1\n1704067260,\n1704067320,3\n"
    with pytest.warns(UserWarning, match="dropped 1 rows with an empty close"):
        df = read_prices(write(tmp_path, "gaps.csv", text))
    assert df["close"].tolist() == [1.0, 3.0]


# --------------------------------------------------------------------------- errors


def test_no_close_column_lists_columns(tmp_path: Path) -> None:
    path = write(tmp_path, "noclose.csv", "date,open,high,low\n2024-01-01,1,2,0.5\n2024-01-02,1,2,0.5\n")
    with pytest.raises(PriceFileError, match="no close-price column") as info:
        read_prices(path)
    msg = str(info.value)
    assert "noclose.csv" in msg
    for col in ("date", "open", "high", "low"):
        assert f"'{col}'" in msg


def test_no_time_column(tmp_path: Path) -> None:
    path = write(tmp_path, "notime.csv", "symbol,close\nBTC,1\nBTC,2\n")
    with pytest.raises(PriceFileError, match="no time column.*'symbol'"):
        read_prices(path)


@pytest.mark.parametrize("content", ["", "\n\n  \n"])
def test_empty_file(tmp_path: Path, content: str) -> None:
    path = write(tmp_path, "empty.csv", content)
    with pytest.raises(PriceFileError, match=r"empty\.csv: file is empty"):
        read_prices(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(PriceFileError, match=r"nope\.csv: file not found"):
        read_prices(tmp_path / "nope.csv")
    assert issubclass(PriceFileError, ValueError)


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("time,close\n1704067200,1\n", "at least 2 price rows, found 1"),
        ("time,close\n", "at least 2 price rows, found 0"),
        ("time,close\n1704067200,1\n1704067200,2\n", "at least 2 price rows, found 1"),
        ("time,close\n1704067200,1\n1704067260,abc\n", "non-numeric close.*'abc' at data row 2"),
        ("time,close\n2024-01-01,1\nyesterday,2\n", "unparseable timestamps.*'yesterday'"),
        ("time,close\n1704067200,1\n1704067260,0\n", "non-positive close"),
    ],
)
def test_bad_contents(tmp_path: Path, text: str, pattern: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the duplicate case warns before failing
        with pytest.raises(PriceFileError, match=pattern) as info:
            read_prices(write(tmp_path, "bad.csv", text))
    assert "bad.csv" in str(info.value)


# --------------------------------------------------------------------------- resampling


def test_resample_close_last_per_interval_drops_empty(tmp_path: Path) -> None:
    secs = [0, 20, 59, 60, 200, 230]  # nothing in [120, 180)
    text = "time,close\n" + "".join(f"{1704067200 + s},{i + 1}\n" for i, s in enumerate(secs))
    s = resample_close(read_quietly(write(tmp_path, "s.csv", text)), "1min")
    assert s.name == "close"
    assert list(s.index) == [T0, T0 + pd.Timedelta(minutes=1), T0 + pd.Timedelta(minutes=3)]
    assert s.tolist() == [3.0, 4.0, 6.0]
    with pytest.raises(ValueError):
        resample_close(pd.DataFrame({"close": [1.0]}), "1min")
