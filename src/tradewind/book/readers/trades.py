"""Trade and quote recordings: Binance (NautilusTrader layout) parquet, Freqtrade feather/CSV.

Binance trades parquet: ``timestamp`` (UTC datetime), ``trade_id``, ``price``, ``quantity``,
``buyer_maker``. A buyer-maker trade means the seller was the aggressor (it hit the bid).
Binance quotes parquet: ``timestamp``, ``bid``, ``bid_size``, ``ask``, ``ask_size`` (+ ``symbol``).
Freqtrade public trades: ``timestamp`` (ms), ``id``, ``side`` (the taker's side, as ccxt reports
it), ``price``, ``amount`` (+ ``type``, ``cost``, and in CSV an index and ``date``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from tradewind.book.readers._files import exact_floats, require_columns
from tradewind.book.tape import BUY, SELL, QuoteTape, TradeTape
from tradewind.core.errors import DataError
from tradewind.core.records import Quote, Trade


def _load(path: str | Path) -> pd.DataFrame:
    p = Path(path)
    if not p.is_file():
        raise DataError(f"recorded file not found: {p}")
    try:
        suffix = p.suffix.lower()
        if suffix == ".parquet":
            return pd.read_parquet(p)
        if suffix == ".feather":
            return pd.read_feather(p)
        if suffix == ".csv":
            return pd.read_csv(p, dtype={"price": str, "amount": str})
    except (OSError, ValueError) as exc:
        raise DataError(f"{p}: cannot read: {exc}") from exc
    raise DataError(
        f"{p}: unsupported file type {p.suffix!r} (expected .parquet, .feather or .csv)"
    )


def _ms(path: str | Path, column: pd.Series) -> np.ndarray:
    if pd.api.types.is_datetime64_any_dtype(column):
        values = (
            column.dt.tz_localize("UTC") if column.dt.tz is None else column.dt.tz_convert("UTC")
        )
        return values.dt.as_unit("ms").astype("int64").to_numpy()
    numbers = pd.to_numeric(column, errors="coerce")
    if numbers.isna().any():
        raise DataError(f"{path}: timestamp column has non-numeric values")
    return numbers.to_numpy(dtype=np.int64)


def _floats(path: str | Path, frame: pd.DataFrame, column: str) -> np.ndarray:
    return exact_floats(path, frame[column], column)


def _ids(column: pd.Series) -> np.ndarray:
    return pd.to_numeric(column, errors="coerce").fillna(-1).to_numpy(dtype=np.int64)


def _symbol_from_name(path: str | Path) -> str:
    # Freqtrade names files BASE_QUOTE-trades.feather.
    stem = Path(path).name.split("-")[0]
    return stem.replace("_", "/") if "_" in stem else ""


def decode_binance_trades_parquet(path: str | Path, *, symbol: str = "") -> TradeTape:
    """Load Binance trades (NautilusTrader's parquet layout) as a :class:`TradeTape`.

    Raises
    ------
    DataError
        On a missing file or column or a ``buyer_maker`` value other than true/false.
    """
    frame = _load(path)
    require_columns(
        path, ["timestamp", "trade_id", "price", "quantity", "buyer_maker"], list(frame.columns)
    )
    maker = frame["buyer_maker"].astype(str).str.lower().to_numpy()
    bad = np.flatnonzero((maker != "true") & (maker != "false"))
    if len(bad):
        raise DataError(f"{path}: row {bad[0]}: buyer_maker {maker[bad[0]]!r} is not true/false")
    return TradeTape(
        symbol=symbol,
        ts=_ms(path, frame["timestamp"]),
        price=_floats(path, frame, "price"),
        amount=_floats(path, frame, "quantity"),
        # buyer is maker -> the seller crossed the spread
        side=np.where(maker == "true", SELL, BUY).astype(np.int8),
        trade_id=_ids(frame["trade_id"]),
    )


def decode_binance_quotes_parquet(path: str | Path, *, symbol: str | None = None) -> QuoteTape:
    """Load Binance best bid/ask quotes (NautilusTrader's parquet layout) as a QuoteTape."""
    frame = _load(path)
    require_columns(path, ["timestamp", "bid", "bid_size", "ask", "ask_size"], list(frame.columns))
    if symbol is None:
        symbol = str(frame["symbol"].iloc[0]) if "symbol" in frame.columns and len(frame) else ""
    return QuoteTape(
        symbol=symbol,
        ts=_ms(path, frame["timestamp"]),
        bid=_floats(path, frame, "bid"),
        bid_size=_floats(path, frame, "bid_size"),
        ask=_floats(path, frame, "ask"),
        ask_size=_floats(path, frame, "ask_size"),
    )


def decode_freqtrade_trades(path: str | Path, *, symbol: str | None = None) -> TradeTape:
    """Load Freqtrade public trades (feather or CSV) as a :class:`TradeTape`.

    The symbol defaults to the one in a ``BASE_QUOTE-trades`` file name.

    Raises
    ------
    DataError
        On a missing file or column or a side other than buy/sell.
    """
    frame = _load(path)
    require_columns(path, ["timestamp", "id", "side", "price", "amount"], list(frame.columns))
    text = frame["side"].astype(str).str.lower().to_numpy()
    bad = np.flatnonzero((text != "buy") & (text != "sell"))
    if len(bad):
        raise DataError(f"{path}: row {bad[0]}: side {text[bad[0]]!r} is neither 'buy' nor 'sell'")
    return TradeTape(
        symbol=_symbol_from_name(path) if symbol is None else symbol,
        ts=_ms(path, frame["timestamp"]),
        price=_floats(path, frame, "price"),
        amount=_floats(path, frame, "amount"),
        side=np.where(text == "buy", BUY, SELL).astype(np.int8),
        trade_id=_ids(frame["id"]),
    )


def read_binance_trades_parquet(path: str | Path, *, symbol: str = "") -> Iterator[Trade]:
    """Yield Binance trades as :class:`Trade` records."""
    return decode_binance_trades_parquet(path, symbol=symbol).to_trades()


def read_binance_quotes_parquet(path: str | Path, *, symbol: str | None = None) -> Iterator[Quote]:
    """Yield Binance best bid/ask quotes as :class:`Quote` records."""
    return decode_binance_quotes_parquet(path, symbol=symbol).to_quotes()


def read_freqtrade_trades(path: str | Path, *, symbol: str | None = None) -> Iterator[Trade]:
    """Yield Freqtrade public trades as :class:`Trade` records."""
    return decode_freqtrade_trades(path, symbol=symbol).to_trades()
