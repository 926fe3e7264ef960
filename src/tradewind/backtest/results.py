"""Backtest outputs: the result tables and the run's metadata (part of the composition root)."""

from __future__ import annotations

import functools
import hashlib
import subprocess
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tradewind import __version__
from tradewind.core.instrument import Instrument
from tradewind.core.ports import RiskGate
from tradewind.engine.node import Node
from tradewind.engine.portfolio import Portfolio
from tradewind.execution.tca import MarketTape, TcaBook, candle_tape, order_tca, parent_tca
from tradewind.series.bars import BarSeries

_EMPTY_TRADE_DTYPES: dict[str, Any] = {
    "symbol": object,
    "side": object,
    "strategy": object,
    "reason": object,
    "entry_time": "datetime64[ms, UTC]",
    "exit_time": "datetime64[ms, UTC]",
}
"""Column types of the trade list when there are no trades (the rest are float64)."""


def trades_frame(portfolio: Portfolio) -> pd.DataFrame:
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


def open_positions(
    portfolio: Portfolio, bars: dict[str, BarSeries], instruments: dict[str, Instrument]
) -> list[dict[str, Any]]:
    """Every position still open at the end, marked at its symbol's last close.

    ``open_pnl`` is what closing there would add, net of the entry fees and with the funding
    booked so far, before the exit fee (as a closed trade's ``pnl`` counts them). The equity
    curve, and so the return and Sharpe, already value the position at that close.
    """
    out = []
    for position in portfolio.positions.values():
        if position.quantity == 0:
            continue
        series = bars[position.symbol]
        close = float(series.close[-1])
        mark = Decimal(repr(close))
        size = instruments[position.symbol].contract_size
        gross = (mark - position.average_price) * position.quantity * size
        out.append(
            {
                "strategy": position.strategy_id,
                "symbol": position.symbol,
                "side": "long" if position.quantity > 0 else "short",
                "quantity": float(abs(position.quantity)),
                "entry_price": float(position.average_price),
                "entry_time": iso_utc(position.entry_ts),
                "mark_price": close,
                # A live fill can land after the last bar's close (the session ended before
                # the next bar): the mark is then no earlier than the entry.
                "mark_time": iso_utc(
                    max(int(series.ts[-1]) + series.timeframe.ms, position.entry_ts)
                ),
                "open_pnl": float(gross - position.open_fees + position.open_funding),
            }
        )
    return out


def orders_frame(node: Node) -> pd.DataFrame:
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


def denials_frame(node: Node) -> pd.DataFrame:
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


def breaker_frame(gate: RiskGate) -> pd.DataFrame:
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


class BarFrames(Mapping[str, pd.DataFrame]):
    """Each symbol's bars as an OHLCV frame, built when first read.

    A result holds the bars for its report's chart; most callers (an optimiser's trials, a
    screening loop) never draw one, and building the frames was a third of a 1M-row kernel
    backtest's time.
    """

    def __init__(self, bars: Mapping[str, BarSeries]) -> None:
        self._bars = dict(bars)
        self._frames: dict[str, pd.DataFrame] = {}

    def __getitem__(self, symbol: str) -> pd.DataFrame:
        frame = self._frames.get(symbol)
        if frame is None:
            frame = self._frames[symbol] = bars_frame(self._bars[symbol])
        return frame

    def __iter__(self) -> Iterator[str]:
        return iter(self._bars)

    def __len__(self) -> int:
        return len(self._bars)

    def __repr__(self) -> str:
        return f"BarFrames({', '.join(self._bars)})"


def bars_frame(series: BarSeries) -> pd.DataFrame:
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


def data_hash(bars: dict[str, BarSeries]) -> str:
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
def code_version() -> str:
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


def iso_utc(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat()


def orders_tca(
    node: Node, bars: dict[str, BarSeries], instruments: dict[str, Instrument]
) -> TcaBook:
    """Transaction-cost analysis of every filled order and every parent order of a candle
    backtest (:mod:`tradewind.execution.tca`, each order as :func:`order_tca` and each parent as
    :func:`parent_tca` measures it over :func:`candle_tape`). A parent's children are labelled
    ``<algo>.child``, so the aggregate by algorithm keeps parents and plain orders apart."""
    book = TcaBook()
    tapes: dict[str, MarketTape] = {}

    def tape_of(symbol: str) -> MarketTape:
        tape = tapes.get(symbol)
        if tape is None:
            tape = tapes[symbol] = candle_tape(bars[symbol])
        return tape

    desk = node.desk
    for order in node.orders.values():
        if not order.fills:
            continue
        algo = None
        if desk.is_child(order.client_id):
            algo = f"{desk.engine.parents[desk.engine.parent_of[order.client_id]].spec.algo}.child"
        book.add(order_tca(order, tape_of(order.symbol), instruments[order.symbol], algo))
    for parent in desk.parents():
        children = [node.orders[c] for c in parent.children]
        book.add(parent_tca(parent, children, tape_of(parent.symbol), instruments[parent.symbol]))
    return book
