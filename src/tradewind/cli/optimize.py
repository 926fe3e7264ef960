"""``tradewind optimize | walkforward | montecarlo | lookahead | recursive``: honest validation.

Thin commands over :mod:`tradewind.optimize`; candles are found as ``tradewind backtest`` finds
them (the catalog, the bundled BTC-PERP month, or ``--data FILE``).
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from tradewind.backtest import backtest as run_backtest
from tradewind.cli.backtest import print_health_headline, stored_funding
from tradewind.cli.context import STATE
from tradewind.cli.exits import EXIT_INTERRUPTED, CheckFailedError
from tradewind.cli.outputs import writable_dir, write_output
from tradewind.cli.progress import progress_bar
from tradewind.cli.run_options import (
    Params,
    RunOptions,
    Strategies,
    announce_risk,
    load_candles,
    one_strategy,
    parse_params,
    run_options,
    strategy_choice,
)
from tradewind.core.errors import UserError
from tradewind.core.strict_json import write_json
from tradewind.core.timeframe import Timeframe
from tradewind.optimize.lookahead import lookahead_analysis, recursive_analysis
from tradewind.optimize.market import Market, prepare_market
from tradewind.optimize.montecarlo import METHODS, check_settings, monte_carlo
from tradewind.optimize.report import write_report
from tradewind.optimize.search import MIN_TRADES, SAMPLERS
from tradewind.optimize.search import optimize as run_optimize
from tradewind.optimize.walkforward import MIN_OOS_TRADES, walk_forward
from tradewind.performance.returns import periods_per_year
from tradewind.reporting.numbers import format_mapping, format_metric, format_number
from tradewind.strategies.registry import load_strategy

Space = Annotated[
    list[str] | None,
    typer.Option("--space", help="Search range k=low:high[:step], k=a,b,c or k=value (fixed)."),
]
AsSpot = Annotated[
    bool,
    typer.Option("--as-spot", help="Trade a perpetual's candles as spot (no leverage/funding), "
                 "so the screening kernel can run the trials."),
]  # fmt: skip
Sampler = Annotated[str, typer.Option("--sampler", help=f"One of {', '.join(SAMPLERS)}.")]
Seed = Annotated[int, typer.Option("--seed", help="Random seed.")]
RegistryBot = Annotated[
    str | None,
    typer.Option("--bot", help="Record the run in this bot's database (the run registry)."),
]
RegistryUrl = Annotated[
    str | None, typer.Option("--db-url", help="Record the run in this database.")
]
MinTrades = Annotated[
    int,
    typer.Option("--min-trades", help="Closed trades a trial needs to be ranked (fewer: "
                 "'insufficient', never chosen)."),
]  # fmt: skip
# lookahead and recursive read candles only: the data flags of the run commands, no costs.
Symbol = Annotated[
    str | None,
    typer.Option(
        "--symbol", help="Symbol in the catalog (default BTC-PERP, bundled) or of --data."
    ),
]
Timeframe_ = Annotated[
    str | None,
    typer.Option(
        "--timeframe", "-t", help="Candle timeframe (default: from the name or timestamps)."
    ),
]
Exchange = Annotated[
    str | None, typer.Option("--exchange", "-e", help="Exchange folder in the catalog.")
]
DataFile = Annotated[Path | None, typer.Option("--data", help="Read candles from this file.")]
DataDir = Annotated[Path | None, typer.Option("--data-dir", help="Catalog folder.")]

# A search prepares its market once (cash, stake, fee, fill, slippage, leverage, a perpetual's
# stored funding) and every trial shares it, on the screening kernel and the event engine alike.
# Risk rules apply too: with them every trial runs on the event engine. An execution algorithm
# does not: the kernel fills plain market orders only.
_SEARCH_CANNOT = ("execution",)
_SEARCH_WHY = (
    "a search's trials fill plain market orders; backtest the chosen parameters with the "
    "execution algorithm instead"
)


def _market(opts: RunOptions, as_spot: bool) -> Market:
    candles = opts.candles()
    funding = stored_funding(
        candles.symbol, opts.exchange, opts.data, candles.instruments, opts.data_dir
    )
    return prepare_market(
        opts.window(candles.frame), symbol=candles.symbol, timeframe=candles.timeframe,
        instruments=candles.instruments, cash=opts.cash, fee=opts.fee, stake=opts.stake,
        fill=opts.fill, slippage_bps=opts.slippage_bps,
        volatility_slippage=opts.volatility_slippage, leverage=opts.leverage,
        funding=None if funding is None else funding[candles.symbol], as_spot=as_spot,
    )  # fmt: skip


def _space(items: list[str] | None, fixed: list[str] | None) -> dict[str, str]:
    space = parse_params(items or [])
    space.update(parse_params(fixed or []))
    return space


@contextmanager
def _warnings_shown() -> Iterator[None]:
    """Show library warnings (e.g. why trials fell back to the event engine) as one line each."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        finally:
            seen: set[str] = set()
            for item in caught:
                text = str(item.message)
                if text not in seen and not item.filename.endswith(("optuna/_experimental.py",)):
                    seen.add(text)
                    STATE.err_console.print(f"[yellow]warning:[/yellow] {text}", highlight=False)


def _say(line: str) -> None:
    STATE.err_console.print(line, highlight=False, soft_wrap=True)


def _write_json(path: Path | None, payload: dict[str, Any]) -> None:
    if path is None:
        return
    write_output(path, "--json", lambda target: write_json(target, payload))
    STATE.console.print(f"JSON written to {path}")


@run_options
def optimize(
    opts: RunOptions,
    strategy: Strategies,
    sampler: Sampler = "tpe",
    trials: Annotated[
        int | None, typer.Option("--trials", "-n", help="Trials to run (grid: default all).")
    ] = None,
    objective: Annotated[
        list[str] | None,
        typer.Option(
            "--objective",
            help="sharpe, sortino, calmar, profit, profit_dd, drawdown, "
            "file.py:function; repeat for several (nsga2).",
        ),
    ] = None,
    space: Space = None,
    param: Params = None,
    storage: Annotated[
        str | None,
        typer.Option(
            "--storage",
            help="memory, sqlite:///file.db or postgresql://... "
            "(default: SQLite in the run directory).",
        ),
    ] = None,
    study_name: Annotated[
        str | None, typer.Option("--study-name", help="Study to create or resume.")
    ] = None,
    run_dir: Annotated[
        Path | None, typer.Option("--run-dir", help="Folder for the results.")
    ] = None,
    seed: Seed = 0,
    batch: Annotated[int | None, typer.Option("--batch", help="Trials per kernel call.")] = None,
    top: Annotated[int, typer.Option("--top", help="Best trials re-run on the event engine.")] = 3,
    period: Annotated[str, typer.Option("--period", help="Return period kept per trial.")] = "1h",
    dd_penalty: Annotated[
        float, typer.Option("--dd-penalty", help="Drawdown weight in profit_dd.")
    ] = 1.0,
    as_spot: AsSpot = False,
    min_trades: MinTrades = MIN_TRADES,
    bot: RegistryBot = None,
    db_url: RegistryUrl = None,
) -> None:
    """Search a strategy's parameters with Optuna, scored on the screening kernel in batches.

    The search uses the bars from --from to --to; --json writes the study summary. Risk rules
    (--stop, --take-profit, --trailing, --risk-preset, --risk-config or a [risk] table) apply to
    every trial, which then runs on the event engine. Only trials
    with at least --min-trades closed trades are ranked; parameters that cannot act on the market
    (a short switch on a spot pair) are fixed, and the output says so.
    """
    opts.refuse("optimize", _SEARCH_WHY, *_SEARCH_CANNOT)
    risk = opts.risk_settings()
    try:
        Timeframe.parse(period)
    except UserError as exc:
        raise UserError(f"--period: {exc}") from None
    report = opts.report
    cls = load_strategy(one_strategy(strategy, "optimize"))
    market = _market(opts, as_spot)
    name = study_name or f"{cls.name or cls.__name__}-{market.symbol}-{sampler}".replace("/", "_")
    folder = writable_dir(run_dir or Path("runs") / "optimize" / name, "--run-dir")
    opts.check_outputs()
    registry, started = _registry(bot, db_url)
    if sampler != "grid" and trials is None:
        trials = 100
    announce_risk(opts.risk())
    with _warnings_shown(), progress_bar() as bar:
        task = bar.add_task(f"{sampler} {cls.name}", total=trials)

        def update(done: int, total: int, best: float | None) -> None:
            label = f"{sampler} {cls.name}" + (
                "" if best is None else f"  best {format_number(best)}"
            )
            bar.update(task, completed=done, total=total, description=label)

        result = run_optimize(
            cls, market, sampler=sampler, trials=trials, objectives=tuple(objective or ["sharpe"]),
            space=_space(space, param), risk=risk, storage=storage, study_name=name,
            run_dir=folder, seed=seed, batch=batch, top_n=top, period=period, drawdown_penalty=dd_penalty,
            progress=update, min_trades=min_trades, announce=_say,
        )  # fmt: skip
    if result.interrupted:
        path = write_report(report or folder / "report.html", f"Study {result.study_name}",
                            study=result)  # fmt: skip
        _write_json(opts.json_path, result.summary())
        STATE.err_console.print(
            f"interrupted: {len(result.trials)} finished trials written to {folder} (report "
            f"{path.name}, trials.csv, study.json); {result.failed} failed incl. those running",
            highlight=False, soft_wrap=True,
        )  # fmt: skip
        raise typer.Exit(EXIT_INTERRUPTED)
    ranked = len(result.trials) - result.insufficient
    headline = (
        f"ranked {ranked} of {len(result.trials)} completed trials "
        f"({result.insufficient} insufficient: fewer than {min_trades} closed trades; "
        f"{result.failed} failed; {len(result.faulted)} faulted)"
    )
    STATE.console.print(headline if result.best else f"NOTHING RANKED - {headline}",
                        highlight=False, soft_wrap=True)  # fmt: skip
    for reason, count in list(result.failure_reasons.items())[:3]:
        STATE.console.print(f"  {count} failed: {reason}", highlight=False, soft_wrap=True)
    for name, note in result.fixed_notes.items():
        STATE.console.print(f"parameter {name} {note}", highlight=False, soft_wrap=True)
    for fault in result.faulted:
        STATE.console.print(
            f"trial {fault['number']} {fault['params']} not ranked, its event-engine run had "
            f"problems: {'; '.join(fault['problems'])}", highlight=False, soft_wrap=True,
        )  # fmt: skip
    table = Table(
        title=f"{result.strategy} {sampler}: {len(result.trials)} trials ({result.failed} failed)"
    )
    for column in ("trial", "params", *result.objectives, "trades", "engine"):
        table.add_column(column)
    for best in result.best[:10]:
        table.add_row(str(best["number"]), format_mapping(best["params"]),
                      *(format_number(best["values"][o]) for o in result.objectives),
                      str(best["trade_count"]), best["engine"])  # fmt: skip
    STATE.console.print(table)
    for row in result.parity:
        STATE.console.print(
            f"event engine check #{row.number}: {row.event_trades} trades, final equity "
            f"{row.event_final_equity:,.2f} (search: {row.kernel_trades}, {row.kernel_final_equity:,.2f})"
        )
    summary = result.summary()
    if "deflated_sharpe" in summary:
        STATE.console.print(f"deflated Sharpe ratio: {summary['deflated_sharpe']['dsr']:.4f}")
    if "pbo" in summary:
        STATE.console.print(f"probability of backtest overfitting: {summary['pbo']['pbo']:.3f}")
    STATE.console.print(f"results in {folder} (study {result.study_name!r}, {result.storage})")
    _write_json(opts.json_path, summary)
    path = report or folder / "report.html"
    STATE.console.print(
        f"report written to {write_report(path, f'Study {result.study_name}', study=result)}"
    )
    if registry is not None:
        best = result.best[0] if result.best else {}
        metrics = {**best.get("values", {}), "trade_count": best.get("trade_count"),
                   "completed_trials": len(result.trials), "failed_trials": result.failed,
                   "insufficient_trials": result.insufficient,
                   "deflated_sharpe": summary.get("deflated_sharpe", {}).get("dsr"),
                   "pbo": summary.get("pbo", {}).get("pbo")}  # fmt: skip
        _record(registry, "optimisation", str(result.strategy), dict(best.get("params", {})),
                metrics, market, started)  # fmt: skip


@run_options
def walkforward(
    opts: RunOptions,
    strategy: Strategies,
    train: Annotated[str, typer.Option("--train", help="Train window: bars or a duration (7d).")],
    test: Annotated[str, typer.Option("--test", help="Test window: bars or a duration (2d).")],
    step: Annotated[
        str | None, typer.Option("--step", help="Step between windows (default: test).")
    ] = None,
    anchored: Annotated[bool, typer.Option("--anchored", help="Train from the first bar.")] = False,
    sampler: Sampler = "tpe",
    trials: Annotated[int, typer.Option("--trials", "-n", help="Trials per train window.")] = 50,
    objective: Annotated[
        str, typer.Option("--objective", help="Objective to optimise.")
    ] = "sharpe",
    space: Space = None,
    param: Params = None,
    seed: Seed = 0,
    as_spot: AsSpot = False,
    min_trades: MinTrades = MIN_TRADES,
    min_oos_trades: Annotated[
        int,
        typer.Option("--min-oos-trades", help="Closed trades a test window needs to count."),
    ] = MIN_OOS_TRADES,
    bot: RegistryBot = None,
    db_url: RegistryUrl = None,
) -> None:
    """Optimise on rolling (or anchored) train windows and trade each winner out of sample.

    The windows lie in the bars from --from to --to. A window whose train trials all have fewer
    than --min-trades closed trades, or whose test run has fewer than --min-oos-trades, is
    'insufficient': shown, never ranked, and left out of the walk-forward efficiency (OOS annual
    return / IS annual return, n/a when IS <= 0).
    """
    opts.refuse("walkforward", _SEARCH_WHY, *_SEARCH_CANNOT)
    risk = opts.risk_settings()
    opts.check_outputs()
    report, json_path = opts.report, opts.json_path
    strategy_name = one_strategy(strategy, "walkforward")
    market = _market(opts, as_spot)
    registry, started = _registry(bot, db_url)
    announce_risk(opts.risk())
    with _warnings_shown(), progress_bar() as bar:
        task = bar.add_task(f"walk-forward {strategy_name}", total=None)
        result = walk_forward(
            strategy_name, market, train=train, test=test, step=step, anchored=anchored,
            sampler=sampler, trials=trials, objective=objective, space=_space(space, param),
            risk=risk, seed=seed, progress=lambda d, t: bar.update(task, completed=d, total=t),
            min_trades=min_trades, min_oos_trades=min_oos_trades,
        )  # fmt: skip
    table = Table(title=f"Walk-forward {result.strategy} ({'anchored' if anchored else 'rolling'})")
    for column in (
        "window",
        "test from",
        "params",
        f"IS {objective}",
        f"OOS {objective}",
        "OOS trades",
        "efficiency",
        "status",
    ):
        table.add_column(column)
    for w in result.windows:
        shown = w.status == "ok"
        trades = w.out_of_sample["trade_count"]
        table.add_row(
            str(w.index), w.times["test_start"], format_mapping(w.params),
            _number(w.objective_in), _number(w.objective_out) if shown else w.status,
            "-" if math.isnan(trades) else format_number(int(trades)), _number(w.efficiency), w.status,
        )  # fmt: skip
    summary = result.summary()
    bad = summary["insufficient_windows"]
    STATE.console.print(
        f"{'PROBLEMS - ' if bad else ''}{len(result.windows) - bad} of {len(result.windows)} "
        f"windows ranked ({bad} insufficient or faulted)",
        highlight=False,
    )
    STATE.console.print(table)
    for w in result.windows:
        if w.status != "ok":
            STATE.console.print(f"window {w.index} {w.status}: {w.reason}", highlight=False,
                                soft_wrap=True)  # fmt: skip
    STATE.console.print(
        f"OOS total return {summary['oos_total_return']:.4%}, walk-forward efficiency "
        f"{_number(result.efficiency)}, objective efficiency "
        f"{_number(result.objective_efficiency)}"
    )
    STATE.console.print(f"parameter stability: {result.stability}")
    _write_json(json_path, summary)
    if report is not None:
        path = write_report(report, f"Walk-forward {result.strategy}", walkforward=result)
        STATE.console.print(f"report written to {path}")
    if registry is not None:
        metrics = {k: v for k, v in summary.items() if k != "windows"}
        metrics["windows"] = len(result.windows)
        windows = [{"test_start": w.times.get("test_start"), "params": w.params,
                    "status": w.status} for w in result.windows]  # fmt: skip
        _record(registry, "walkforward", str(result.strategy), {"windows": windows}, metrics,
                market, started)  # fmt: skip


@run_options
def montecarlo(
    opts: RunOptions,
    strategy: Strategies,
    param: Params = None,
    method: Annotated[
        str, typer.Option("--method", help=f"One of {', '.join(METHODS)}.")
    ] = "shuffle",
    paths: Annotated[int, typer.Option("--paths", help="Simulated paths.")] = 1000,
    seed: Seed = 0,
    ruin: Annotated[
        float, typer.Option("--ruin", help="Drawdown that counts as ruin (0.5).")
    ] = 0.5,
    skip: Annotated[float, typer.Option("--skip", help="Chance to miss a trade (skip).")] = 0.1,
    block: Annotated[float | None, typer.Option("--block", help="Mean block length, bars.")] = None,
    confidence: Annotated[float, typer.Option("--confidence", help="Interval width.")] = 0.95,
) -> None:
    """Backtest once on the event engine (one strategy or several in one account), then simulate
    many alternative paths of its trades."""
    opts.check_outputs()
    check_settings(method=method, paths=paths, ruin=ruin, confidence=confidence, skip=skip)
    report, json_path, cash = opts.report, opts.json_path, opts.cash
    chosen, params = strategy_choice(strategy, param)
    risk = opts.risk()
    announce_risk(risk)
    candles = opts.candles()
    funding = stored_funding(
        candles.symbol, opts.exchange, opts.data, candles.instruments, opts.data_dir
    )
    result = run_backtest(
        chosen, {candles.symbol: candles.frame}, params, cash=cash, fee=opts.fee,
        stake=opts.stake, fill=opts.fill, timeframe=candles.timeframe,
        instruments=candles.instruments, start=opts.date_from, end=opts.date_to,
        slippage_bps=opts.slippage_bps, volatility_slippage=opts.volatility_slippage, risk=risk,
        leverage=opts.leverage, funding=funding, execution=opts.algo(),
    )  # fmt: skip
    # The backtest the paths are drawn from is a run like any other: its health comes first.
    print_health_headline(result)
    if len(result.trades) < 2:
        raise UserError(
            f"the backtest made {len(result.trades)} trades; Monte Carlo needs 2 or more"
        )
    bar_ms = int((result.equity.index[1] - result.equity.index[0]).total_seconds() * 1000)
    outcome = monte_carlo(
        result.trades, result.equity, method=method, cash=float(cash), paths=paths, seed=seed,
        skip=skip, block=block, ruin=ruin, confidence=confidence,
        annualization=periods_per_year(bar_ms),
    )  # fmt: skip
    table = Table(title=f"Monte Carlo ({method}, {paths} paths, {confidence:.0%} interval)")
    for column in ("quantity", "low", "median", "high"):
        table.add_column(column)
    for dist in (outcome.final_equity, outcome.max_drawdown, outcome.sharpe):
        key = {"sharpe": "sharpe_ratio"}.get(dist.name, dist.name)
        table.add_row(
            dist.name, *(format_metric(key, v) for v in (dist.low, dist.median, dist.high))
        )
    STATE.console.print(table)
    STATE.console.print(f"risk of ruin (drawdown >= {ruin:.0%}): {outcome.risk_of_ruin:.2%}")
    _write_json(
        json_path,
        {**outcome.summary(), "health": None if result.health is None else result.health.as_dict()},
    )
    if report is not None:
        path = write_report(report, f"Monte Carlo {', '.join(strategy)}", montecarlo=outcome)
        STATE.console.print(f"report written to {path}")


def _registry(bot: str | None, db_url: str | None) -> tuple[Any, int]:
    """The run registry when --bot/--db-url asks for one (opened before the run, so a bad
    target fails at once), and the run's start time (UTC ms)."""
    started = time.time_ns() // 1_000_000
    if bot is None and db_url is None:
        return None, started
    from tradewind.cli.run_registry import open_registry

    return open_registry(bot, db_url), started


def _record(registry: Any, kind: str, strategy: str, parameters: dict[str, Any],
            metrics: dict[str, Any], market: Market, started: int) -> None:  # fmt: skip
    from tradewind.cli.run_registry import record_search, search_record

    record = search_record(kind, strategy, parameters, metrics, market.series, started)
    STATE.console.print(f"recorded as run {record_search(registry, record)}")


def _number(value: float) -> str:
    """A figure for a table: ``n/a`` where it cannot be computed."""
    return format_number(value) if math.isfinite(value) else "n/a"


def lookahead(
    strategy: Strategies,
    symbol: Symbol = None,
    timeframe: Timeframe_ = None,
    exchange: Exchange = None,
    data: DataFile = None,
    data_dir: DataDir = None,
    param: Params = None,
    cuts: Annotated[int, typer.Option("--cuts", help="Truncated copies to compare.")] = 20,
) -> None:
    """Find indicator or signal columns that change at a past bar when future bars are added.

    Exits with code 3 when a column leaks.
    """
    name = one_strategy(strategy, "lookahead")
    instance, bars = _instance_and_bars(name, symbol, timeframe, exchange, data, data_dir, param)
    outcome = lookahead_analysis(instance, bars, cuts=cuts)
    if outcome.passed:
        STATE.console.print(f"{outcome.strategy}: no lookahead in {len(outcome.columns)} columns "
                            f"({len(outcome.cuts)} truncations)")  # fmt: skip
        return
    table = Table(title=f"{outcome.strategy}: lookahead found")
    for column in ("column", "first bar", "time", "full value", "truncated value"):
        table.add_column(column)
    for leak in outcome.leaks:
        table.add_row(leak.column, str(leak.first_bar), leak.time, format_number(leak.full_value),
                      format_number(leak.truncated_value))  # fmt: skip
    STATE.console.print(table)
    columns = ", ".join(leak.column for leak in outcome.leaks)
    raise CheckFailedError(f"{outcome.strategy}: lookahead in {columns}")


def recursive(
    strategy: Strategies,
    symbol: Symbol = None,
    timeframe: Timeframe_ = None,
    exchange: Exchange = None,
    data: DataFile = None,
    data_dir: DataDir = None,
    param: Params = None,
    tolerance: Annotated[float, typer.Option("--tolerance", help="Relative tolerance.")] = 0.01,
    starts: Annotated[int, typer.Option("--starts", help="Start offsets to compare.")] = 5,
) -> None:
    """Report how many warm-up candles each indicator needs to be stable within a tolerance.

    Exits with code 3 when the strategy's declared warm-up is shorter than an indicator needs.
    """
    name = one_strategy(strategy, "recursive")
    instance, bars = _instance_and_bars(name, symbol, timeframe, exchange, data, data_dir, param)
    outcome = recursive_analysis(instance, bars, starts=starts, tolerance=tolerance)
    table = Table(title=f"{outcome.strategy}: warm-up needed (tolerance {tolerance:g}, "
                        f"declared warm-up {outcome.declared_warmup})")  # fmt: skip
    for column in ("column", "bars needed", "worst diff after declared warm-up"):
        table.add_column(column)
    for need in outcome.needs:
        table.add_row(
            need.column, format_number(need.needed), format_number(need.worst_after_warmup)
        )
    STATE.console.print(table)
    if not outcome.passed:
        raise CheckFailedError(
            f"{outcome.strategy}: the declared warm-up ({outcome.declared_warmup} bars) is shorter "
            "than an indicator needs"
        )


def _instance_and_bars(
    strategy: str, symbol: str | None, timeframe: str | None, exchange: str | None,
    data: Path | None, data_dir: Path | None, param: list[str] | None,
) -> tuple[Any, Any]:  # fmt: skip
    candles = load_candles(symbol, timeframe, exchange, data, data_dir)
    series = prepare_market(
        candles.frame, symbol=candles.symbol, timeframe=candles.timeframe,
        instruments=candles.instruments,
    ).series  # fmt: skip
    return load_strategy(strategy)(**parse_params(param or [])), series
