"""What an operator sees of a running Node beyond its counts: the equity curve so far, open
positions marked to market, the strategies with their parameters, and the execution costs.

These are reads of the Node's own state, computed on demand (the control facade exposes them; the
dashboard and the API show them). Nothing here looks past the Node's clock: the equity curve stops
at the last bar complete at :attr:`Node.now`, positions are marked at that bar's close, and an
order's costs are measured against the market up to its last fill.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np

from tradewind.engine.costs import CostMeter
from tradewind.engine.equity import account_currency, equity_curve
from tradewind.engine.node import Node
from tradewind.execution.tca import TcaBook

__all__ = ["ExecutionCosts", "equity_points", "marked_positions", "strategy_rows"]


def _text(value: Decimal) -> str:
    return format(value.normalize(), "f") if value == value.to_integral() else str(value)


def equity_points(node: Node, *, max_points: int = 2000) -> dict[str, Any]:
    """The account's equity at each bar's close up to the Node's clock, as ``[close time ms,
    equity]`` pairs, thinned evenly to at most ``max_points`` (the first and latest kept).

    The curve starts at the close before the first bar any strategy may act on: a session's
    warm-up bars are history, and drawn as flat equity they squeezed the session into the chart's
    last part. Starting balances are today's balances less every ledger movement, so the curve is
    derived from the ledger exactly as a backtest's is (:func:`tradewind.engine.equity.equity_curve`).
    """
    bars = {b.symbol: b.bars for b in node.bindings}
    instruments = {s: node.instruments[s] for s in bars}
    currency = account_currency(instruments)
    portfolio = node.portfolio
    starting = dict(portfolio.cash)
    for entry in portfolio.ledger:
        starting[entry.asset] = starting.get(entry.asset, Decimal(0)) - entry.amount
    timeline, equity = equity_curve(bars, instruments, starting, portfolio)
    step = min(series.timeframe.ms for series in bars.values())
    closes = timeline + step
    done = int(np.searchsorted(closes, node.now, side="right"))
    acting = [int(b.bars.ts[b.start]) for b in node.bindings if b.start < len(b.bars)]
    first = int(np.searchsorted(timeline, min(acting))) - 1 if acting else 0
    first = min(max(first, 0), max(done - 1, 0))
    picked = np.arange(first, done)
    if done - first > max_points:
        picked = np.unique(np.linspace(first, done - 1, max_points).round().astype(np.int64))
    return {
        "currency": currency,
        "points": [[int(closes[i]), round(float(equity[i]), 8)] for i in picked],
        "bars": done,
    }


def marked_positions(node: Node) -> list[dict[str, Any]]:
    """Every open position with its mark (the close of the latest complete bar) and its open
    PnL at that mark: ``(mark - average price) x quantity x contract size``, before the fees the
    exit will cost (the entry fees are in ``open_fees``)."""
    traded = {b.symbol for b in node.bindings}
    rows = []
    for p in node.portfolio.positions.values():
        if p.quantity == 0:
            continue
        row: dict[str, Any] = {
            "strategy": p.strategy_id,
            "symbol": p.symbol,
            "side": "long" if p.quantity > 0 else "short",
            "quantity": _text(p.quantity),
            "average_price": _text(p.average_price),
            "entry_time": p.entry_ts,
            "realized_pnl": _text(p.realized_pnl),
            "open_fees": _text(p.open_fees),
            "mark_price": None,
            "unrealized_pnl": None,
        }
        if p.symbol in traded:
            mark = node.account.last_price(p.symbol)
            size = node.instruments[p.symbol].contract_size
            row["mark_price"] = _text(mark)
            row["unrealized_pnl"] = _text((mark - p.average_price) * p.quantity * size)
        rows.append(row)
    return rows


def strategy_rows(node: Node) -> list[dict[str, Any]]:
    """Each running strategy: its id, symbol and timeframe, whether it faulted or its symbol's
    entries are stopped, and every declared parameter with its value, default and range."""
    faulted = {f.strategy_id for f in node.faults}
    rows = []
    for binding in node.bindings:
        strategy = binding.strategy
        values = strategy.params
        params = [
            {
                "name": name,
                "value": values.get(name, declared.default),
                "default": declared.default,
                "low": declared.low,
                "high": declared.high,
                "doc": declared.doc,
            }
            for name, declared in strategy.parameters().items()
        ]
        rows.append(
            {
                "id": binding.strategy_id,
                "name": strategy.name or type(strategy).__name__,
                "symbol": binding.symbol,
                "timeframe": str(binding.bars.timeframe),
                "faulted": binding.strategy_id in faulted,
                "entries_stopped": binding.symbol in node.stopped_entries,
                "params": params,
            }
        )
    return rows


class ExecutionCosts:
    """Transaction-cost analysis of a Node's orders (:mod:`tradewind.execution.tca`), each
    measured once, when it is done (a done order's cost never changes): the arrival mid is the
    close of the last bar complete when the order was made. An order still working is measured
    when it ends. Kept by the facade, so a dashboard's refresh costs only the orders done since
    the last one."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.book = TcaBook()
        self.meter = CostMeter(node)

    def update(self, budget: int = 200) -> int:
        """Measure up to ``budget`` of the orders and parent orders done since the last call
        (:class:`~tradewind.engine.costs.CostMeter`); returns how many are left for later."""
        records, pending = self.meter.measure(budget)
        for record in records:
            self.book.add(record)
        return pending

    def summary(self) -> dict[str, Any]:
        """The costs aggregated by strategy and by order type (bps of the arrival mid), the fees
        paid per currency, and any slippage alerts; ``orders_pending`` done orders are left for
        the next call."""
        pending = self.update()
        book = self.book
        fees: dict[str, float] = {}
        for record in book.records:
            fees[record.strategy_id] = fees.get(record.strategy_id, 0.0) + record.fees_quote
        by_strategy = book.aggregate("strategy_id")
        for row in by_strategy:
            row["fees_quote"] = round(fees.get(str(row["strategy_id"]), 0.0), 8)
        alerts = [
            {"order": a.execution_id, "type": a.algo, "slippage_bps": a.slippage_bps,
             "mean_bps": a.mean_bps, "std_bps": a.std_bps, "time": a.ts}
            for a in book.alerts
        ]  # fmt: skip
        fees_paid = self.node.portfolio.fees_paid
        return {
            "orders_measured": len(book.records),
            "orders_pending": pending,
            "by_strategy": by_strategy,
            "by_order_type": book.aggregate("algo"),
            "fees_paid": {k: _text(v) for k, v in sorted(fees_paid.items())},
            "alerts": alerts,
        }
