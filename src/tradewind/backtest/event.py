"""The event engine's backtest: the Node over the simulated venue (part of the composition root)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pandas as pd

from tradewind.backtest.kernel import dust_report
from tradewind.backtest.results import (
    breaker_frame,
    denials_frame,
    open_positions,
    orders_frame,
    orders_tca,
    trades_frame,
)
from tradewind.book.book import OrderBook
from tradewind.book.stream import DecodedBookStream
from tradewind.book.tape import TradeTape
from tradewind.core.algo_spec import AlgoSpec
from tradewind.core.events import OrderExpired, OrderRejected
from tradewind.core.instrument import Instrument
from tradewind.core.orders import ClientIdFactory
from tradewind.core.ports import RiskGate
from tradewind.engine.bus import MessageBus
from tradewind.engine.equity import account_currency, equity_curve
from tradewind.engine.node import Binding, Node, StrategyErrorPolicy
from tradewind.engine.portfolio import Portfolio
from tradewind.engine.runner import BacktestRunner
from tradewind.engine.strategy_host import StrategyFault
from tradewind.execution.rejections import check_rejection
from tradewind.risk.config import RiskConfig, build_risk
from tradewind.risk.exits import ProtectionBook
from tradewind.risk.gate import StakeGate
from tradewind.risk.stake import Stake
from tradewind.series.bars import BarSeries, FloatArray, IntArray
from tradewind.strategies.base import Strategy
from tradewind.strategies.guard import strategy_call
from tradewind.venues.sim import SimVenue
from tradewind.venues.sim.port import SimVenuePort


@dataclass(frozen=True)
class EventRun:
    """What an event-engine run gives back: the equity curve on its timeline and the tables
    of the result (trades, orders, denials, breaker events), the positions open at the end,
    the dust, the strategy faults and the transaction-cost analysis of the orders."""

    timeline: IntArray
    equity: FloatArray
    trades: pd.DataFrame
    orders: pd.DataFrame
    denials: pd.DataFrame
    breaker_events: pd.DataFrame
    positions: list[dict[str, Any]]
    dust: dict[str, dict[str, Any]]
    faults: list[StrategyFault]
    tca: dict[str, Any]


def signal_arrays(instance: Strategy, series: BarSeries) -> dict[str, Any]:
    """The strategy's signals over ``series`` as the :class:`Binding`'s array fields."""
    with strategy_call(instance, "signals"):
        signals = instance.signals(series)
    arrays = signals.arrays(len(series))
    return {
        "entry_long": arrays[0],
        "exit_long": arrays[1],
        "entry_short": arrays[2],
        "exit_short": arrays[3],
        "confidence": signals.confidence_array(len(series)),
    }


@dataclass(eq=False)
class EventEngine:
    """The event engine wired for a run: the Node, its venue port, the portfolio and the gate.

    A backtest drives it with :class:`BacktestRunner` over every bar at once; a paper session
    drives the same pieces bar by bar as the bars close (``tradewind.session``).
    """

    node: Node
    port: SimVenuePort
    portfolio: Portfolio
    gate: RiskGate
    starting: dict[str, Decimal]


def build_event_engine(
    strategies: list[Strategy],
    bars: dict[str, BarSeries],
    chosen: dict[str, Instrument],
    starting: dict[str, Decimal],
    stake: Stake,
    venue: SimVenue,
    first_bar: dict[str, int],
    risk_config: RiskConfig | None = None,
    bus: MessageBus | None = None,
    on_strategy_error: StrategyErrorPolicy = "keep",
    ids: ClientIdFactory | None = None,
    execution: AlgoSpec | None = None,
) -> EventEngine:
    """Wire the Node over the simulated venue: bindings with their signals, the gate (the stake
    gate, or the risk engine), the venue port, and an engine-caused rejection check."""
    portfolio = Portfolio(
        chosen, cash=dict(starting), leverage={s: venue.margin.leverage(s) for s in chosen}
    )
    bindings = [
        Binding(
            strategy=instance,
            strategy_id=instance.id,
            bars=series,
            start=first_bar[name],
            callback=instance.wants_bar_callback(),
            **signal_arrays(instance, series),
        )
        for instance in strategies
        for name, series in bars.items()
    ]
    gate: RiskGate = StakeGate(stake, chosen)
    protection: ProtectionBook | None = None
    if risk_config is not None:
        quote = account_currency(chosen)
        gate, protection = build_risk(
            risk_config,
            strategy_ids={i.id: i.name or type(i).__name__ for i in strategies},
            stake=stake,
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
        ids=ids or ClientIdFactory("bt", session="0"),
        protection=protection,
        bus=bus,
        on_strategy_error=on_strategy_error,
        execution=execution,
    )

    def refused(_topic: str, event: OrderRejected | OrderExpired) -> None:
        # An order the engine sized itself, refused by the venue, stops the run (a bug).
        order = node.orders.get(event.client_id)
        if order is not None and event.reason:
            check_rejection(order, event.reason)

    bus.subscribe("order.rejected", refused)
    bus.subscribe("order.expired", refused)
    return EventEngine(node, port, portfolio, gate, dict(starting))


def collect_event_run(
    engine: EventEngine,
    bars: dict[str, BarSeries],
    chosen: dict[str, Instrument],
    first_bar: dict[str, int],
) -> EventRun:
    """What a run of ``engine`` over ``bars`` gave: the equity curve from the first traded bar
    and the result's tables."""
    portfolio, node = engine.portfolio, engine.node
    timeline, equity = equity_curve(bars, chosen, engine.starting, portfolio)
    begin_ts = min(int(bars[n].ts[first_bar[n]]) for n in bars if first_bar[n] < len(bars[n]))
    keep = timeline >= begin_ts
    timeline, equity = timeline[keep], equity[keep]
    return EventRun(
        timeline=timeline,
        equity=equity,
        trades=trades_frame(portfolio),
        orders=orders_frame(node),
        denials=denials_frame(node),
        breaker_events=breaker_frame(engine.gate),
        positions=open_positions(portfolio, bars, chosen),
        dust=dust_report(portfolio.dust(), bars, chosen),
        faults=node.faults,
        tca=orders_tca(node, bars, chosen).as_dict(),
    )


def run_event(
    strategies: list[Strategy],
    bars: dict[str, BarSeries],
    chosen: dict[str, Instrument],
    starting: dict[str, Decimal],
    stake: Stake,
    venue: SimVenue,
    first_bar: dict[str, int],
    progress: Callable[[int, int], None] | None,
    risk_config: RiskConfig | None = None,
    bus: MessageBus | None = None,
    feeds: tuple[dict[str, TradeTape], dict[str, tuple[DecodedBookStream, OrderBook]]] = ({}, {}),
    on_strategy_error: StrategyErrorPolicy = "keep",
    execution: AlgoSpec | None = None,
) -> EventRun:
    """Run the event engine: the Node over the simulated venue."""
    engine = build_event_engine(
        strategies, bars, chosen, starting, stake, venue, first_bar, risk_config, bus,
        on_strategy_error, None, execution,
    )  # fmt: skip
    trade_feeds, book_feeds = feeds
    venue.books = {symbol: book for symbol, (_, book) in book_feeds.items()}
    BacktestRunner(engine.node, engine.port, trades=trade_feeds, books=book_feeds).run(progress)
    return collect_event_run(engine, bars, chosen, first_bar)


def fault_row(fault: StrategyFault) -> dict[str, Any]:
    """A strategy fault as a row of the result's ``faults``."""
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
