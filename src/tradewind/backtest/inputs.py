"""Backtest inputs: data frames, bar series, strategies, instruments, feeds and settings, read and
checked once, with a clear error for every user mistake (part of the composition root)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tradewind.book.book import OrderBook
from tradewind.book.stream import DecodedBookStream, stream_from_quotes
from tradewind.book.tape import QuoteTape, TradeTape
from tradewind.core.errors import DataError, UserError
from tradewind.core.instrument import FeeSide, Instrument, MarketType
from tradewind.core.money import to_decimal
from tradewind.core.timeframe import Timeframe
from tradewind.data.grid import price_step_or_default, snapped_to_grid
from tradewind.data.meta import DEFAULT_AMOUNT_STEP
from tradewind.series.bars import BarSeries
from tradewind.series.funding import FundingSeries
from tradewind.strategies.base import Strategy
from tradewind.strategies.registry import load_strategy

DataInput = pd.DataFrame | str | Path | Mapping[str, pd.DataFrame]
StrategySpec = str | type[Strategy] | Strategy
DEFAULT_SYMBOL = "ASSET/USD"


def frames_from(data: DataInput, symbol: str | None) -> dict[str, pd.DataFrame]:
    if isinstance(data, pd.DataFrame):
        return {symbol or DEFAULT_SYMBOL: data}
    if isinstance(data, str | Path):
        return {symbol or DEFAULT_SYMBOL: read_candles_file(Path(data))}
    if isinstance(data, Mapping):
        if not data:
            raise UserError("no data given")
        return {str(k): v for k, v in data.items()}
    raise UserError(
        f"data must be a DataFrame, a path or a {{symbol: DataFrame}} mapping, got {type(data).__name__}"
    )


def read_candles_file(path: Path) -> pd.DataFrame:
    """Read candles from a parquet, feather or CSV file (CSV: a date/timestamp column)."""
    if not path.is_file():
        raise UserError(f"data file not found: {path}")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            return pd.read_parquet(path)
        if suffix == ".feather":
            return pd.read_feather(path)
        if suffix == ".csv":
            frame = pd.read_csv(path)
            date_column = next(
                (c for c in ("date", "timestamp", "time", "datetime") if c in frame.columns), None
            )
            if date_column is None:
                raise UserError(f"{path}: no date/timestamp column")
            frame["date"] = pd.to_datetime(frame.pop(date_column), utc=True)
            return frame
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read {path}: {exc}") from None
    raise UserError(f"{path}: unsupported file type {suffix!r} (use parquet, feather or csv)")


def bar_series(frame: pd.DataFrame, symbol: str, timeframe: str | None) -> BarSeries:
    if len(frame) == 0:
        raise DataError(f"{symbol}: the data has no rows")
    if timeframe is not None:
        return BarSeries.from_frame(frame, symbol, Timeframe.parse(timeframe))
    probe = BarSeries.from_frame(frame, symbol, Timeframe(60_000))
    if len(probe) < 2:
        raise UserError(f"{symbol}: at least two bars are needed")
    step = int(np.min(np.diff(probe.ts)))
    # The probe's arrays are already checked and read-only: only the timeframe changes.
    return replace(probe, timeframe=Timeframe(step))


def strategies_from(
    given: StrategySpec | Sequence[StrategySpec], params: Mapping[str, Any] | None
) -> list[Strategy]:
    if isinstance(given, str | type | Strategy):
        return [strategy_from(given, params)]
    specs = list(given)
    if not specs:
        raise UserError("no strategy given")
    if params:
        raise UserError("with several strategies, give parameters through strategy instances")
    made = [strategy_from(spec, None) for spec in specs]
    ids = [m.id for m in made]
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    if duplicated:
        raise UserError(
            f"the same strategy twice ({', '.join(duplicated)}): give them different parameters"
        )
    return made


def strategy_from(strategy: StrategySpec, params: Mapping[str, Any] | None) -> Strategy:
    if isinstance(strategy, Strategy):
        if params:
            raise UserError(
                "give parameters either to the strategy instance or as params, not both"
            )
        return strategy
    cls = load_strategy(strategy) if isinstance(strategy, str) else strategy
    if not (isinstance(cls, type) and issubclass(cls, Strategy)):
        raise UserError(f"{strategy!r} is not a Strategy")
    return cls(**dict(params or {}))


def instruments_for(
    bars: dict[str, BarSeries], given: Mapping[str, Instrument] | None, fee: Decimal | None
) -> dict[str, Instrument]:
    chosen: dict[str, Instrument] = {}
    for name, series in bars.items():
        instrument = (given or {}).get(name)
        if instrument is None:
            base, _, rest = name.partition("/")
            quote, _, settle = rest.partition(":")
            instrument = Instrument(
                symbol=name,
                base=base or "ASSET",
                quote=quote or "USD",
                settle=settle or None,
                # ccxt's notation: BTC/USDT:USDT is the USDT-settled perpetual.
                market_type=MarketType.SWAP if settle else MarketType.SPOT,
                price_step=tick_of(series),
                amount_step=DEFAULT_AMOUNT_STEP,
                fee_side=FeeSide.QUOTE,
            )
        if fee is not None:
            instrument = replace(instrument, maker_fee=fee, taker_fee=fee, fee_side=FeeSide.QUOTE)
        chosen[name] = instrument
    return chosen


def feeds_for(
    strategies: list[Strategy],
    bars: dict[str, BarSeries],
    trades: Mapping[str, TradeTape] | None,
    books: Mapping[str, DecodedBookStream | QuoteTape] | None,
    book_walk: bool,
    execution: bool = False,
) -> tuple[dict[str, TradeTape], dict[str, tuple[DecodedBookStream, OrderBook]]]:
    """The trade and book feeds the run needs (only those something will read: a strategy's
    hooks, book-walking fills, or, with ``execution``, the parent orders that price off the
    book)."""
    for name, given in (("trades", trades), ("books", books)):
        unknown = sorted(set(given or {}) - set(bars))
        if unknown:
            raise UserError(
                f"{name} given for {', '.join(unknown)}, which has no candles in this backtest"
            )
    wants_trades = any(s.wants_trade_callback() for s in strategies)
    wants_books = book_walk or execution or any(s.wants_book_callback() for s in strategies)
    trade_feeds = {symbol: tape for symbol, tape in (trades or {}).items() if wants_trades}
    book_feeds = {}
    for symbol, depth in (books or {}).items():
        if not wants_books:
            break
        stream = stream_from_quotes(depth) if isinstance(depth, QuoteTape) else depth
        book_feeds[symbol] = (stream, OrderBook(symbol))
    if book_walk and not book_feeds:
        raise UserError("book_walk needs books=... for at least one symbol")
    return trade_feeds, book_feeds


def leverage_map(
    given: float | Mapping[str, float] | None, instruments: dict[str, Instrument]
) -> dict[str, Decimal]:
    if given is None:
        return {}
    if isinstance(given, Mapping):
        unknown = sorted(set(given) - set(instruments))
        if unknown:
            raise UserError(f"leverage given for unknown symbol(s) {', '.join(unknown)}")
        return {s: parse_positive(v, f"leverage of {s}") for s, v in given.items()}
    value = parse_positive(given, "leverage")
    if value != 1 and not any(i.is_derivative for i in instruments.values()):
        raise UserError("leverage needs a perpetual market (write the symbol as BASE/QUOTE:SETTLE)")
    return {s: value for s, i in instruments.items() if i.is_derivative}


def funding_series(
    given: Mapping[str, pd.DataFrame] | None, bars: dict[str, BarSeries]
) -> dict[str, FundingSeries]:
    series: dict[str, FundingSeries] = {}
    for symbol, frame in (given or {}).items():
        if symbol not in bars:
            raise UserError(f"funding given for {symbol}, which has no candles in this backtest")
        if "rate" not in frame.columns:
            raise UserError(f"funding for {symbol} needs a 'rate' column")
        dates = pd.DatetimeIndex(frame["date"] if "date" in frame.columns else frame.index)
        dates = dates.tz_localize("UTC") if dates.tz is None else dates
        mark = frame["mark"].to_numpy(dtype=np.float64) if "mark" in frame.columns else None
        series[symbol] = FundingSeries(
            np.asarray(dates.as_unit("ms").asi8, dtype=np.int64),
            frame["rate"].to_numpy(dtype=np.float64),
            mark,
        )
    return series


def on_price_grid(bars: dict[str, BarSeries], instruments: dict[str, Instrument]) -> None:
    """Put each series' prices on its instrument's tick, in place, where the data is on it.

    Recorded files hold computed floats (``5.5140000000000004e-05`` for the decimal
    ``0.00005514``); read as the decimals they stand for, a low that reaches a stop's tick
    touches it in both engines. Data that is not on the tick (an instrument the user gave) is
    left as it is.
    """
    for name, series in bars.items():
        tick = instruments[name].price_step
        columns = {}
        for column in ("open", "high", "low", "close"):
            snapped = snapped_to_grid(getattr(series, column), tick)
            if snapped is None:
                break
            columns[column] = snapped
        else:
            bars[name] = replace(series, **columns)


def tick_of(series: BarSeries) -> Decimal:
    """The tick of ``series``' prices, by the inference ``data import`` uses too."""
    return price_step_or_default(series.open, series.high, series.low, series.close)


def parse_fraction(value: float | Decimal | str, name: str) -> Decimal:
    try:
        number = to_decimal(value)
    except ValueError:
        raise UserError(f"{name} must be a number such as 0.001, got {value!r}") from None
    if not 0 <= number < 1:
        raise UserError(f"{name} must be a fraction in [0, 1) such as 0.001 for 0.1%, got {value}")
    return number


def parse_positive(value: float | Decimal | str, name: str) -> Decimal:
    try:
        number = to_decimal(value)
    except ValueError:
        raise UserError(f"{name} must be a number, got {value!r}") from None
    if number <= 0:
        raise UserError(f"{name} must be positive, got {value}")
    return number


def trade_window(
    bars: Mapping[str, BarSeries], start: str | datetime | None, end: str | datetime | None
) -> tuple[dict[str, int], dict[str, int]]:
    """The first bar to trade and the bar count kept (bars before ``end``) per symbol.

    Raises
    ------
    UserError
        If ``start`` is not before ``end``, or a symbol has no bar to trade in the window (naming
        the range its data covers).
    """
    if start is not None and end is not None and _moment(start, START) >= _moment(end, END):
        raise UserError(f"start (--from) {start} is not before end (--to) {end}")
    first_bar: dict[str, int] = {}
    stops: dict[str, int] = {}
    for name, series in bars.items():
        first_bar[name] = index_at(series, start, default=0, label=START)
        stops[name] = index_at(series, end, default=len(series), label=END)
        if first_bar[name] >= stops[name]:
            window = f"from {start or 'the start'} to {end or 'the end'}"
            covered = f"{_stamp(int(series.ts[0]))} to {_stamp(int(series.ts[-1]))}"
            raise UserError(
                f"{name}: no bars to trade {window} (--from/--to); the data covers {covered}"
            )
    return first_bar, stops


def _stamp(ms: int) -> str:
    return pd.Timestamp(ms, unit="ms", tz="UTC").strftime("%Y-%m-%d %H:%M")


START, END = "start (--from)", "end (--to)"


def _moment(when: str | datetime, label: str) -> pd.Timestamp:
    try:
        moment = pd.Timestamp(when)
    except ValueError:
        raise UserError(
            f"{label}: invalid date {when!r}; use ISO-8601 such as 2022-01-15 or 2022-01-15T12:00"
        ) from None
    return moment.tz_localize("UTC") if moment.tzinfo is None else moment.tz_convert("UTC")


def index_at(
    series: BarSeries, when: str | datetime | None, *, default: int, label: str = "date"
) -> int:
    if when is None:
        return default
    moment = _moment(when, label)
    return int(np.searchsorted(series.ts, moment.value // 1_000_000, side="left"))
