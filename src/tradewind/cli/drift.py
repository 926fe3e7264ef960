"""``tradewind drift RUN_DIR``: replay a session through the backtest and list every difference."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.table import Table

from tradewind.cli.context import STATE
from tradewind.cli.outputs import write_output
from tradewind.connectors.client import create_client
from tradewind.connectors.config import ExchangeConfig
from tradewind.core.errors import UserError
from tradewind.core.strict_json import write_json
from tradewind.data.ingest import load_candles_file
from tradewind.session.drift import DriftReport, drift_report, final_bars_from_exchange
from tradewind.session.paper import SESSION_FILE

EXIT_DIFFERENCES = 3
"""Exit code when the session and the backtest differ."""


def drift(
    run_dir: Annotated[Path, typer.Argument(help="The session's run folder.")],
    offline: Annotated[
        bool,
        typer.Option(
            "--offline",
            help="Use the recording alone (its revisions applied), not the exchange's history.",
        ),
    ] = False,
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            help="The final bars from this candle file (one symbol, in the "
            "session's time) instead of the exchange's history.",
        ),
    ] = None,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Write the report as JSON here.")
    ] = None,
    latency_ms: Annotated[
        int | None,
        typer.Option(
            "--latency-ms",
            help="The order latency the replay assumes (default: the session's); orders that "
            "reached the venue later are named as the cause of the trades they made.",
        ),
    ] = None,
) -> None:
    """Replay a paper session through the backtest, trade by trade, and explain each difference.

    The final bars come from the exchange's REST history over the session's span (its final
    word on every bar), or with --offline from the recording with each revision applied. Exit 0
    with "no differences" when the two agree, 3 when they do not.
    """
    if not (run_dir / SESSION_FILE).is_file():
        raise UserError(f"{run_dir}: no {SESSION_FILE}; give the run folder of a paper session")
    settings = orjson.loads((run_dir / SESSION_FILE).read_bytes())
    final = None
    if data is not None:
        if len(settings["symbols"]) != 1:
            raise UserError("--data gives one symbol's bars; this session traded several")
        symbol = settings["symbols"][0]
        loaded = load_candles_file(data, exchange=str(settings["exchange"]), symbol=symbol,
                                   timeframe=str(settings["timeframe"]))  # fmt: skip
        final = {symbol: loaded.frame}
    elif not offline:
        final = _from_exchange(run_dir, settings)
    report = drift_report(run_dir, final, latency_ms=latency_ms)
    _print(report)
    if json_path is not None:
        write_output(json_path, "--json", lambda path: write_json(path, report.as_dict()))
    if not report.ok:
        raise typer.Exit(EXIT_DIFFERENCES)


def _from_exchange(run_dir: Path, settings: dict[str, object]) -> dict[str, object] | None:
    config = ExchangeConfig(name=str(settings["exchange"]), rest_url=settings.get("rest_url"),  # type: ignore[arg-type]
                            rate_limit=False)  # fmt: skip
    client = create_client(config)
    try:
        return dict(final_bars_from_exchange(run_dir, client))
    except Exception as error:  # the exchange is not reachable: say so, do not guess
        raise UserError(
            f"could not read the exchange's history ({type(error).__name__}: {error}); "
            "use --offline to compare with the recording alone"
        ) from None


def _print(report: DriftReport) -> None:
    console = STATE.console
    console.print(
        f"session {report.session_trades} trades, backtest replay {report.backtest_trades} "
        f"trades over {report.bars} bars",
        highlight=False,
    )
    if report.ok:
        console.print("no differences", highlight=False)
    else:
        table = Table(title=f"{len(report.differences)} differences")
        for column in ("what", "symbol", "side", "entry", "session", "backtest", "cause"):
            table.add_column(column)
        for d in report.differences:
            table.add_row(d.what, d.symbol, d.side, d.entry_time, d.session, d.backtest, d.cause)
        console.print(table)
    if report.evidence:
        console.print("in the data:", highlight=False)
        for item in report.evidence[:20]:
            console.print(f"  {item.symbol}: {item.describe()}", highlight=False, markup=False)
        if len(report.evidence) > 20:
            console.print(f"  ... and {len(report.evidence) - 20} more (--json)", highlight=False)
