"""``tradewind demo``: the main job on embedded defaults (bundled real data, no network).

The main job imports the bundled BTC-perp month into a catalog under the run directory, validates
it, prints a summary, then backtests the built-in ``sma_cross`` strategy on it through the event
engine and writes the HTML report and the JSON result beside the data; then it paper-trades on the
exchange simulator in this process (:mod:`tradewind.cli.demo_paper`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer
from rich.table import Table

from tradewind.backtest import backtest
from tradewind.cli.context import STATE
from tradewind.cli.demo_paper import paper_demo
from tradewind.cli.outputs import writable_dir
from tradewind.cli.progress import progress_bar
from tradewind.core.errors import UserError
from tradewind.core.instrument import Instrument
from tradewind.core.strict_json import write_json
from tradewind.data.bundled import BUNDLED_KEY, load_bundled
from tradewind.data.catalog import Catalog
from tradewind.data.validate import validate
from tradewind.reporting.numbers import format_metric

_DAYS_SHOWN = 7
_METRICS = ("start", "end", "initial_equity", "final_equity", "total_return", "max_drawdown",
            "sharpe_ratio", "trade_count", "win_rate", "profit_factor", "total_fees",
            "benchmark_total_return")  # fmt: skip


def demo(
    run_dir: Annotated[
        Path, typer.Option("--run-dir", help="Folder for this run's catalog and outputs.")
    ] = Path("runs/demo"),
    strategy: Annotated[
        str, typer.Option("--strategy", "-s", help="Strategy to backtest on the month.")
    ] = "sma_cross",
    paper_bars: Annotated[
        int,
        typer.Option("--paper-bars", help="Bars of the paper session on the simulator (0: none)."),
    ] = 150,
    serve: Annotated[
        bool,
        typer.Option("--serve", help="Paper-trade a bar a second with the dashboard until Ctrl-C."),
    ] = False,
    port: Annotated[
        int | None,
        typer.Option(
            "--port",
            "--api-port",
            help="Port of the operator API and dashboard on 127.0.0.1 (default: 8080 with "
            "--serve, else any free port).",
        ),
    ] = None,
) -> None:
    """Run the main job on embedded defaults: the bundled real BTC-perp month imported, validated,
    summarised and backtested, then a paper session on the exchange simulator (in this process,
    replaying real XRP/ETH minutes) recorded in a SQLite bot database, with the operator API and
    dashboard up while it trades (URL and login token printed), and its drift report.

    Needs no config file, no exchange account and no network. The login token is
    TRADEWIND__API__TOKEN's when that is set.
    """
    writable_dir(run_dir, "--run-dir")
    if port is not None and not 0 <= port <= 65535:
        raise UserError(f"--port must be a TCP port (0 to 65535), got {port}")
    token = STATE.config().api.token
    frame, meta = load_bundled()
    catalog = Catalog(run_dir / "data")
    stored = catalog.write(BUNDLED_KEY, frame, meta=meta)
    frame = catalog.read(BUNDLED_KEY)
    tf = BUNDLED_KEY.tf
    report = validate(frame, BUNDLED_KEY.kind, tf)
    report.raise_for_errors(f"bundled data {BUNDLED_KEY}")

    summary = Table(
        title=f"Demo: {meta.instrument.symbol} {BUNDLED_KEY.timeframe}", show_header=False
    )
    summary.add_column("")
    summary.add_column("", justify="right")
    summary.add_row("source", meta.source)
    summary.add_row("stored in", str(stored))
    summary.add_row("rows", f"{report.rows:,}")
    summary.add_row("first candle (open, UTC)", _when(report.first))
    summary.add_row("last candle (open, UTC)", _when(report.last))
    summary.add_row("validation", "no errors" if report.ok else f"{report.error_count} errors")
    summary.add_row("gaps", f"{report.gap_count} ({report.missing_candles} missing candles)")
    summary.add_row("lowest low", f"{frame['low'].min():,.2f} {meta.instrument.quote}")
    summary.add_row("highest high", f"{frame['high'].max():,.2f} {meta.instrument.quote}")
    first_open, last_close = float(frame["open"].iloc[0]), float(frame["close"].iloc[-1])
    summary.add_row("month return", f"{last_close / first_open - 1:+.2%}")
    summary.add_row(
        f"total volume ({meta.volume_unit.value})",
        f"{frame['volume'].sum():,.0f} {meta.instrument.quote}",
    )
    summary.add_row("price step (tick)", str(meta.instrument.price_step))
    STATE.console.print(summary)
    STATE.console.print(_daily_table(frame, meta.instrument.quote))
    _backtest(frame, meta.instrument, run_dir, strategy)
    if paper_bars < 0:
        raise UserError(f"--paper-bars must be 0 or more, got {paper_bars}")
    if paper_bars or serve:
        chosen = port if port is not None else (8080 if serve else 0)
        paper_demo(run_dir, paper_bars, serve=serve, port=chosen, token=token)


def _backtest(frame: pd.DataFrame, instrument: Instrument, run_dir: Path, strategy: str) -> None:
    """Backtest ``strategy`` on the month and write its report and JSON into ``run_dir``."""
    with progress_bar() as bar:
        task = bar.add_task(f"backtest {strategy} on {instrument.symbol}", total=None)
        result = backtest(
            strategy,
            {instrument.symbol: frame},
            instruments={instrument.symbol: instrument},
            cash=100_000,
            stake="all",
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    table = Table(
        title=f"Backtest: {strategy} on {instrument.symbol} (event engine)", show_header=False
    )
    table.add_column("")
    table.add_column("", justify="right")
    for key in _METRICS:
        value = result.metrics[key]
        table.add_row(key, format_metric(key, value))
    STATE.console.print(table)
    STATE.console.print(
        f"{instrument.symbol} is traded as a linear perpetual at 1x leverage; the bundled month "
        "has no funding-rate series, so no funding is charged."
    )
    report = result.report(run_dir / "report.html")
    json_path = run_dir / "result.json"
    write_json(json_path, result.to_json_dict())
    STATE.console.print(f"report: {report}\nresult: {json_path}")


def _when(stamp: pd.Timestamp | None) -> str:
    return "-" if stamp is None else stamp.strftime("%Y-%m-%d %H:%M")


def _daily_table(frame: pd.DataFrame, quote: str) -> Table:
    """Daily OHLC, volume and realised volatility of 1-minute log returns for the last days."""
    day = frame["date"].dt.floor("D")
    log_close = np.log(frame["close"].to_numpy())
    returns = pd.Series(np.diff(log_close, prepend=np.nan), index=frame.index)
    daily = pd.DataFrame(
        {
            "open": frame["open"].groupby(day).first(),
            "high": frame["high"].groupby(day).max(),
            "low": frame["low"].groupby(day).min(),
            "close": frame["close"].groupby(day).last(),
            "volume": frame["volume"].groupby(day).sum(),
            "candles": frame["close"].groupby(day).size(),
            # Annualised from minute returns: sqrt(minutes per year).
            "vol": returns.groupby(day).std() * np.sqrt(365 * 24 * 60),
        }
    )
    table = Table(
        title=f"Last {_DAYS_SHOWN} days (UTC; {quote} volume in millions; vol: annualised volatility)"
    )
    for column in ("day", "open", "high", "low", "close", quote, "bars", "vol"):
        table.add_column(column, justify="left" if column == "day" else "right", no_wrap=True)
    for when, row in daily.tail(_DAYS_SHOWN).iterrows():
        table.add_row(
            pd.Timestamp(when).strftime("%Y-%m-%d"),
            f"{row['open']:,.0f}",
            f"{row['high']:,.0f}",
            f"{row['low']:,.0f}",
            f"{row['close']:,.0f}",
            f"{row['volume'] / 1e6:,.0f}M",
            f"{int(row['candles']):,}",
            f"{row['vol']:.0%}",
        )
    return table
