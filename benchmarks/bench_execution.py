"""Execution algorithms: implementation shortfall against an immediate market order, and the
scheduling overhead per child order.

Shortfall (total cost in bps of the arrival mid: shortfall and fees of what filled, plus the
opportunity cost of what did not, :mod:`tradewind.execution.tca`) of a buy of 0.1x, 1x and 10x the
top-of-book depth at arrival, for each algorithm, on the looped real recordings:

- the Bybit XRPUSDT ob500 books (best 50 levels a side; no public trades in that stream, so the
  iceberg and POV, which need a tape, are measured on Binance only), under two replenishment
  settings of the book venue (:mod:`tradewind.venues.sim.book_venue`): the next update restores
  what we took (``replenish 0``), or it comes back over 5 s (``replenish 5s``);
- the Binance BTCUSDT quotes and trades (top of book only: a market order beyond the top level
  meets nothing more, so its remainder is an opportunity cost).

The peer column is the immediate market order (a marketable IOC with a 1000 bps cap) on the same
replay. Lower is better; the ratio column is not meaningful for costs that change sign and is left
out. The overhead row times the parent engine's scheduling per child (making, recording, sending it
through the order manager to a venue that only counts it), target <= 50 us.
"""

from __future__ import annotations

import time
from decimal import Decimal

import pandas as pd

from benchmarks.common import Row
from tradewind.backtest.api import prepare
from tradewind.backtest.api import run as backtest_run
from tradewind.backtest.spec import Account, BacktestSpec
from tradewind.core.algo_spec import parse_algo
from tradewind.core.events import OrderFilled
from tradewind.core.money import ZERO
from tradewind.core.orders import ClientIdFactory, Fill, Liquidity, Order
from tradewind.core.ports import EventSink
from tradewind.core.records import Side
from tradewind.data.recorded import bundled_recorded_dir
from tradewind.execution.algos import Algo, AlgoSpec
from tradewind.execution.order_manager import OrderManager
from tradewind.execution.parent import MarketView, ParentEngine
from tradewind.execution.tca import TcaRecord
from tradewind.testing.execution_replay import (
    BTCUSDT,
    XRPUSDT,
    binance_ticks,
    bybit_ticks,
    run_parent,
)

GROUP = "execution"
MARKET = AlgoSpec(algo=Algo.MARKET, guard_bps=Decimal(1000))
MARK_MS = 30_000
"""Every execution's unfilled remainder is valued at the mid 30 s after its start (the longest
horizon here), so a market order that gave up early is not flattered by a short window."""


def _specs(visible: Decimal, book_only: bool) -> dict[str, AlgoSpec]:
    specs = {
        "twap": AlgoSpec(algo=Algo.TWAP, horizon_ms=10_000, slices=10, guard_bps=Decimal(50)),
        "smart_limit": AlgoSpec(algo=Algo.SMART_LIMIT, timeout_ms=5_000, chase_bps=Decimal(5)),
        "guarded market (10 bps)": AlgoSpec(algo=Algo.MARKET, guard_bps=Decimal(10)),
    }
    if not book_only:
        specs["pov 20%"] = AlgoSpec(algo=Algo.POV, participation=0.2, horizon_ms=30_000)
        specs["iceberg"] = AlgoSpec(algo=Algo.ICEBERG, visible=visible, horizon_ms=30_000)
    return specs


def _row(name: str, ours: TcaRecord, market: TcaRecord) -> Row:
    return Row(GROUP, f"shortfall {name}", ours.total_cost_bps, "bps", "market order",
               market.total_cost_bps, show_ratio=False,
               note=f"fill {ours.fill_rate:.0%} vs {market.fill_rate:.0%}")  # fmt: skip


def _shortfall_rows(quick: bool) -> list[Row]:
    rows: list[Row] = []
    loops = 4 if quick else 12
    first = next(iter(bybit_ticks(1)))
    top = first.asks[0][1]
    for replenish in (0, 5_000):
        label = f"replenish {replenish // 1000}s"
        for mult in (Decimal("0.1"), Decimal(1), Decimal(10)):
            qty = max((top * mult).quantize(Decimal(1)), Decimal(5))
            base = run_parent(bybit_ticks(loops), XRPUSDT, Side.BUY, qty, MARKET,
                              replenish_ms=replenish, mark_ms=MARK_MS).tca  # fmt: skip
            for name, spec in _specs(qty, True).items():
                r = run_parent(bybit_ticks(loops), XRPUSDT, Side.BUY, qty, spec,
                               replenish_ms=replenish, mark_ms=MARK_MS).tca  # fmt: skip
                rows.append(_row(f"{name}, Bybit XRPUSDT {mult}x top, {label}", r, base))
    bfirst = next(iter(binance_ticks(1)))
    btop = bfirst.asks[0][1]
    for mult in (Decimal("0.1"), Decimal(1), Decimal(10)):
        qty = max((btop * mult).quantize(Decimal("0.00001")), Decimal("0.0002"))
        base = run_parent(
            binance_ticks(loops // 2), BTCUSDT, Side.BUY, qty, MARKET, mark_ms=MARK_MS
        ).tca
        visible = max((qty / 4).quantize(Decimal("0.00001")), Decimal("0.0002"))
        for name, spec in _specs(visible, False).items():
            r = run_parent(
                binance_ticks(loops // 2), BTCUSDT, Side.BUY, qty, spec, mark_ms=MARK_MS
            ).tca
            rows.append(_row(f"{name}, Binance BTCUSDT {mult}x top", r, base))
    return rows


class _FillingVenue:
    """A venue that fills every child at once at its limit price (no matching, no book): only
    the engine's work and the order manager's are timed."""

    def __init__(self) -> None:
        self.sent = 0
        self.sinks: list[EventSink] = []

    def subscribe(self, sink: EventSink) -> None:
        self.sinks.append(sink)

    def submit(self, order: Order, ts: int) -> None:
        self.sent += 1
        assert order.price is not None
        fill = Fill(order.client_id, order.symbol, order.side, ts, order.price, order.quantity,
                    ZERO, "USDT", Liquidity.TAKER, order.client_id)  # fmt: skip
        for sink in self.sinks:
            sink([OrderFilled(fill, order.quantity)])

    def cancel(self, client_id: str, ts: int) -> None:
        del client_id, ts

    def cancel_replace(self, client_id: str, order: Order, ts: int) -> None:
        del client_id, order, ts


def _overhead(children: int) -> float:
    venue = _FillingVenue()
    manager = OrderManager(venue, ClientIdFactory("b", session="s"), {"XRPUSDT": XRPUSDT},  # type: ignore[arg-type]
                           lambda *_: None)  # fmt: skip
    engine = ParentEngine(manager, {"XRPUSDT": XRPUSDT}, lambda *_: None)
    venue.subscribe(lambda events: [engine.apply(e, e.fill.ts) for e in events])  # type: ignore[union-attr, arg-type, func-returns-value]
    bid, ask = Decimal("1.9531"), Decimal("1.9532")
    spec = AlgoSpec(algo=Algo.TWAP, horizon_ms=children * 10, slices=children)
    start = time.perf_counter()
    parent = engine.create("p", strategy_id="s", symbol="XRPUSDT", side=Side.BUY,
                           quantity=Decimal(5 * children), spec=spec,
                           market=MarketView(0, bid, ask))  # fmt: skip
    for ts in range(10, children * 10, 10):
        engine.on_market("XRPUSDT", MarketView(ts, bid, ask))
    elapsed = time.perf_counter() - start
    if venue.sent != children or engine.filled(parent) != parent.quantity:
        raise AssertionError(f"the TWAP sent {venue.sent} children, planned {children}")
    return elapsed / children


def _candle_rows(quick: bool) -> list[Row]:
    """Each algorithm as a backtest's execution (the Node's desk, children filled by the candle
    rules) against the same backtest's plain market orders: the quantity-weighted total cost of
    its parents and of the plain orders, in bps of the arrival close, on the bundled ETH/BTC 5m
    bars traded by sma_cross at a 50% stake (about 1x a 5-minute bar's volume per order)."""
    frame = pd.read_feather(bundled_recorded_dir() / "candles" / "ETH_BTC-5m.feather")
    frame = frame.iloc[: 2_000 if quick else 8_000]

    def cost(execution: str | None) -> tuple[float, float, int]:
        spec = BacktestSpec(account=Account(cash=1, stake="50%"),
                            execution=None if execution is None else parse_algo(execution))  # fmt: skip
        result = backtest_run("sma_cross", prepare({"ETH/BTC": frame}, spec))
        kind = "order" if execution is None else "parent"
        records = [r for r in result.tca["records"] if r["kind"] == kind]
        if not records:
            raise AssertionError(f"{execution}: nothing was measured")
        weight = sum(r["quantity"] for r in records)
        total = sum(r["total_cost_bps"] * r["quantity"] for r in records) / weight
        rate = sum(r["fill_rate"] * r["quantity"] for r in records) / weight
        return total, rate, len(records)

    plain, _, count = cost(None)
    rows = []
    for execution in ("market:guard_bps=10", "twap:horizon=20m,slices=4",
                      "vwap:horizon=30m,slices=3", "pov:participation=0.1",
                      "iceberg:visible=1,horizon=1h"):  # fmt: skip
        total, rate, parents = cost(execution)
        rows.append(Row(GROUP, f"shortfall {execution.split(':')[0]}, candle backtest ETH/BTC 5m",
                        total, "bps", "market order", plain, show_ratio=False,
                        note=f"{parents} parents, fill {rate:.0%}; {count} plain orders"))  # fmt: skip
    return rows


def run(quick: bool) -> list[Row]:
    """Shortfall per algorithm and size against a market order; scheduling overhead per child."""
    rows = _shortfall_rows(quick) + _candle_rows(quick)
    per_child = min(_overhead(1_000 if quick else 2_000) for _ in range(5))
    rows.append(Row(GROUP, "scheduling overhead per child order (TWAP, in process)", per_child,
                    target="<= 50 us", note="make, record, reserve, send through the order manager"))  # fmt: skip
    return rows
