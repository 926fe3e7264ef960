"""The composition root: picks clock, feed, venue and repository for a mode and builds the Node.

Only this module knows which implementation of each port a mode uses. ``backtest()`` is also the
Python API for notebooks and scripts (``tradewind.backtest``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from tradewind.backtest_inputs import (
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
from tradewind.backtest_results import (
    bars_frame,
    breaker_frame,
    code_version,
    data_hash,
    denials_frame,
    iso_utc,
    open_positions,
    orders_frame,
    orders_tca,
    trades_frame,
)
from tradewind.bars import BarSeries
from tradewind.book.book import OrderBook
from tradewind.book.stream import DecodedBookStream
from tradewind.book.tape import QuoteTape, TradeTape
from tradewind.core.errors import UserError
from tradewind.core.events import OrderExpired, OrderRejected
from tradewind.core.instrument import Instrument
from tradewind.core.orders import ClientIdFactory
from tradewind.core.ports import RiskGate
from tradewind.engine.bus import MessageBus
from tradewind.engine.equity import account_currency, equity_curve
from tradewind.engine.health import run_health
from tradewind.engine.node import Binding, Node, StrategyErrorPolicy
from tradewind.engine.portfolio import Portfolio
from tradewind.engine.result import BacktestResult
from tradewind.engine.runner import BacktestRunner
from tradewind.engine.strategy_host import StrategyFault
from tradewind.execution.rejections import check_rejection
from tradewind.kernel_backtest import dust_report, run_kernel
from tradewind.performance.summary import summarize
from tradewind.performance.trades import exposure_time
from tradewind.risk.config import RiskConfig, build_risk, parse_risk, rules_in_force
from tradewind.risk.exits import ProtectionBook
from tradewind.risk.gate import StakeGate
from tradewind.risk.stake import Stake
from tradewind.strategies.base import Strategy
from tradewind.strategies.guard import strategy_call
from tradewind.venues.sim import FillModel, SimVenue
from tradewind.venues.sim.fill_model import FillAt
from tradewind.venues.sim.port import SimVenuePort


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
    on_strategy_error
        What happens when a strategy raises in a hook (event engine). The strategy is always
        stopped (it emits nothing more, its resting entries are canceled) and the result lists the
        fault; then ``"keep"`` (default) leaves its positions under their protective exits,
        ``"flatten"`` closes them, ``"halt_all"`` refuses new entries from every strategy.

    Returns
    -------
    BacktestResult
        ``.metrics`` (dict), ``.trades`` (DataFrame), ``.equity`` (Series), ``.report(path)``.
    """
    if engine not in ("event", "kernel"):
        raise UserError(f"unknown engine {engine!r}: use 'event' or 'kernel'")
    started = time.time()
    frames = frames_from(data, symbol)
    bars = {name: bar_series(frame, name, timeframe) for name, frame in frames.items()}
    strategies = strategies_from(strategy, params)
    instance = strategies[0]
    fee_rate = None if fee is None else parse_fraction(fee, "fee")
    chosen = instruments_for(bars, instruments, fee_rate)
    on_price_grid(bars, chosen)
    quote = account_currency(chosen)
    starting = {quote: parse_positive(cash, "cash")}
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
    first_bar, stops = trade_window(bars, start, end)
    for name in list(bars):
        # Nothing after ``end`` is known to the run: the data simply stops there.
        bars[name] = bars[name].head(stops[name])
    risk_config = None if risk is None else parse_risk(risk)
    breaker_events = pd.DataFrame()
    faults: list[StrategyFault] = []
    if engine == "kernel" and len(strategies) > 1:
        raise UserError("engine 'kernel' runs one strategy; use engine='event' for several")
    if engine == "kernel":
        levered = leverage_map(leverage, chosen)
        run = run_kernel(
            instance, bars, chosen, starting[quote], Stake.parse(stake), fill_model, first_bar,
            leverage=max(levered.values(), default=Decimal(1)), funding=funding_series(funding, bars),
            risk=risk_config,
        )  # fmt: skip
        timeline, equity, trades, dust, positions = (
            run.timeline,
            run.equity,
            run.trades,
            run.dust,
            run.positions,
        )
        orders, denials = pd.DataFrame(), pd.DataFrame()
        tca: dict[str, Any] = {}  # the kernel keeps no orders: nothing to measure
    else:
        venue = SimVenue(
            chosen, bars, starting, fill_model,
            leverage=leverage_map(leverage, chosen), funding=funding_series(funding, bars),
        )  # fmt: skip
        timeline, equity, trades, orders, denials, breaker_events, positions, dust, faults, tca = (
            _run_event(
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
                feeds_for(strategies, bars, trades, books, book_walk),
                on_strategy_error,
            )
        )
    primary = next(iter(bars.values()))
    close = None
    if len(bars) == 1:
        close = primary.close[np.searchsorted(primary.ts, timeline)]
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
        engine=engine, orders=orders, denials=denials, open_positions=positions, dust=dust,
        kernel_fills=2 * len(trades) + len(positions), faults=[f.describe() for f in faults],
    )  # fmt: skip
    meta = {
        "strategy": ", ".join(s.name or type(s).__name__ for s in strategies),
        "params": instance.params if len(strategies) == 1 else {s.id: s.params for s in strategies},
        "symbols": list(bars),
        "timeframe": str(primary.timeframe),
        "data_start": iso_utc(int(timeline[0])),
        "data_end": iso_utc(int(timeline[-1])),
        "data_hash": data_hash(bars),
        "cash": str(starting[quote]),
        "account_currency": quote,
        "stake": str(Stake.parse(stake)),
        "fee": "instrument" if fee_rate is None else str(fee_rate),
        "instrument_fees": {
            name: {"maker": str(i.maker_fee), "taker": str(i.taker_fee), "side": i.fee_side.value}
            for name, i in chosen.items()
        },
        "fill": fill_at.value,
        "slippage_bps": slippage_bps,
        "volatility_slippage": volatility_slippage,
        "latency_ms": latency_ms,
        "max_participation": max_participation,
        "engine": engine,
        "risk": None if risk_config is None else risk_config.model_dump(mode="json"),
        # The rules as the CLI announced them, for the report's settings block.
        "risk_rules": rules_in_force(risk_config),
        "strategy_faults": [f.describe() for f in faults],
        "code_version": code_version(),
        "started_at": iso_utc(int(started * 1000)),
        "finished_at": iso_utc(int(time.time() * 1000)),
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
        close={n: bars_frame(b) for n, b in bars.items()},
        breaker_events=breaker_events,
        health=health,
        faults=[_fault_row(f) for f in faults],
        tca=tca,
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
    on_strategy_error: StrategyErrorPolicy = "keep",
) -> tuple[
    np.ndarray,
    np.ndarray,
    pd.DataFrame,
    pd.DataFrame,
    pd.DataFrame,
    pd.DataFrame,
    list[dict[str, Any]],
    dict[str, dict[str, Any]],
    list[StrategyFault],
    dict[str, Any],
]:
    """Run the event engine: the Node over the simulated venue."""
    portfolio = Portfolio(
        chosen, cash=dict(starting), leverage={s: venue.margin.leverage(s) for s in chosen}
    )
    bindings = []
    for instance in strategies:
        for name, series in bars.items():
            with strategy_call(instance, "signals"):
                signals = instance.signals(series)
            arrays = signals.arrays(len(series))
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
                    confidence=signals.confidence_array(len(series)),
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
    bus = bus or MessageBus()
    port = SimVenuePort(venue)
    node = Node(
        bindings=bindings,
        gate=gate,
        venue=port,
        portfolio=portfolio,
        instruments=chosen,
        ids=ClientIdFactory("bt", session="0"),
        protection=protection,
        bus=bus,
        on_strategy_error=on_strategy_error,
    )

    def refused(_topic: str, event: OrderRejected | OrderExpired) -> None:
        # An order the engine sized itself, refused by the venue, stops the run (a bug).
        order = node.orders.get(event.client_id)
        if order is not None and event.reason:
            check_rejection(order, event.reason)

    bus.subscribe("order.rejected", refused)
    bus.subscribe("order.expired", refused)
    trade_feeds, book_feeds = feeds
    venue.books = {symbol: book for symbol, (_, book) in book_feeds.items()}
    BacktestRunner(node, port, trades=trade_feeds, books=book_feeds).run(progress)
    timeline, equity = equity_curve(bars, chosen, starting, portfolio)
    begin_ts = min(int(bars[n].ts[first_bar[n]]) for n in bars if first_bar[n] < len(bars[n]))
    keep = timeline >= begin_ts
    timeline, equity = timeline[keep], equity[keep]
    trades = trades_frame(portfolio)
    return (
        timeline,
        equity,
        trades,
        orders_frame(node),
        denials_frame(node),
        breaker_frame(gate),
        open_positions(portfolio, bars, chosen),
        dust_report(portfolio.dust(), bars, chosen),
        node.faults,
        orders_tca(node, bars, chosen).as_dict(),
    )


def _fault_row(fault: StrategyFault) -> dict[str, Any]:
    return {
        "strategy": fault.strategy_id,
        "symbol": fault.symbol,
        "hook": fault.hook,
        "time": pd.Timestamp(fault.ts, unit="ms", tz="UTC"),
        "kind": fault.kind.value,
        "error": fault.error,
        "error_type": fault.error_type,
        "message": fault.message,
        "where": fault.where,
    }
