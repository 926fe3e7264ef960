"""``tradewind backtest``: run a strategy over stored or bundled candles, print metrics, write reports."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from tradewind.backtest import backtest as run_backtest
from tradewind.backtest.result import BacktestResult
from tradewind.cli.context import STATE
from tradewind.cli.outputs import writable_dir, write_output
from tradewind.cli.progress import progress_bar
from tradewind.cli.results import metrics_table
from tradewind.cli.run_options import (
    OUTPUT,
    Params,
    RunOptions,
    Strategies,
    announce_risk,
    run_options,
    strategy_choice,
)
from tradewind.core.errors import StrategyError
from tradewind.core.instrument import Instrument
from tradewind.core.strict_json import write_json
from tradewind.data.catalog import Catalog
from tradewind.data.kinds import DataKind


@run_options
def backtest(
    opts: RunOptions,
    strategy: Strategies,
    param: Params = None,
    engine: Annotated[
        str,
        typer.Option("--engine", help="event, or kernel (compiled; one spot symbol, long only)."),
    ] = "event",
    export: Annotated[
        Path | None,
        typer.Option(
            "--export", help="Folder for trades/orders/equity CSVs.", rich_help_panel=OUTPUT
        ),
    ] = None,
    bot: Annotated[
        str | None,
        typer.Option("--bot", help="Record the run in this bot's database (the run registry)."),
    ] = None,
    db_url: Annotated[
        str | None, typer.Option("--db-url", help="Record the run in this database.")
    ] = None,
) -> None:
    """Backtest one strategy, or several in one account, through the event engine.

    Risk: every rule is off unless named. Without --stop/--take-profit/--trailing/--risk-preset/
    --risk-config (or a [risk] table in the config file) the run uses the plain stake gate; each
    flag switches on that rule alone. The rules in force are printed when the run starts.
    """
    chosen, params = strategy_choice(strategy, param)
    opts.check_outputs()
    if export is not None:
        writable_dir(export, "--export")
    risk = opts.risk()
    announce_risk(risk)
    candles = opts.candles()
    name, instruments = candles.symbol, candles.instruments
    funding = stored_funding(name, opts.exchange, opts.data, instruments, opts.data_dir)
    registry = None
    if bot is not None or db_url is not None:
        # Imported here: a backtest that records nothing does not load the database layer.
        from tradewind.cli.run_registry import open_registry

        # Opened before the run, so a bad --bot/--db-url fails at once, not after a long backtest.
        registry = open_registry(bot, db_url)
    with progress_bar() as bar:
        task = bar.add_task(f"backtest {', '.join(strategy)} on {name}", total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        result = run_backtest(
            chosen, {name: candles.frame}, params, cash=opts.cash, fee=opts.fee,
            stake=opts.stake, fill=opts.fill, engine=engine, timeframe=candles.timeframe,
            instruments=instruments, start=opts.date_from, end=opts.date_to,
            slippage_bps=opts.slippage_bps, volatility_slippage=opts.volatility_slippage,
            risk=risk, leverage=opts.leverage, funding=funding, progress=update,
            execution=opts.algo(),
        )  # fmt: skip
    _print(result)
    if opts.json_path is not None:
        payload = result.to_json_dict()
        write_output(opts.json_path, "--json", lambda path: write_json(path, payload))
        STATE.console.print(f"JSON written to {opts.json_path}")
    if opts.report is not None:
        written = write_output(opts.report, "--report", result.report)
        STATE.console.print(f"report written to {written}")
    if export is not None:
        write_output(
            export / "trades.csv", "--export", lambda p: result.trades.to_csv(p, index=False)
        )
        write_output(
            export / "orders.csv", "--export", lambda p: result.orders.to_csv(p, index=False)
        )
        write_output(export / "equity.csv", "--export", result.equity.to_csv)
        STATE.console.print(f"trades, orders and equity CSVs written to {export}")
    if result.faults:
        # A strategy raised in a hook: it was stopped (the others ran on) and the run failed; it
        # is not recorded. A user mistake: one line (the first fault; the health line has all).
        first = result.faults[0]
        raise StrategyError(
            f"strategy {first['strategy']!r} raised {first['error_type']} in {first['hook']}(): "
            f"{first['message']} (at {first['where']})"
        )
    if registry is not None:
        STATE.console.print(f"recorded as run {registry.record(result, ' + '.join(strategy))}")


def stored_funding(
    symbol: str,
    exchange: str | None,
    data: Path | None,
    instruments: dict[str, Instrument] | None,
    data_dir: Path | None,
) -> dict[str, pd.DataFrame] | None:
    """The stored funding-rate series of a perpetual from the catalog, when there is one."""
    instrument = (instruments or {}).get(symbol)
    if data is not None or instrument is None or instrument.is_spot:
        return None
    config = STATE.config()
    catalog = Catalog(data_dir or config.data.dir)
    venue = exchange or config.data.default_exchange
    stored = [k for k in catalog.keys() if k.kind is DataKind.FUNDING and k.symbol == symbol]  # noqa: SIM118
    stored.sort(key=lambda k: k.exchange != venue)  # the same exchange's series first
    if not stored:
        return None
    return {symbol: catalog.read(stored[0])[["date", "rate"]]}


def print_health_headline(result: BacktestResult) -> None:
    """The run's health in one line: the first line a run prints, so problems are seen first."""
    if result.health is None:
        return
    style = "[bold red]" if not result.health.ok else ""
    STATE.console.print(
        f"{style}{result.health.headline()}", highlight=False, soft_wrap=True, markup=bool(style)
    )


def print_health(result: BacktestResult) -> None:
    """The full health summary, printed under the metrics."""
    if result.health is None:
        return
    STATE.console.print("run health:", highlight=False)
    for line in result.health.lines():
        STATE.console.print(f"  {line}", highlight=False, soft_wrap=True, markup=False)


def _print(result: BacktestResult) -> None:
    print_health_headline(result)
    STATE.console.print(metrics_table(result))
    print_health(result)
    if len(result.denials):
        STATE.console.print(
            f"{len(result.denials)} intents were denied by the risk gate (see the report)."
        )
    trips = result.breaker_events
    if len(trips):
        tripped = trips[trips["state"] != "active"]
        STATE.console.print(f"{len(tripped)} circuit-breaker trips (see the report and --json).")
