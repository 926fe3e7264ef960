"""The composition root: picks clock, feed, venue and repository for a mode and builds the Node.

Only this module knows which implementation of each port a mode uses. ``backtest()`` is also the
Python API for notebooks and scripts (``tradewind.backtest``).
"""

from __future__ import annotations

import functools
import hashlib
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tradewind import __version__
from tradewind.bars import BarSeries
from tradewind.book.book import OrderBook
from tradewind.book.stream import DecodedBookStream, stream_from_quotes
from tradewind.book.tape import QuoteTape, TradeTape
from tradewind.core.errors import UserError
from tradewind.core.instrument import FeeSide, Instrument, MarketType
from tradewind.core.money import to_decimal
from tradewind.core.orders import ClientIdFactory
from tradewind.core.ports import RiskGate
from tradewind.core.timeframe import Timeframe
from tradewind.engine.bus import MessageBus
from tradewind.engine.equity import account_currency, equity_curve
from tradewind.engine.node import Binding, Node
from tradewind.engine.portfolio import Portfolio
from tradewind.engine.result import BacktestResult
from tradewind.engine.runner import BacktestRunner
from tradewind.kernel_backtest import run_kernel
from tradewind.performance.summary import summarize
from tradewind.risk.config import RiskConfig, build_risk, parse_risk
from tradewind.risk.exits import ProtectionBook
from tradewind.risk.gate import StakeGate
from tradewind.risk.stake import Stake
from tradewind.strategies.base import Strategy
from tradewind.strategies.registry import load_strategy
from tradewind.venues.sim import FillModel, SimVenue
from tradewind.venues.sim.fill_model import FillAt
from tradewind.venues.sim.margin import FundingSeries

DataInput = pd.DataFrame | str | Path | Mapping[str, pd.DataFrame]
StrategySpec = str | type[Strategy] | Strategy
DEFAULT_SYMBOL = "ASSET/USD"


def backtest(
    strategy: StrategySpec | Sequence[StrategySpec],
    data: DataInput,
    params: Mapping[str, Any] | None = None,
    *,
    cash: float | Decimal | str = 100_000,
    fee: float | Decimal | str | None = None,
    stake: str | float | Decimal = "all",
    fill: str = "next_open",
    engine: str = "event",
    timeframe: str | None = None,
    symbol: str | None = None,
    instruments: Mapping[str, Instrument] | None = None,
    start: str | datetime | None = None,
    end: str | datetime | None = None,
    slippage_bps: float = 0.0,
    volatility_slippage: float = 0.0,
    latency_ms: int = 0,
    max_participation: float = 0.0,
    risk: RiskConfig | Mapping[str, Any] | None = None,
    leverage: float | Mapping[str, float] | None = None,
    funding: Mapping[str, pd.DataFrame] | None = None,
    bus: MessageBus | None = None,
    trades: Mapping[str, TradeTape] | None = None,
    books: Mapping[str, DecodedBookStream | QuoteTape] | None = None,
    book_walk: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> BacktestResult:
    """Backtest ``strategy`` on ``data`` through the event engine.

    Parameters
    ----------
    strategy
        A registered name (``"sma_cross"``), ``"path/file.py:ClassName"``, a class or an instance;
        or a list of them (event engine): every strategy trades every symbol, all sharing one
        account's capital (give parameters through instances then).
    data
        A DataFrame with a UTC datetime index (or a ``date`` column) and open/high/low/close/volume,
        a path to such a file (parquet, feather, CSV), or ``{symbol: DataFrame}`` for several
        symbols traded by the same strategy with one account.
    params
        Strategy parameters by name (unknown names are refused with a "did you mean").
    cash
        Starting balance in the quote currency.
    fee
        Fee per side as a fraction (0.001 = 0.1%), charged in the quote currency; ``None`` keeps
        each instrument's own fees.
    stake
        ``"all"`` (all free cash), a percent of equity (``"25%"``), or a quote amount per entry.
    fill
        ``"next_open"`` (default) or ``"close"``: where market orders fill.
    engine
        ``"event"`` (the full engine, the truth) or ``"kernel"`` (the compiled screening kernel:
        one symbol: spot long-only, or a linear perpetual long/short with leverage, funding and
        liquidation; market orders; anything else is refused by name).
    timeframe
        Bar length (``"1m"``); inferred from the timestamps when omitted.
    symbol
        Symbol name for a single DataFrame (default ``ASSET/USD``).
    instruments
        Instrument per symbol; by default a spot instrument with an 0.00000001 lot, the tick
        inferred from the prices, and ``fee``.
    start, end
        Trade only between these times (UTC). Earlier data stays as indicator warm-up.
    slippage_bps, volatility_slippage, latency_ms, max_participation
        Fill model, see :class:`tradewind.venues.sim.FillModel`.
    risk
        Risk settings (:class:`tradewind.risk.config.RiskConfig` or the same as a dict, e.g.
        ``{"exits": {"stop_pct": 0.02}}``): sizing model, stops and exits, portfolio limits and
        circuit breakers through the risk engine. ``None`` (default) keeps the plain stake gate:
        ``stake`` sizing, no stops, no breakers.
    leverage
        Leverage of the perpetuals (one number, or per symbol); 1 by default. A symbol written
        as ``BASE/QUOTE:SETTLE`` (ccxt's notation) is a linear perpetual.
    funding
        Funding-rate series per perpetual: a DataFrame with a UTC ``date`` column (or index) and
        a ``rate`` column (optionally ``mark``); funding is paid or received at those times.
    trades
        Public trades per symbol (:class:`tradewind.book.TradeTape`, e.g. from
        :mod:`tradewind.book.readers`), shown to strategies that implement ``on_trade``.
    books
        L2 depth per symbol (a decoded book stream, or top-of-book quotes), kept as a live
        book, shown to strategies that implement ``on_book`` and walked by market orders when
        ``book_walk`` is set.
    book_walk
        Fill market orders at the VWAP of walking the fed book (see ``FillModel.book_walk``).
    bus
        A message bus to receive the engine's events (order.*, account.*, risk.denied) as they
        happen (event engine).
    progress
        ``progress(done, total)`` callback for long runs.

    Returns
    -------
    BacktestResult
        ``.metrics`` (dict), ``.trades`` (DataFrame), ``.equity`` (Series), ``.report(path)``.
    """
    if engine not in ("event", "kernel"):
        raise UserError(f"unknown engine {engine!r}: use 'event' or 'kernel'")
    started = time.time()
    frames = _frames(data, symbol)
    bars = {name: _series(frame, name, timeframe) for name, frame in frames.items()}
    strategies = _strategies(strategy, params)
    instance = strategies[0]
    fee_rate = None if fee is None else _fraction(fee, "fee")
    chosen = _instruments(bars, instruments, fee_rate)
    quote = account_currency(chosen)
    starting = {quote: _positive(cash, "cash")}
    try:
        fill_at = FillAt(fill)
    except ValueError:
        raise UserError(f"fill must be 'next_open' or 'close', got {fill!r}") from None
    fill_model = FillModel(
        book_walk=book_walk,
        fill_at=fill_at,
        slippage_bps=slippage_bps,
        volatility_slippage=volatility_slippage,
        latency_ms=latency_ms,
        max_participation=max_participation,
    )
    first_bar: dict[str, int] = {}
    for name in list(bars):
        first_bar[name] = _index_at(bars[name], start, default=0)
        stop = _index_at(bars[name], end, default=len(bars[name]))
        # Nothing after ``end`` is known to the run: the data simply stops there.
        bars[name] = bars[name].head(stop)
    risk_config = None if risk is None else parse_risk(risk)
    breaker_events = pd.DataFrame()
    if engine == "kernel" and len(strategies) > 1:
        raise UserError("engine 'kernel' runs one strategy; use engine='event' for several")
    if engine == "kernel":
        levered = _leverage(leverage, chosen)
        timeline, equity, trades = run_kernel(
            instance, bars, chosen, starting[quote], Stake.parse(stake), fill_model, first_bar,
            leverage=max(levered.values(), default=Decimal(1)), funding=_funding(funding, bars),
            risk=risk_config,
        )  # fmt: skip
        orders, denials = pd.DataFrame(), pd.DataFrame()
    else:
        venue = SimVenue(
            chosen, bars, starting, fill_model,
            leverage=_leverage(leverage, chosen), funding=_funding(funding, bars),
        )  # fmt: skip
        timeline, equity, trades, orders, denials, breaker_events = _run_event(
            strategies,
            bars,
            chosen,
            starting,
            stake,
            venue,
            first_bar,
            progress,
            risk_config,
            bus,
            _feeds(strategies, bars, trades, books, book_walk),
        )
    primary = next(iter(bars.values()))
    close = None
    if len(bars) == 1:
        close = primary.close[np.searchsorted(primary.ts, timeline)]
    metrics = summarize(equity, timeline, trades, close, primary.timeframe.ms)
    meta = {
        "strategy": ", ".join(s.name or type(s).__name__ for s in strategies),
        "params": instance.params if len(strategies) == 1 else {s.id: s.params for s in strategies},
        "symbols": list(bars),
        "timeframe": str(primary.timeframe),
        "data_start": _iso(int(timeline[0])),
        "data_end": _iso(int(timeline[-1])),
        "data_hash": _data_hash(bars),
        "cash": str(starting[quote]),
        "account_currency": quote,
        "stake": str(Stake.parse(stake)),
        "fee": "instrument" if fee_rate is None else str(fee_rate),
        "fill": fill_at.value,
        "slippage_bps": slippage_bps,
        "volatility_slippage": volatility_slippage,
        "latency_ms": latency_ms,
        "max_participation": max_participation,
        "engine": engine,
        "risk": None if risk_config is None else risk_config.model_dump(mode="json"),
        "code_version": _code_version(),
        "started_at": _iso(int(started * 1000)),
        "finished_at": _iso(int(time.time() * 1000)),
    }
    return BacktestResult(
        metrics=metrics,
        trades=trades,
        equity=pd.Series(
            equity, index=pd.to_datetime(timeline, unit="ms", utc=True), name="equity"
        ),
        orders=orders,
        meta=meta,
        denials=denials,
        close={n: _bars_frame(b) for n, b in bars.items()},
        breaker_events=breaker_events,
    )


def _run_event(
    strategies: list[Strategy],
    bars: dict[str, BarSeries],
    chosen: dict[str, Instrument],
    starting: dict[str, Decimal],
    stake: str | float | Decimal,
    venue: SimVenue,
    first_bar: dict[str, int],
    progress: Callable[[int, int], None] | None,
    risk_config: RiskConfig | None = None,
    bus: MessageBus | None = None,
    feeds: tuple[dict[str, TradeTape], dict[str, tuple[DecodedBookStream, OrderBook]]] = ({}, {}),
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Run the event engine: the Node over the simulated venue."""
    portfolio = Portfolio(
        chosen, cash=dict(starting), leverage={s: venue.margin.leverage(s) for s in chosen}
    )
    bindings = []
    for instance in strategies:
        for name, series in bars.items():
            arrays = instance.signals(series).arrays(len(series))
            bindings.append(
                Binding(
                    strategy=instance,
                    strategy_id=instance.id,
                    bars=series,
                    entry_long=arrays[0],
                    exit_long=arrays[1],
                    entry_short=arrays[2],
                    exit_short=arrays[3],
                    start=first_bar[name],
                    callback=instance.wants_bar_callback(),
                )
            )
    gate: RiskGate = StakeGate(Stake.parse(stake), chosen)
    protection: ProtectionBook | None = None
    if risk_config is not None:
        quote = account_currency(chosen)
        gate, protection = build_risk(
            risk_config,
            strategy_ids={i.id: i.name or type(i).__name__ for i in strategies},
            stake=Stake.parse(stake),
            instruments=chosen,
            bars=bars,
            initial_equity=float(starting[quote]),
        )
    node = Node(
        bindings=bindings,
        gate=gate,
        venue=venue,
        portfolio=portfolio,
        instruments=chosen,
        ids=ClientIdFactory("bt"),
        protection=protection,
        bus=bus,
    )
    trade_feeds, book_feeds = feeds
    venue.books = {symbol: book for symbol, (_, book) in book_feeds.items()}
    BacktestRunner(node, venue, trades=trade_feeds, books=book_feeds).run(progress)
    timeline, equity = equity_curve(bars, chosen, starting, portfolio)
    begin_ts = min(int(bars[n].ts[first_bar[n]]) for n in bars if first_bar[n] < len(bars[n]))
    keep = timeline >= begin_ts
    timeline, equity = timeline[keep], equity[keep]
    trades = _trades_frame(portfolio)
    return (
        timeline,
        equity,
        trades,
        _orders_frame(node),
        _denials_frame(node),
        _breaker_frame(gate),
    )


def _frames(data: DataInput, symbol: str | None) -> dict[str, pd.DataFrame]:
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


def _series(frame: pd.DataFrame, symbol: str, timeframe: str | None) -> BarSeries:
    if timeframe is not None:
        return BarSeries.from_frame(frame, symbol, Timeframe.parse(timeframe))
    probe = BarSeries.from_frame(frame, symbol, Timeframe(60_000))
    if len(probe) < 2:
        raise UserError(f"{symbol}: at least two bars are needed")
    step = int(np.min(np.diff(probe.ts)))
    # The probe's arrays are already checked and read-only: only the timeframe changes.
    return replace(probe, timeframe=Timeframe(step))


def _strategies(
    given: StrategySpec | Sequence[StrategySpec], params: Mapping[str, Any] | None
) -> list[Strategy]:
    if isinstance(given, str | type | Strategy):
        return [_strategy(given, params)]
    specs = list(given)
    if not specs:
        raise UserError("no strategy given")
    if params:
        raise UserError("with several strategies, give parameters through strategy instances")
    made = [_strategy(spec, None) for spec in specs]
    ids = [m.id for m in made]
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    if duplicated:
        raise UserError(
            f"the same strategy twice ({', '.join(duplicated)}): give them different parameters"
        )
    return made


def _strategy(strategy: StrategySpec, params: Mapping[str, Any] | None) -> Strategy:
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


def _instruments(
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
                price_step=_tick(series),
                amount_step=Decimal("0.00000001") if not settle else Decimal("0.001"),
                fee_side=FeeSide.QUOTE,
            )
        if fee is not None:
            instrument = replace(instrument, maker_fee=fee, taker_fee=fee, fee_side=FeeSide.QUOTE)
        chosen[name] = instrument
    return chosen


def _feeds(
    strategies: list[Strategy],
    bars: dict[str, BarSeries],
    trades: Mapping[str, TradeTape] | None,
    books: Mapping[str, DecodedBookStream | QuoteTape] | None,
    book_walk: bool,
) -> tuple[dict[str, TradeTape], dict[str, tuple[DecodedBookStream, OrderBook]]]:
    """The trade and book feeds the run needs (only those something will read)."""
    for name, given in (("trades", trades), ("books", books)):
        unknown = sorted(set(given or {}) - set(bars))
        if unknown:
            raise UserError(
                f"{name} given for {', '.join(unknown)}, which has no candles in this backtest"
            )
    wants_trades = any(s.wants_trade_callback() for s in strategies)
    wants_books = book_walk or any(s.wants_book_callback() for s in strategies)
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


def _leverage(
    given: float | Mapping[str, float] | None, instruments: dict[str, Instrument]
) -> dict[str, Decimal]:
    if given is None:
        return {}
    if isinstance(given, Mapping):
        unknown = sorted(set(given) - set(instruments))
        if unknown:
            raise UserError(f"leverage given for unknown symbol(s) {', '.join(unknown)}")
        return {s: _positive(v, f"leverage of {s}") for s, v in given.items()}
    value = _positive(given, "leverage")
    if value != 1 and not any(i.is_derivative for i in instruments.values()):
        raise UserError("leverage needs a perpetual market (write the symbol as BASE/QUOTE:SETTLE)")
    return {s: value for s, i in instruments.items() if i.is_derivative}


def _funding(
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


def _tick(series: BarSeries) -> Decimal:
    prices = np.concatenate([series.open, series.high, series.low, series.close])
    # Sorting is most of a short backtest's setup; the same prices (an optimizer's or a
    # benchmark's repeated runs) give the same tick, so it is remembered by their digest.
    key = hashlib.sha256(prices.tobytes()).digest()
    found = _TICKS.get(key)
    if found is None:
        if len(_TICKS) >= _TICK_CACHE_SIZE:
            _TICKS.clear()  # a bound on memory; a miss only costs the sort again
        found = _TICKS[key] = _smallest_tick(prices)
    return found


_TICKS: dict[bytes, Decimal] = {}
_TICK_CACHE_SIZE = 64


def _smallest_tick(prices: np.ndarray) -> Decimal:
    """Power of ten of the smallest positive step between distinct prices."""
    prices = np.sort(prices)  # repeated prices step by 0, which is left out below
    steps = np.diff(prices)
    steps = steps[steps > 0]
    if steps.size == 0:
        return Decimal("0.00000001")
    # Decimals of the smallest step, not the float itself: 0.1 must become Decimal("0.1").
    smallest = to_decimal(float(np.min(steps)))
    return Decimal(1).scaleb(smallest.adjusted()) if smallest > 0 else Decimal("0.00000001")


def _fraction(value: float | Decimal | str, name: str) -> Decimal:
    try:
        number = to_decimal(value)
    except ValueError:
        raise UserError(f"{name} must be a number such as 0.001, got {value!r}") from None
    if not 0 <= number < 1:
        raise UserError(f"{name} must be a fraction in [0, 1) such as 0.001 for 0.1%, got {value}")
    return number


def _positive(value: float | Decimal | str, name: str) -> Decimal:
    try:
        number = to_decimal(value)
    except ValueError:
        raise UserError(f"{name} must be a number, got {value!r}") from None
    if number <= 0:
        raise UserError(f"{name} must be positive, got {value}")
    return number


def _index_at(series: BarSeries, when: str | datetime | None, *, default: int) -> int:
    if when is None:
        return default
    try:
        moment = pd.Timestamp(when)
    except ValueError:
        raise UserError(
            f"invalid date {when!r}: use ISO-8601 such as 2022-01-15 or 2022-01-15T12:00"
        ) from None
    moment = moment.tz_localize("UTC") if moment.tzinfo is None else moment.tz_convert("UTC")
    return int(np.searchsorted(series.ts, moment.value // 1_000_000, side="left"))


_EMPTY_TRADE_DTYPES: dict[str, Any] = {
    "symbol": object,
    "side": object,
    "strategy": object,
    "reason": object,
    "entry_time": "datetime64[ms, UTC]",
    "exit_time": "datetime64[ms, UTC]",
}
"""Column types of the trade list when there are no trades (the rest are float64)."""


def _trades_frame(portfolio: Portfolio) -> pd.DataFrame:
    columns = [
        "symbol",
        "side",
        "entry_time",
        "exit_time",
        "entry_price",
        "exit_price",
        "quantity",
        "fees",
        "pnl",
        "strategy",
        "funding",
        "reason",
    ]
    if not portfolio.trades:
        return pd.DataFrame(
            {c: pd.Series(dtype=_EMPTY_TRADE_DTYPES.get(c, "float64")) for c in columns}
        )
    rows = {
        "symbol": [t.symbol for t in portfolio.trades],
        "side": [t.side for t in portfolio.trades],
        "entry_time": pd.to_datetime([t.entry_ts for t in portfolio.trades], unit="ms", utc=True),
        "exit_time": pd.to_datetime([t.exit_ts for t in portfolio.trades], unit="ms", utc=True),
        "entry_price": [float(t.entry_price) for t in portfolio.trades],
        "exit_price": [float(t.exit_price) for t in portfolio.trades],
        "quantity": [float(t.quantity) for t in portfolio.trades],
        "fees": [float(t.fees) for t in portfolio.trades],
        "pnl": [float(t.pnl) for t in portfolio.trades],
        "strategy": [t.strategy_id for t in portfolio.trades],
        "funding": [float(t.funding) for t in portfolio.trades],
        "reason": [t.reason for t in portfolio.trades],
    }
    return pd.DataFrame(rows, columns=columns)


def _orders_frame(node: Node) -> pd.DataFrame:
    orders = list(node.orders.values())
    if not orders:
        return pd.DataFrame([])
    # Column by column (one pass each) rather than a dict per order: the same frame, faster.
    prices = [o.average_price for o in orders]
    return pd.DataFrame(
        {
            "client_id": [o.client_id for o in orders],
            "symbol": [o.symbol for o in orders],
            "side": [o.side.value for o in orders],
            "type": [o.type.value for o in orders],
            "quantity": [float(o.quantity) for o in orders],
            "filled": [float(o.filled_quantity) for o in orders],
            "average_price": (
                [float(p) if p is not None else None for p in prices]
                if None in prices
                else np.array([float(p) for p in prices])  # type: ignore[arg-type]
            ),
            "status": [o.status.value for o in orders],
            # Microseconds, as a column of Timestamp objects made from milliseconds comes out.
            "created": pd.to_datetime(
                np.array([o.created_ts for o in orders], dtype=np.int64), unit="ms", utc=True
            ).as_unit("us"),
            "reason": [o.tag for o in orders],
            "reject_reason": [o.reject_reason for o in orders],
        }
    )


def _denials_frame(node: Node) -> pd.DataFrame:
    columns = ["ts", "strategy_id", "symbol", "action", "reason", "code"]
    rows = [
        {
            "ts": d.ts,
            "strategy_id": d.strategy_id,
            "symbol": d.symbol,
            "action": d.action.value,
            "reason": d.reason,
            "code": d.code,
        }
        for d in node.denials
    ]
    frame = pd.DataFrame(rows, columns=columns)
    frame.insert(0, "time", pd.to_datetime(frame["ts"].astype("int64"), unit="ms", utc=True))
    return frame


def _breaker_frame(gate: RiskGate) -> pd.DataFrame:
    columns = ["time", "bar", "symbol", "breaker", "state", "reason"]
    board = getattr(gate, "board", None)
    rows = [
        {
            "time": pd.Timestamp(e.ts, unit="ms", tz="UTC"),
            "bar": e.bar,
            "symbol": e.symbol,
            "breaker": e.breaker,
            "state": e.state.value,
            "reason": e.reason,
        }
        for e in ([] if board is None else board.events)
    ]
    return pd.DataFrame(rows, columns=columns)


def _bars_frame(series: BarSeries) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "open": series.open,
            "high": series.high,
            "low": series.low,
            "close": series.close,
            "volume": series.volume,
        },
        index=pd.to_datetime(series.ts, unit="ms", utc=True),
    )


def _data_hash(bars: dict[str, BarSeries]) -> str:
    digest = hashlib.sha256()
    for name in sorted(bars):
        series = bars[name]
        digest.update(name.encode())
        for column in (
            series.ts,
            series.open,
            series.high,
            series.low,
            series.close,
            series.volume,
        ):
            digest.update(np.ascontiguousarray(column).tobytes())
    return digest.hexdigest()


@functools.cache
def _code_version() -> str:
    # One git call per process: it costs as much as a short backtest, and HEAD does not move
    # under a running program in any use this reports on.
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
            cwd=Path(__file__).parent,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        sha = ""
    return f"{__version__}+{sha}" if sha else __version__


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat()
