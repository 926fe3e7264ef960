"""Record a finished backtest into the registry of runs (``--bot NAME`` or ``--db-url URL``).

The market regime at each trade's entry comes from :func:`tradewind.indicators.regime
.classify_regime` over the run's own bars: the regime of the last bar complete at the entry time,
so the label uses only what was known when the trade was opened.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import numpy as np
import pandas as pd

from tradewind.backtest.result import BacktestResult
from tradewind.cli.context import STATE
from tradewind.core.errors import UserError
from tradewind.core.money import to_decimal
from tradewind.core.timeframe import Timeframe
from tradewind.indicators.regime import Regime, classify_regime
from tradewind.persistence.bots import open_bot
from tradewind.persistence.engine import Engine, open_database
from tradewind.persistence.runs import RunRecord, RunTrade, StrategyParameter, record_run
from tradewind.series.bars import BarSeries
from tradewind.strategies.base import Strategy
from tradewind.strategies.registry import load_strategy


def _ms(text: str | None) -> int | None:
    if not text:
        return None
    return round(datetime.fromisoformat(text).timestamp() * 1000)


def regimes_at_entry(result: BacktestResult) -> list[str]:
    """The regime name at each trade's entry (``undefined`` during the indicator's warm-up)."""
    trades = result.trades
    if trades.empty:
        return []
    tf_ms = Timeframe.parse(str(result.meta.get("timeframe", "1m"))).seconds * 1000
    labels: list[str] = []
    cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for symbol, entry in zip(trades["symbol"], trades["entry_time"], strict=True):
        if symbol not in cache:
            bars = result.close.get(symbol)
            if bars is None or bars.empty:
                cache[symbol] = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int8))
            else:
                codes = classify_regime(bars["high"], bars["low"], bars["close"])
                open_ms = pd.DatetimeIndex(bars.index).as_unit("ms").asi8
                cache[symbol] = (open_ms + tf_ms, codes)
        close_ms, codes = cache[symbol]
        entry_ms = pd.Timestamp(entry).value // 1_000_000
        index = int(np.searchsorted(close_ms, entry_ms, side="right")) - 1
        code = int(codes[index]) if index >= 0 else Regime.UNDEFINED
        labels.append(Regime(code).name.lower())
    return labels


def _declared(strategy: str) -> list[StrategyParameter]:
    try:
        cls: type[Strategy] = load_strategy(strategy)
    except UserError:
        return []
    return [
        StrategyParameter(
            name=name,
            kind=param.kind.__name__,
            default=str(param.default),
            low=None if param.low is None else str(param.low),
            high=None if param.high is None else str(param.high),
        )
        for name, param in cls.parameters().items()
    ]


def run_record(result: BacktestResult, strategy: str, kind: str = "backtest") -> RunRecord:
    """The registry's record of a finished backtest."""
    meta = result.meta
    regimes = regimes_at_entry(result)
    trades = [
        RunTrade(
            strategy=str(row.strategy) if "strategy" in result.trades else str(meta["strategy"]),
            symbol=str(row.symbol),
            side=str(row.side),
            entry_ts=pd.Timestamp(row.entry_time).value // 1_000_000,
            exit_ts=pd.Timestamp(row.exit_time).value // 1_000_000,
            entry_price=to_decimal(float(row.entry_price)),
            exit_price=to_decimal(float(row.exit_price)),
            quantity=to_decimal(float(row.quantity)),
            fees=to_decimal(float(row.fees)),
            funding=to_decimal(float(getattr(row, "funding", 0.0))),
            pnl=to_decimal(float(row.pnl)),
            reason=str(getattr(row, "reason", "")),
            regime=regime,
        )
        for row, regime in zip(result.trades.itertuples(index=False), regimes, strict=True)
    ]
    metrics: dict[str, float | None] = {}
    for name, value in result.metrics.items():
        if isinstance(value, bool | int | float | np.integer | np.floating | Decimal):
            metrics[name] = float(value)
    return RunRecord(
        kind=kind,
        strategy=str(meta.get("strategy", strategy)),
        parameters=dict(meta.get("params") or {}),
        symbols=[str(s) for s in meta.get("symbols", [])],
        timeframe=str(meta.get("timeframe", "")),
        engine=str(meta.get("engine", "event")),
        data_start_ts=_ms(meta.get("data_start")),
        data_end_ts=_ms(meta.get("data_end")),
        data_hash=str(meta.get("data_hash", "")),
        code_version=str(meta.get("code_version", "")),
        started_ts=_ms(meta.get("started_at")) or 0,
        finished_ts=_ms(meta.get("finished_at")) or 0,
        metrics=metrics,
        trades=trades,
        declared=_declared(strategy),
    )


@dataclass
class Registry:
    """An open run registry: a database, and the bot the runs belong to (if any)."""

    engine: Engine
    bot_id: int | None

    def record(self, result: BacktestResult, strategy: str) -> int:
        """Store a finished backtest; returns its run id."""
        try:
            return record_run(self.engine, run_record(result, strategy), self.bot_id)
        finally:
            self.engine.dispose()


def open_registry(bot: str | None, db_url: str | None) -> Registry:
    """The registry in bot ``bot``'s database (made on first use) or the database at ``db_url``.

    Raises
    ------
    UserError
        When the bot name is invalid or the database is unusable or not migrated.
    """
    config = STATE.config().database
    if bot is not None:
        opened = open_bot(bot, bots_dir=config.bots_dir, url=db_url or config.url,
                          durability=config.durability)  # fmt: skip
        return Registry(opened.engine, opened.bot_id)
    url = db_url or config.url
    if url is None:
        raise UserError("recording a run needs --bot NAME or --db-url URL")
    return Registry(open_database(url, durability=config.durability), None)


def _numbers(values: dict[str, object]) -> dict[str, float | None]:
    return {
        name: float(value)
        for name, value in values.items()
        if isinstance(value, bool | int | float | np.integer | np.floating)
    }


def search_record(
    kind: str,
    strategy: str,
    parameters: dict[str, object],
    metrics: dict[str, object],
    series: BarSeries,
    started_ts: int,
) -> RunRecord:
    """The registry's record of an optimisation or walk-forward run over one symbol's bars."""
    from tradewind.backtest.results import code_version, data_hash

    ts = series.ts
    return RunRecord(
        kind=kind,
        strategy=strategy,
        parameters=parameters,
        symbols=[series.symbol],
        timeframe=str(series.timeframe),
        engine="kernel",
        data_start_ts=int(ts[0]) if len(ts) else None,
        data_end_ts=int(ts[-1]) if len(ts) else None,
        data_hash=data_hash({series.symbol: series}),
        code_version=code_version(),
        started_ts=started_ts,
        finished_ts=time.time_ns() // 1_000_000,
        metrics=_numbers(metrics),
        declared=_declared(strategy),
    )


def record_search(registry: Registry, record: RunRecord) -> int:
    """Store an optimisation or walk-forward record; returns its run id."""
    try:
        return record_run(registry.engine, record, registry.bot_id)
    finally:
        registry.engine.dispose()
