"""The backtest API: resolve the data and the spec once (:func:`prepare`), run a strategy on them
(:func:`run`), or both in one convenience call (:func:`backtest`, ``tradewind.backtest``).

Part of the composition root: only this package knows which clock, feed and venue a backtest
uses (the event engine's run is :mod:`tradewind.backtest.event`, the kernel's
:mod:`tradewind.backtest.kernel`).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from tradewind.backtest.event import EventRun, fault_row, run_event
from tradewind.backtest.inputs import (
    DataInput,
    StrategySpec,
    bar_series,
    feeds_for,
    frames_from,
    funding_series,
    instruments_for,
    leverage_map,
    on_price_grid,
    parse_fraction,
    parse_positive,
    strategies_from,
    trade_window,
)
from tradewind.backtest.kernel import run_kernel
from tradewind.backtest.result import BacktestResult
from tradewind.backtest.results import BarFrames, code_version, data_hash, iso_utc
from tradewind.backtest.spec import Account, BacktestSpec, Costs, Feeds, MarketSpec, Window
from tradewind.book.stream import DecodedBookStream
from tradewind.book.tape import QuoteTape, TradeTape
from tradewind.core.algo_spec import AlgoSpec, parse_algo
from tradewind.core.errors import UserError
from tradewind.core.instrument import Instrument
from tradewind.engine.bus import MessageBus
from tradewind.engine.equity import account_currency
from tradewind.engine.health import run_health
from tradewind.engine.node import StrategyErrorPolicy
from tradewind.performance.summary import summarize
from tradewind.performance.trades import exposure_time
from tradewind.risk.config import RiskConfig, parse_risk, rules_in_force
from tradewind.risk.stake import Stake
from tradewind.series.bars import BarSeries
from tradewind.series.funding import FundingSeries
from tradewind.venues.sim import FillModel, SimVenue
from tradewind.venues.sim.fill_model import FillAt


@dataclass(frozen=True, eq=False)
class PreparedRun:
    """The data and the spec resolved once, ready for any number of strategies or parameters.

    The optimiser prepares its market once and runs every trial and event-engine re-run on it;
    :meth:`with_risk` varies the risk rules without resolving the data again.

    Attributes
    ----------
    spec
        The spec it was prepared from.
    bars
        Bars per symbol, on the instrument's price grid, cut at the window's end.
    instruments
        The resolved instrument per symbol (the spec's, or inferred; fees applied).
    quote
        The account currency.
    cash
        The starting balance in ``quote``.
    stake
        The parsed stake.
    first_bar
        The first bar to trade per symbol (earlier bars are warm-up).
    leverage
        Leverage per symbol.
    funding
        Funding series per perpetual.
    fee_rate
        The spec's fee, parsed (None: the instruments' own).
    """

    spec: BacktestSpec
    bars: dict[str, BarSeries]
    instruments: dict[str, Instrument]
    quote: str
    cash: Decimal
    stake: Stake
    first_bar: dict[str, int]
    leverage: dict[str, Decimal]
    funding: dict[str, FundingSeries]
    fee_rate: Decimal | None

    def with_risk(self, risk: RiskConfig | Mapping[str, Any] | None) -> PreparedRun:
        """The same run with other risk rules (a dict is parsed as ``risk=`` is)."""
        parsed = None if risk is None else parse_risk(risk)
        return replace(self, spec=replace(self.spec, risk=parsed))


def prepare(data: DataInput, spec: BacktestSpec) -> PreparedRun:
    """Read ``data`` and resolve ``spec`` against it: bars, instruments, account and window.

    Raises
    ------
    UserError
        Data that cannot be read, prices off the instrument's grid, bad cash, fee or stake.
    """
    frames = frames_from(data, spec.market.symbol)
    bars = {name: bar_series(frame, name, spec.market.timeframe) for name, frame in frames.items()}
    fee_rate = None if spec.costs.fee is None else parse_fraction(spec.costs.fee, "fee")
    chosen = instruments_for(bars, spec.market.instruments, fee_rate)
    on_price_grid(bars, chosen)
    quote = account_currency(chosen)
    cash = parse_positive(spec.account.cash, "cash")
    stake = Stake.parse(spec.account.stake)
    first_bar, stops = trade_window(bars, spec.window.start, spec.window.end)
    for name in list(bars):
        # Nothing after ``end`` is known to the run: the data simply stops there.
        bars[name] = bars[name].head(stops[name])
    return PreparedRun(
        spec=spec,
        bars=bars,
        instruments=chosen,
        quote=quote,
        cash=cash,
        stake=stake,
        first_bar=first_bar,
        leverage=leverage_map(spec.account.leverage, chosen),
        funding=funding_series(spec.costs.funding, bars),
        fee_rate=fee_rate,
    )


def run(
    strategy: StrategySpec | Sequence[StrategySpec],
    prepared: PreparedRun,
    params: Mapping[str, Any] | None = None,
    *,
    bus: MessageBus | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> BacktestResult:
    """Backtest ``strategy`` (with ``params``) on a prepared run.

    ``bus`` receives the event engine's events as they happen; ``progress(done, total)`` is
    called during long runs. See :func:`backtest` for the strategy forms and the result.
    """
    started = time.time()
    spec = prepared.spec
    bars = dict(prepared.bars)
    chosen = prepared.instruments
    strategies = strategies_from(strategy, params)
    instance = strategies[0]
    starting = {prepared.quote: prepared.cash}
    if spec.engine == "kernel" and len(strategies) > 1:
        raise UserError("engine 'kernel' runs one strategy; use engine='event' for several")
    if spec.engine == "kernel":
        kernel = run_kernel(
            instance, bars, chosen, prepared.cash, prepared.stake, spec.fill, prepared.first_bar,
            leverage=max(prepared.leverage.values(), default=Decimal(1)),
            funding=prepared.funding, risk=spec.risk,
        )  # fmt: skip
        tables = EventRun(
            timeline=kernel.timeline, equity=kernel.equity, trades=kernel.trades,
            orders=pd.DataFrame(), denials=pd.DataFrame(), breaker_events=pd.DataFrame(),
            positions=kernel.positions, dust=kernel.dust, faults=[],
            tca={},  # the kernel keeps no orders: nothing to measure
        )  # fmt: skip
    else:
        venue = SimVenue(
            chosen, bars, starting, spec.fill,
            leverage=prepared.leverage, funding=prepared.funding,
        )  # fmt: skip
        tables = run_event(
            strategies, bars, chosen, starting, prepared.stake, venue, prepared.first_bar,
            progress, spec.risk, bus,
            feeds_for(strategies, bars, spec.feeds.trades, spec.feeds.books, spec.fill.book_walk,
                      spec.execution is not None),
            spec.on_strategy_error, spec.execution,
        )  # fmt: skip
    return assemble_result(prepared, strategies, bars, started, tables)


def assemble_result(
    prepared: PreparedRun,
    strategies: Sequence[Any],
    bars: dict[str, BarSeries],
    started: float,
    tables: EventRun,
    extra_meta: Mapping[str, Any] | None = None,
) -> BacktestResult:
    """The result of a run: metrics, health and settings around the engine's tables (a backtest
    and a paper session give the same schema)."""
    spec = prepared.spec
    chosen = prepared.instruments
    instance = strategies[0]
    timeline, equity, trades, orders, denials = (
        tables.timeline, tables.equity, tables.trades, tables.orders, tables.denials,
    )  # fmt: skip
    breaker_events, positions, dust, faults, tca = (
        tables.breaker_events, tables.positions, tables.dust, tables.faults, tables.tca,
    )  # fmt: skip
    primary = next(iter(bars.values()))
    close = None
    if len(bars) == 1:
        close = _close_on(primary, timeline)
    metrics: dict[str, Any] = dict(summarize(equity, timeline, trades, close, primary.timeframe.ms))
    # The trade statistics count closed trades only; what is still open is reported beside them,
    # and is exposure all the same.
    if positions:
        still_open = pd.DataFrame(
            {
                "side": [p["side"] for p in positions],
                "entry_time": pd.to_datetime([p["entry_time"] for p in positions], utc=True),
                "exit_time": pd.to_datetime([p["mark_time"] for p in positions], utc=True),
                "fees": 0.0,
                "pnl": 0.0,
            }
        )
        held = (
            still_open
            if trades.empty
            else pd.concat([trades[list(still_open.columns)], still_open], ignore_index=True)
        )
        metrics["exposure_time"] = exposure_time(held, timeline, primary.timeframe.ms)
    metrics["open_positions"] = len(positions)
    metrics["open_pnl"] = float(sum(p["open_pnl"] for p in positions))
    health = run_health(
        engine=spec.engine, orders=orders, denials=denials, open_positions=positions, dust=dust,
        kernel_fills=2 * len(trades) + len(positions), faults=[f.describe() for f in faults],
    )  # fmt: skip
    fill = spec.fill
    meta = {
        "strategy": ", ".join(s.name or type(s).__name__ for s in strategies),
        "params": instance.params if len(strategies) == 1 else {s.id: s.params for s in strategies},
        "symbols": list(bars),
        "timeframe": str(primary.timeframe),
        "data_start": iso_utc(int(timeline[0])),
        "data_end": iso_utc(int(timeline[-1])),
        "data_hash": None,  # filled in when first read (deferred_meta below)
        "cash": str(prepared.cash),
        "account_currency": prepared.quote,
        "stake": str(prepared.stake),
        "fee": "instrument" if prepared.fee_rate is None else str(prepared.fee_rate),
        "instrument_fees": {
            name: {"maker": str(i.maker_fee), "taker": str(i.taker_fee), "side": i.fee_side.value}
            for name, i in chosen.items()
        },
        "fill": fill.fill_at.value,
        "slippage_bps": fill.slippage_bps,
        "volatility_slippage": fill.volatility_slippage,
        "latency_ms": fill.latency_ms,
        "max_participation": fill.max_participation,
        "engine": spec.engine,
        "execution": None if spec.execution is None else spec.execution.as_dict(),
        "risk": None if spec.risk is None else spec.risk.model_dump(mode="json"),
        # The rules as the CLI announced them, for the report's settings block.
        "risk_rules": rules_in_force(spec.risk),
        "strategy_faults": [f.describe() for f in faults],
        "code_version": code_version(),
        "started_at": iso_utc(int(started * 1000)),
        "finished_at": iso_utc(int(time.time() * 1000)),
        **(extra_meta or {}),
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
        close=BarFrames(bars),
        breaker_events=breaker_events,
        health=health,
        faults=[fault_row(f) for f in faults],
        tca=tca,
        deferred_meta={}
        if "data_hash" in (extra_meta or {})
        else {"data_hash": functools.partial(data_hash, dict(bars))},
    )


def _close_on(series: BarSeries, timeline: np.ndarray) -> np.ndarray:
    """``series``' close at each time of ``timeline`` (times of its bars)."""
    skip = len(series.ts) - len(timeline)
    if (
        skip >= 0
        and len(timeline)
        and series.ts[skip] == timeline[0]
        and series.ts[-1] == timeline[-1]
    ):
        # The run's timeline is the series' bars from the first traded one on (both strictly
        # increasing, same length, same ends): a slice, not a search over a million bars.
        return series.close[skip:]
    return series.close[np.searchsorted(series.ts, timeline)]


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
    on_strategy_error: StrategyErrorPolicy = "keep",
    execution: AlgoSpec | str | None = None,
) -> BacktestResult:
    """Backtest ``strategy`` on ``data``: the convenience call (``tradewind.backtest``).

    It builds a :class:`~tradewind.backtest.spec.BacktestSpec` from the keyword arguments, then
    :func:`prepare` and :func:`run` it; a caller that runs many strategies or parameter sets on
    the same data prepares once and calls :func:`run` for each.

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
    on_strategy_error
        What happens when a strategy raises in a hook (event engine). The strategy is always
        stopped (it emits nothing more, its resting entries are canceled) and the result lists the
        fault; then ``"keep"`` (default) leaves its positions under their protective exits,
        ``"flatten"`` closes them, ``"halt_all"`` refuses new entries from every strategy.
    execution
        The execution algorithm of every market intent that names none (event engine): an
        :class:`~tradewind.core.algo_spec.AlgoSpec` or its one-line form
        (``"twap:horizon=30m,slices=6"``, :func:`~tradewind.core.algo_spec.parse_algo`); None
        sends plain orders.

    Returns
    -------
    BacktestResult
        ``.metrics`` (dict), ``.trades`` (DataFrame), ``.equity`` (Series), ``.report(path)``.
    """
    try:
        fill_at = FillAt(fill)
    except ValueError:
        raise UserError(f"fill must be 'next_open' or 'close', got {fill!r}") from None
    spec = BacktestSpec(
        account=Account(cash=cash, stake=stake, leverage=leverage),
        fill=FillModel(
            book_walk=book_walk,
            fill_at=fill_at,
            slippage_bps=slippage_bps,
            volatility_slippage=volatility_slippage,
            latency_ms=latency_ms,
            max_participation=max_participation,
        ),
        costs=Costs(fee=fee, funding=funding),
        risk=None if risk is None else parse_risk(risk),
        feeds=Feeds(trades=trades, books=books),
        market=MarketSpec(symbol=symbol, timeframe=timeframe, instruments=instruments),
        window=Window(start=start, end=end),
        engine=engine,  # type: ignore[arg-type]  # checked by the spec, with a named error
        on_strategy_error=on_strategy_error,
        execution=parse_algo(execution) if isinstance(execution, str) else execution,
    )
    return run(strategy, prepare(data, spec), params, bus=bus, progress=progress)
