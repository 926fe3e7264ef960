"""A backtest's result: metrics, trades, orders, equity curve and the run's metadata."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from tradewind.core.strict_json import json_ready
from tradewind.engine.health import RunHealth


@dataclass
class BacktestResult:
    """What a backtest returns, in every engine.

    Attributes
    ----------
    metrics
        Flat dict of performance figures (``final_equity``, ``trade_count``, Sharpe, ...). Return
        and Sharpe come from the equity curve, which marks a position still open at the end at
        the last close; the trade statistics count closed trades only, and ``open_positions``
        and ``open_pnl`` report what is still open beside them.
    trades
        One row per closed trade: symbol, side, entry_time, exit_time (UTC), entry_price,
        exit_price, quantity, fees, pnl (floats; the engine's accounting is Decimal).
    equity
        Equity at each bar's close, indexed by the bar's open time (UTC).
    orders
        One row per order with its final status.
    meta
        Run metadata: strategy, parameters, config, data range and content hash, code version,
        start and end time.
    """

    metrics: dict[str, Any]
    trades: pd.DataFrame
    equity: pd.Series
    orders: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)
    denials: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Intents the risk gate denied: time, strategy, symbol, action, reason and code."""
    close: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    """The OHLCV bars of each symbol the run traded, for the report's chart."""
    breaker_events: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Circuit-breaker transitions: time, bar, symbol, breaker, state, reason."""
    health: RunHealth | None = None
    """Orders submitted, filled, rejected and expired, intents denied, positions open at the end
    and dust; ``health.ok`` is False when the run has problems (see :mod:`tradewind.engine.health`)."""
    faults: list[dict[str, Any]] = field(default_factory=list)
    """Strategies stopped by an exception in a hook, one dict each: strategy, symbol, hook, time
    (UTC), kind (lookahead, write, invalid, error), error, where (file:line). A run with any is
    a failed run, whatever its numbers."""
    tca: dict[str, Any] = field(default_factory=dict)
    """Transaction-cost analysis (:mod:`tradewind.execution.tca`): ``records`` (one per filled
    order), ``alerts``, and aggregates ``by_strategy``, ``by_venue`` and ``by_algo``."""
    deferred_meta: dict[str, Callable[[], Any]] = field(
        default_factory=dict, repr=False, compare=False
    )
    """Entries of ``meta`` computed when ``meta`` is first read, each filled in at the key it
    holds there (the data's SHA-256 over every bar costs more than a 1M-row kernel run: an
    optimiser's trial or a screening loop that never reads the metadata does not pay it)."""

    def __getattribute__(self, name: str) -> Any:
        if name == "meta":
            deferred = object.__getattribute__(self, "deferred_meta")
            if deferred:
                meta = object.__getattribute__(self, "meta")
                for key, compute in deferred.items():
                    meta[key] = compute()
                deferred.clear()
        return object.__getattribute__(self, name)

    def to_json_dict(self) -> dict[str, Any]:
        """The ``--json`` document: metrics, trades (ISO-8601 UTC times), and metadata.

        Strict JSON (:mod:`tradewind.core.strict_json`): a value that cannot be computed (NaN or
        infinite, e.g. a profit factor without a losing trade) is ``null``.
        """
        trades = []
        for row in self.trades.itertuples(index=False):
            trades.append(
                {
                    "symbol": row.symbol,
                    "side": row.side,
                    "entry_time": row.entry_time.isoformat(),
                    "exit_time": row.exit_time.isoformat(),
                    "entry_price": row.entry_price,
                    "exit_price": row.exit_price,
                    "quantity": row.quantity,
                    "fees": row.fees,
                    "pnl": row.pnl,
                }
            )
        document = {
            "metrics": self.metrics,
            "trades": trades,
            "meta": self.meta,
            "risk": {
                "denials": _records(self.denials),
                "breaker_events": _records(self.breaker_events),
            },
            "health": None if self.health is None else self.health.as_dict(),
            "tca": {k: v for k, v in self.tca.items() if k != "records"},
        }
        ready: dict[str, Any] = json_ready(document)
        return ready

    def report(self, path: str | Path) -> Path:
        """Write the self-contained HTML report to ``path`` and return it."""
        from tradewind.reporting.html import write_report

        return write_report(
            Path(path),
            metrics=self.metrics,
            meta=self.meta,
            equity=self.equity,
            trades=self.trades,
            bars=self.close,
            denials=self.denials,
            breaker_events=self.breaker_events,
            health=None
            if self.health is None
            else {**self.health.as_dict(), "headline": self.health.headline()},
            tca=self.tca,
        )


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts (timestamps become ISO-8601 UTC through :func:`json_ready`)."""
    return [{str(k): v for k, v in row.items()} for row in frame.to_dict(orient="records")]
