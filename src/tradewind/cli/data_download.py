"""``tradewind data download``: fetch exchange history into the catalog through ccxt.

Registered by :mod:`tradewind.cli.data`. Resumes a stored series after its last row, shows a
progress bar over the time range, and ends with a table of what was added. A bad symbol or
rejected credentials exit with code 2 and one line; an exchange that keeps failing after every
retry exits with code 1 and one line saying how much was kept (run the command again to resume).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.table import Table

from tradewind.cli.context import STATE
from tradewind.cli.outputs import writable_dir
from tradewind.cli.progress import progress_bar
from tradewind.connectors.errors import RetriesExhaustedError
from tradewind.core.errors import UserError
from tradewind.data.catalog import Catalog
from tradewind.data.download import DownloadProgress, DownloadSummary
from tradewind.data.download import download as download_series
from tradewind.data.kinds import DataKind, parse_kind

_KINDS = (DataKind.CANDLES, DataKind.MARK, DataKind.FUNDING, DataKind.TRADES)


def download(
    symbol: Annotated[
        str, typer.Option("--symbol", help="ccxt symbol, e.g. BTC/USDT or XRP/USDT:USDT.")
    ],
    since: Annotated[
        str,
        typer.Option("--since", help="Start (UTC): 2024-01-31, 2024-01-31T12:00 or epoch ms."),
    ],
    timeframe: Annotated[
        str | None,
        typer.Option(
            "--timeframe",
            "-t",
            help="Candle timeframe (1m, 1h...); funding interval for funding_rate (default 8h); "
            "none for trades.",
        ),
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="End (UTC, exclusive); default: now.")
    ] = None,
    kind: Annotated[
        str, typer.Option("--kind", "-k", help="candles, mark, funding_rate or trades.")
    ] = "candles",
    exchange: Annotated[
        str | None,
        typer.Option("--exchange", "-e", help="ccxt exchange id (default: exchange.name)."),
    ] = None,
    rest_url: Annotated[
        str | None,
        typer.Option(
            "--rest-url", help="Send REST requests to this server instead (exchange.rest_url)."
        ),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="Catalog folder (default: data.dir from config)."),
    ] = None,
) -> None:
    """Download candles, mark-price candles, funding rates or trades from an exchange.

    A stored series is resumed after its last row. Pages are validated as they arrive and
    kept even when the download is interrupted.
    """
    data_kind = parse_kind(kind)
    if data_kind not in _KINDS:
        raise UserError(f"--kind must be one of {', '.join(k.value for k in _KINDS)}")
    overrides: dict[str, object] = {}
    if exchange is not None:
        overrides["exchange.name"] = exchange.lower()
    if rest_url is not None:
        overrides["exchange.rest_url"] = rest_url
    cfg = STATE.config(**overrides) if overrides else STATE.config()
    # The catalog must take the candles: refused before the download, not after it.
    folder = Path(data_dir if data_dir is not None else cfg.data.dir)
    catalog = Catalog(writable_dir(folder, "--data-dir"))
    start, end = _date(since, "--since"), _date(until, "--until") if until else None
    with progress_bar() as bar:
        task = bar.add_task(f"{cfg.exchange.name} {symbol} {data_kind.value}", total=None)

        def advance(state: DownloadProgress) -> None:
            # The bar counts per cent of the time range covered, not rows: the row total is
            # unknown until the exchange has answered the last page.
            span = max(state.end_ms - state.start_ms, 1)
            done = min(max(state.reached_ms - state.start_ms, 0), span)
            bar.update(
                task,
                total=100,
                completed=int(100 * done / span),
                description=f"{symbol} {data_kind.value}: {state.rows:,} rows",
            )

        try:
            summary = download_series(
                catalog,
                cfg.exchange,
                symbol,
                timeframe,
                data_kind,
                start,
                end,
                progress=advance,
            )
        except RetriesExhaustedError as exc:
            bar.stop()
            STATE.err_console.print(
                f"[red]error:[/red] {exc}. Rows stored so far are kept; run the same command "
                "again to resume.",
                highlight=False,
                soft_wrap=True,
            )
            raise typer.Exit(1) from None
        bar.update(task, total=100, completed=100)
    STATE.console.print(_table(summary))
    STATE.console.print(f"stored in {catalog.path(summary.key)}", highlight=False)


def _date(text: str, flag: str) -> pd.Timestamp:
    value = text.strip()
    epoch_ms = value.isdigit()
    try:
        stamp = pd.Timestamp(int(value) if epoch_ms else value, unit="ms" if epoch_ms else None)
    except (ValueError, OverflowError):
        raise UserError(
            f"{flag}: cannot read {text!r} as a date; use 2024-01-31, 2024-01-31T12:00 or epoch ms"
        ) from None
    if stamp is pd.NaT:
        raise UserError(f"{flag}: {text!r} is not a date")
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    # pandas reads odd text as far-off dates ("1,5" is 5 January of year 1), which no exchange
    # has and which overflowed the millisecond conversion.
    if not _FIRST <= stamp <= _LAST:
        raise UserError(f"{flag}: {text!r} reads as {stamp.date()}, outside 1970 to 2262")
    return stamp


_FIRST = pd.Timestamp(0, unit="ms", tz="UTC")
_LAST = pd.Timestamp.max.tz_localize("UTC")


def _table(summary: DownloadSummary) -> Table:
    table = Table(title=f"Downloaded {summary.key}")
    table.add_column("field")
    table.add_column("value", justify="right")
    resumed = "-" if summary.resumed_from is None else _stamp(summary.resumed_from)
    rows = [
        ("rows added", f"{summary.rows_added:,}"),
        ("first added", _stamp(summary.first)),
        ("last added", _stamp(summary.last)),
        ("resumed after", resumed),
        ("rows stored", f"{summary.total_rows:,}"),
        ("pages", str(summary.pages)),
        ("retries", f"{summary.retries} ({summary.waited_s:.1f} s waited)"),
    ]
    if summary.key.kind.has_timeframe:
        rows.append(("gaps", str(summary.gaps)))
    for name, value in rows:
        table.add_row(name, value)
    return table


def _stamp(stamp: pd.Timestamp | None) -> str:
    return "-" if stamp is None else str(stamp).replace("+00:00", "")
