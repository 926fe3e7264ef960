"""``tradewind backtest``: run a strategy over stored or bundled candles, print metrics, write reports."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.table import Table

from tradewind.bootstrap import backtest as run_backtest
from tradewind.cli.context import STATE
from tradewind.cli.outputs import writable_dir, writable_file, write_output
from tradewind.cli.progress import progress_bar
from tradewind.core.errors import UserError
from tradewind.core.instrument import Instrument
from tradewind.core.strict_json import write_json
from tradewind.core.timeframe import Timeframe
from tradewind.data.bundled import BUNDLED_SYMBOL, load_bundled
from tradewind.data.catalog import Catalog, SeriesKey
from tradewind.data.ingest import load_candles_file
from tradewind.data.kinds import DataKind
from tradewind.data.schema import conform
from tradewind.engine.result import BacktestResult
from tradewind.risk.config import RISK_PRESETS, RiskConfig, parse_risk, rules_in_force

_SHOWN = (
    "start", "end", "bars", "initial_equity", "final_equity", "total_return", "annual_return",
    "annual_volatility", "sharpe_ratio", "sortino_ratio", "calmar_ratio", "max_drawdown",
    "max_drawdown_duration_bars", "trade_count", "win_rate", "profit_factor", "expectancy",
    "payoff_ratio", "open_positions", "open_pnl", "exposure_time", "benchmark_total_return", "annualization_basis",
)  # fmt: skip


def backtest(
    strategy: Annotated[
        str, typer.Option("--strategy", "-s", help="Registered name or path/file.py:Class.")
    ],
    symbol: Annotated[
        str | None,
        typer.Option(
            "--symbol", help="Symbol in the catalog (default BTC-PERP, bundled) or of --data."
        ),
    ] = None,
    timeframe: Annotated[
        str | None,
        typer.Option(
            "--timeframe", "-t", help="Candle timeframe, e.g. 1m, 1h (default: inferred)."
        ),
    ] = None,
    exchange: Annotated[
        str | None, typer.Option("--exchange", help="Exchange folder in the catalog.")
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option("--data", help="Read candles from this file instead of the catalog."),
    ] = None,
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="Strategy parameter k=v (repeatable).")
    ] = None,
    cash: Annotated[
        str, typer.Option("--cash", help="Starting cash in the quote currency.")
    ] = "100000",
    stake: Annotated[
        str, typer.Option("--stake", help="'all', a percent like 25%, or a quote amount.")
    ] = "all",
    fee: Annotated[
        str | None, typer.Option("--fee", help="Fee per side as a fraction (0.001 = 0.1%).")
    ] = None,
    fill: Annotated[str, typer.Option("--fill", help="next_open or close.")] = "next_open",
    engine: Annotated[
        str,
        typer.Option("--engine", help="event, or kernel (compiled; one spot symbol, long only)."),
    ] = "event",
    leverage: Annotated[
        float | None, typer.Option("--leverage", help="Leverage of a perpetual (default 1).")
    ] = None,
    slippage_bps: Annotated[
        float, typer.Option("--slippage-bps", help="Slippage per market fill, bps.")
    ] = 0.0,
    volatility_slippage: Annotated[
        float,
        typer.Option(
            "--volatility-slippage", help="Extra slippage as a fraction of the fill bar's range."
        ),
    ] = 0.0,
    date_from: Annotated[
        str | None, typer.Option("--from", help="First bar to trade (UTC); earlier bars warm up.")
    ] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="Last bar (UTC, exclusive).")] = None,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Write metrics and trades as JSON.")
    ] = None,
    report: Annotated[
        Path | None, typer.Option("--report", help="Write the HTML report here.")
    ] = None,
    export: Annotated[
        Path | None, typer.Option("--export", help="Folder for trades/orders/equity CSVs.")
    ] = None,
    stop: Annotated[
        float | None, typer.Option("--stop", help="Protective stop, fraction (0.02 = 2%).")
    ] = None,
    take_profit: Annotated[
        float | None, typer.Option("--take-profit", help="Take-profit, fraction from entry.")
    ] = None,
    trailing: Annotated[
        float | None, typer.Option("--trailing", help="Trailing stop, fraction behind the best.")
    ] = None,
    risk_config: Annotated[
        Path | None,
        typer.Option(
            "--risk-config", help="TOML file with a [risk] table (sizing, exits, limits, breakers)."
        ),
    ] = None,
    risk_preset: Annotated[
        str | None,
        typer.Option(
            "--risk-preset",
            help=f"A named set of risk rules: {', '.join(sorted(RISK_PRESETS))}.",
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
    """Backtest a strategy through the event engine and print its metrics.

    Risk: every rule is off unless named. Without --stop/--take-profit/--trailing/--risk-preset/
    --risk-config (or a [risk] table in the config file) the run uses the plain stake gate; each
    flag switches on that rule alone. The rules in force are printed when the run starts.
    """
    params = _params(param or [])
    writable_file(json_path, "--json")
    writable_file(report, "--report")
    if export is not None:
        writable_dir(export, "--export")
    risk = _risk(stop, take_profit, trailing, risk_config, risk_preset)
    announce_risk(risk)
    candles = load_candles(symbol, timeframe, exchange, data)
    name, instruments = candles.symbol, candles.instruments
    funding = _funding(name, exchange, data, instruments)
    registry = None
    if bot is not None or db_url is not None:
        # Imported here: a backtest that records nothing does not load the database layer.
        from tradewind.cli.run_registry import open_registry

        # Opened before the run, so a bad --bot/--db-url fails at once, not after a long backtest.
        registry = open_registry(bot, db_url)
    with progress_bar() as bar:
        task = bar.add_task(f"backtest {strategy} on {name}", total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        result = run_backtest(
            strategy, {name: candles.frame}, params, cash=cash, fee=fee, stake=stake, fill=fill,
            engine=engine, timeframe=candles.timeframe, instruments=instruments, start=date_from,
            end=date_to, slippage_bps=slippage_bps, volatility_slippage=volatility_slippage,
            risk=risk, leverage=leverage, funding=funding, progress=update,
        )  # fmt: skip
    _print(result)
    if json_path is not None:
        payload = result.to_json_dict()
        write_output(json_path, "--json", lambda path: write_json(path, payload))
        STATE.console.print(f"JSON written to {json_path}")
    if report is not None:
        STATE.console.print(f"report written to {write_output(report, '--report', result.report)}")
    if export is not None:
        write_output(
            export / "trades.csv", "--export", lambda p: result.trades.to_csv(p, index=False)
        )
        write_output(
            export / "orders.csv", "--export", lambda p: result.orders.to_csv(p, index=False)
        )
        write_output(export / "equity.csv", "--export", result.equity.to_csv)
        STATE.console.print(f"trades, orders and equity CSVs written to {export}")
    if registry is not None:
        STATE.console.print(f"recorded as run {registry.record(result, strategy)}")


def announce_risk(risk: RiskConfig | None) -> None:
    """Say which risk rules the run enforces, before it starts (on stderr, beside the progress)."""
    rules = rules_in_force(risk)
    STATE.err_console.print(
        f"risk rules in force: {', '.join(rules) if rules else 'none'}",
        highlight=False,
        soft_wrap=True,
    )


def _risk(
    stop: float | None,
    take_profit: float | None,
    trailing: float | None,
    path: Path | None,
    preset: str | None = None,
) -> RiskConfig | None:
    """The risk settings: the --risk-config file, else the app config's [risk] table when one was
    given, then the preset named by --risk-preset, with the flags on top; None when nothing asks
    for the risk engine."""
    base: dict[str, Any] | None = None
    if path is not None:
        if not path.is_file():
            raise UserError(f"risk config file not found: {path}")
        try:
            document = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise UserError(f"{path} is not valid TOML: {exc}") from None
        base = dict(document.get("risk", document))
    else:
        config = STATE.config()
        if "risk" in config.model_fields_set:
            base = config.risk.model_dump(exclude_unset=True)
    flags = {"stop_pct": stop, "take_profit_pct": take_profit, "trailing_pct": trailing}
    given = {k: v for k, v in flags.items() if v is not None}
    if base is None and not given and preset is None:
        return None
    merged: dict[str, Any] = dict(base or {})
    if preset is not None:
        merged["preset"] = preset
    if given:
        merged["exits"] = {**dict(merged.get("exits", {})), **given}
    return parse_risk(merged)


def _params(pairs: list[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--param takes key=value, got {pair!r}")
        params[key.strip()] = value.strip()
    return params


@dataclass(frozen=True, slots=True)
class Candles:
    """Candles to trade, found as every run command finds them, with what was resolved."""

    frame: pd.DataFrame
    symbol: str
    timeframe: str
    instruments: dict[str, Instrument] | None


def load_candles(
    symbol: str | None,
    timeframe: str | None,
    exchange: str | None,
    data: Path | None,
    data_dir: Path | None = None,
) -> Candles:
    """The candles of ``--data FILE`` (read as ``data import`` reads it), else of the catalog, else
    the bundled BTC-PERP month.

    A file's symbol comes from ``--symbol`` or its Freqtrade name and its timeframe from ``-t``,
    its name or its timestamps; a stored series' timeframe from ``-t`` or, when one timeframe of
    the symbol is stored, that one. The same data and flags give the same candles and instrument
    either way.
    """
    config = STATE.config()
    venue = (exchange or config.data.default_exchange).lower()
    if data is not None:
        prepared = load_candles_file(data, exchange=venue, symbol=symbol, timeframe=timeframe)
        key = prepared.key
        frame = conform(prepared.frame, DataKind.CANDLES, what=str(data))
        return Candles(
            frame, key.symbol, str(key.timeframe), {key.symbol: prepared.meta.instrument}
        )
    catalog = Catalog(data_dir or config.data.dir)
    stored = [k for k in catalog.keys() if k.kind is DataKind.CANDLES]  # noqa: SIM118
    name = symbol or BUNDLED_SYMBOL
    if timeframe is None:
        timeframes = sorted(
            {str(k.timeframe) for k in stored if k.symbol == name and k.exchange == venue}
        )
        if len(timeframes) > 1:
            raise UserError(
                f"{name} is stored in several timeframes ({', '.join(timeframes)}) in "
                f"{catalog.root}: give -t/--timeframe"
            )
        timeframe = timeframes[0] if timeframes else "1m"
    wanted = SeriesKey(venue, name, timeframe, DataKind.CANDLES)
    if catalog.exists(wanted):
        return Candles(
            catalog.read(wanted), name, timeframe, {name: catalog.meta(wanted).instrument}
        )
    if name == BUNDLED_SYMBOL and Timeframe.parse(timeframe) == Timeframe.parse("1m"):
        frame, meta = load_bundled()
        return Candles(frame, name, "1m", {name: meta.instrument})
    raise UserError(
        f"no {timeframe} candles for {name} in {catalog.root} (exchange {venue}); stored: "
        f"{', '.join(str(k) for k in stored) or 'none'}. Import or download them first, or "
        "pass --data FILE"
    )


def _funding(
    symbol: str, exchange: str | None, data: Path | None, instruments: dict[str, Instrument] | None
) -> dict[str, pd.DataFrame] | None:
    """The stored funding-rate series of a perpetual from the catalog, when there is one."""
    instrument = (instruments or {}).get(symbol)
    if data is not None or instrument is None or instrument.is_spot:
        return None
    config = STATE.config()
    catalog = Catalog(config.data.dir)
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
    table = Table(title=f"Backtest {result.meta['strategy']} {result.meta['params']}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key in _SHOWN:
        if key in result.metrics:
            value = result.metrics[key]
            table.add_row(key, f"{value:,.6g}" if isinstance(value, float) else str(value))
    STATE.console.print(table)
    print_health(result)
    if len(result.denials):
        STATE.console.print(
            f"{len(result.denials)} intents were denied by the risk gate (see the report)."
        )
    trips = result.breaker_events
    if len(trips):
        tripped = trips[trips["state"] != "active"]
        STATE.console.print(f"{len(tripped)} circuit-breaker trips (see the report and --json).")
