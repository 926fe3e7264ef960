"""``tradewind optimize | walkforward | montecarlo | lookahead | recursive``: honest validation.

Thin commands over :mod:`tradewind.optimize`; candles are found as ``tradewind backtest`` finds
them (the catalog, the bundled BTC-PERP month, or ``--data FILE``).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from tradewind.bootstrap import backtest as run_backtest
from tradewind.cli.backtest import _params, load_candles
from tradewind.cli.context import STATE
from tradewind.cli.outputs import writable_dir, writable_file, write_output
from tradewind.cli.progress import progress_bar
from tradewind.core.errors import UserError
from tradewind.core.strict_json import write_json
from tradewind.optimize.lookahead import lookahead_analysis, recursive_analysis
from tradewind.optimize.market import Market, prepare_market
from tradewind.optimize.montecarlo import METHODS, monte_carlo
from tradewind.optimize.report import write_report
from tradewind.optimize.search import SAMPLERS
from tradewind.optimize.search import optimize as run_optimize
from tradewind.optimize.walkforward import walk_forward
from tradewind.performance.returns import periods_per_year
from tradewind.strategies.registry import load_strategy

Strategy_ = Annotated[
    str, typer.Option("--strategy", "-s", help="Registered name or path/file.py:Class.")
]
Symbol = Annotated[
    str | None,
    typer.Option(
        "--symbol", help="Symbol in the catalog (default BTC-PERP, bundled) or of --data."
    ),
]
Timeframe_ = Annotated[
    str | None,
    typer.Option("--timeframe", "-t", help="Candle timeframe, e.g. 1m, 5m (default: inferred)."),
]
Exchange = Annotated[str | None, typer.Option("--exchange", help="Exchange folder in the catalog.")]
DataFile = Annotated[Path | None, typer.Option("--data", help="Read candles from this file.")]
Params = Annotated[list[str] | None, typer.Option("--param", "-p", help="Fixed parameter k=v.")]
Space = Annotated[
    list[str] | None,
    typer.Option("--space", help="Search range k=low:high[:step], k=a,b,c or k=value (fixed)."),
]
Cash = Annotated[str, typer.Option("--cash", help="Starting cash in the quote currency.")]
Stake = Annotated[str, typer.Option("--stake", help="'all', a percent like 25%, or an amount.")]
Fee = Annotated[str | None, typer.Option("--fee", help="Fee per side as a fraction (0.001).")]
Fill = Annotated[str, typer.Option("--fill", help="next_open or close.")]
AsSpot = Annotated[
    bool,
    typer.Option("--as-spot", help="Trade a perpetual's candles as spot (no leverage/funding), "
                 "so the screening kernel can run the trials."),
]  # fmt: skip
Sampler = Annotated[str, typer.Option("--sampler", help=f"One of {', '.join(SAMPLERS)}.")]
Seed = Annotated[int, typer.Option("--seed", help="Random seed.")]
Report = Annotated[Path | None, typer.Option("--report", help="Write the HTML report here.")]
JsonOut = Annotated[Path | None, typer.Option("--json", help="Write the summary as JSON here.")]


def _market(symbol: str | None, timeframe: str | None, exchange: str | None, data: Path | None, cash: str,
            stake: str, fee: str | None, fill: str, as_spot: bool) -> Market:  # fmt: skip
    candles = load_candles(symbol, timeframe, exchange, data)
    return prepare_market(
        candles.frame, symbol=candles.symbol, timeframe=candles.timeframe,
        instruments=candles.instruments, cash=cash, fee=fee,
        stake=stake, fill=fill, as_spot=as_spot,
    )  # fmt: skip


def _space(items: list[str] | None, fixed: list[str] | None) -> dict[str, str]:
    space = _params(items or [])
    space.update(_params(fixed or []))
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


def _write_json(path: Path | None, payload: dict[str, Any]) -> None:
    if path is None:
        return
    write_output(path, "--json", lambda target: write_json(target, payload))
    STATE.console.print(f"JSON written to {path}")


def optimize(
    strategy: Strategy_,
    symbol: Symbol = None,
    timeframe: Timeframe_ = None,
    exchange: Exchange = None,
    data: DataFile = None,
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
    cash: Cash = "100000",
    stake: Stake = "all",
    fee: Fee = None,
    fill: Fill = "next_open",
    as_spot: AsSpot = False,
    report: Report = None,
) -> None:
    """Search a strategy's parameters with Optuna, scored on the screening kernel in batches."""
    market = _market(symbol, timeframe, exchange, data, cash, stake, fee, fill, as_spot)
    cls = load_strategy(strategy)
    name = study_name or f"{cls.name or cls.__name__}-{market.symbol}-{sampler}".replace("/", "_")
    folder = writable_dir(run_dir or Path("runs") / "optimize" / name, "--run-dir")
    writable_file(report, "--report")
    if sampler != "grid" and trials is None:
        trials = 100
    with _warnings_shown(), progress_bar() as bar:
        task = bar.add_task(f"{sampler} {cls.name}", total=trials)

        def update(done: int, total: int, best: float | None) -> None:
            label = f"{sampler} {cls.name}" + ("" if best is None else f"  best {best:.4g}")
            bar.update(task, completed=done, total=total, description=label)

        result = run_optimize(
            cls, market, sampler=sampler, trials=trials, objectives=tuple(objective or ["sharpe"]),
            space=_space(space, param), storage=storage, study_name=name, run_dir=folder,
            seed=seed, batch=batch, top_n=top, period=period, drawdown_penalty=dd_penalty,
            progress=update,
        )  # fmt: skip
    table = Table(
        title=f"{result.strategy} {sampler}: {len(result.trials)} trials ({result.failed} failed)"
    )
    for column in ("trial", "params", *result.objectives, "trades", "engine"):
        table.add_column(column)
    for best in result.best[:10]:
        table.add_row(str(best["number"]), str(best["params"]),
                      *(f"{best['values'][o]:.6g}" for o in result.objectives),
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
    path = report or folder / "report.html"
    STATE.console.print(
        f"report written to {write_report(path, f'Study {result.study_name}', study=result)}"
    )


def walkforward(
    strategy: Strategy_,
    train: Annotated[str, typer.Option("--train", help="Train window: bars or a duration (7d).")],
    test: Annotated[str, typer.Option("--test", help="Test window: bars or a duration (2d).")],
    step: Annotated[
        str | None, typer.Option("--step", help="Step between windows (default: test).")
    ] = None,
    anchored: Annotated[bool, typer.Option("--anchored", help="Train from the first bar.")] = False,
    symbol: Symbol = None,
    timeframe: Timeframe_ = None,
    exchange: Exchange = None,
    data: DataFile = None,
    sampler: Sampler = "tpe",
    trials: Annotated[int, typer.Option("--trials", "-n", help="Trials per train window.")] = 50,
    objective: Annotated[
        str, typer.Option("--objective", help="Objective to optimise.")
    ] = "sharpe",
    space: Space = None,
    param: Params = None,
    seed: Seed = 0,
    cash: Cash = "100000",
    stake: Stake = "all",
    fee: Fee = None,
    fill: Fill = "next_open",
    as_spot: AsSpot = False,
    report: Report = None,
    json_path: JsonOut = None,
) -> None:
    """Optimise on rolling (or anchored) train windows and trade each winner out of sample."""
    writable_file(json_path, "--json")
    writable_file(report, "--report")
    market = _market(symbol, timeframe, exchange, data, cash, stake, fee, fill, as_spot)
    with _warnings_shown(), progress_bar() as bar:
        task = bar.add_task(f"walk-forward {strategy}", total=None)
        result = walk_forward(
            strategy, market, train=train, test=test, step=step, anchored=anchored,
            sampler=sampler, trials=trials, objective=objective, space=_space(space, param),
            seed=seed, progress=lambda d, t: bar.update(task, completed=d, total=t),
        )  # fmt: skip
    table = Table(title=f"Walk-forward {result.strategy} ({'anchored' if anchored else 'rolling'})")
    for column in (
        "window",
        "test from",
        "params",
        f"IS {objective}",
        f"OOS {objective}",
        "OOS trades",
    ):
        table.add_column(column)
    for w in result.windows:
        table.add_row(str(w.index), w.times["test_start"], str(w.params), f"{w.objective_in:.4g}",
                      f"{w.objective_out:.4g}", str(int(w.out_of_sample["trade_count"])))  # fmt: skip
    STATE.console.print(table)
    summary = result.summary()
    STATE.console.print(
        f"OOS total return {summary['oos_total_return']:.4%}, walk-forward efficiency "
        f"{result.efficiency:.3g}, objective efficiency {result.objective_efficiency:.3g}"
    )
    STATE.console.print(f"parameter stability: {result.stability}")
    _write_json(json_path, summary)
    if report is not None:
        path = write_report(report, f"Walk-forward {result.strategy}", walkforward=result)
        STATE.console.print(f"report written to {path}")


def montecarlo(
    strategy: Strategy_,
    symbol: Symbol = None,
    timeframe: Timeframe_ = None,
    exchange: Exchange = None,
    data: DataFile = None,
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
    cash: Cash = "100000",
    stake: Stake = "all",
    fee: Fee = None,
    fill: Fill = "next_open",
    report: Report = None,
    json_path: JsonOut = None,
) -> None:
    """Backtest once on the event engine, then simulate many alternative paths of its trades."""
    writable_file(json_path, "--json")
    writable_file(report, "--report")
    candles = load_candles(symbol, timeframe, exchange, data)
    result = run_backtest(
        strategy, {candles.symbol: candles.frame}, _params(param or []), cash=cash, fee=fee,
        stake=stake, fill=fill, timeframe=candles.timeframe, instruments=candles.instruments,
    )  # fmt: skip
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
        table.add_row(dist.name, f"{dist.low:,.6g}", f"{dist.median:,.6g}", f"{dist.high:,.6g}")
    STATE.console.print(table)
    STATE.console.print(f"risk of ruin (drawdown >= {ruin:.0%}): {outcome.risk_of_ruin:.2%}")
    _write_json(json_path, outcome.summary())
    if report is not None:
        path = write_report(report, f"Monte Carlo {strategy}", montecarlo=outcome)
        STATE.console.print(f"report written to {path}")


def lookahead(
    strategy: Strategy_,
    symbol: Symbol = None,
    timeframe: Timeframe_ = None,
    exchange: Exchange = None,
    data: DataFile = None,
    param: Params = None,
    cuts: Annotated[int, typer.Option("--cuts", help="Truncated copies to compare.")] = 20,
) -> None:
    """Find indicator or signal columns that change at a past bar when future bars are added.

    Exits with code 1 when a column leaks.
    """
    instance, bars = _instance_and_bars(strategy, symbol, timeframe, exchange, data, param)
    outcome = lookahead_analysis(instance, bars, cuts=cuts)
    if outcome.passed:
        STATE.console.print(f"{outcome.strategy}: no lookahead in {len(outcome.columns)} columns "
                            f"({len(outcome.cuts)} truncations)")  # fmt: skip
        return
    table = Table(title=f"{outcome.strategy}: lookahead found")
    for column in ("column", "first bar", "time", "full value", "truncated value"):
        table.add_column(column)
    for leak in outcome.leaks:
        table.add_row(leak.column, str(leak.first_bar), leak.time, f"{leak.full_value:.6g}",
                      f"{leak.truncated_value:.6g}")  # fmt: skip
    STATE.console.print(table)
    raise typer.Exit(1)


def recursive(
    strategy: Strategy_,
    symbol: Symbol = None,
    timeframe: Timeframe_ = None,
    exchange: Exchange = None,
    data: DataFile = None,
    param: Params = None,
    tolerance: Annotated[float, typer.Option("--tolerance", help="Relative tolerance.")] = 0.01,
    starts: Annotated[int, typer.Option("--starts", help="Start offsets to compare.")] = 5,
) -> None:
    """Report how many warm-up candles each indicator needs to be stable within a tolerance.

    Exits with code 1 when the strategy's declared warm-up is shorter than an indicator needs.
    """
    instance, bars = _instance_and_bars(strategy, symbol, timeframe, exchange, data, param)
    outcome = recursive_analysis(instance, bars, starts=starts, tolerance=tolerance)
    table = Table(title=f"{outcome.strategy}: warm-up needed (tolerance {tolerance:g}, "
                        f"declared warm-up {outcome.declared_warmup})")  # fmt: skip
    for column in ("column", "bars needed", "worst diff after declared warm-up"):
        table.add_column(column)
    for need in outcome.needs:
        table.add_row(need.column, str(need.needed), f"{need.worst_after_warmup:.3g}")
    STATE.console.print(table)
    if not outcome.passed:
        STATE.console.print("the declared warm-up is shorter than an indicator needs")
        raise typer.Exit(1)


def _instance_and_bars(
    strategy: str, symbol: str | None, timeframe: str | None, exchange: str | None,
    data: Path | None,
    param: list[str] | None,
) -> tuple[Any, Any]:  # fmt: skip
    market = _market(symbol, timeframe, exchange, data, "100000", "all", None, "next_open", False)
    return load_strategy(strategy)(**_params(param or [])), market.series
