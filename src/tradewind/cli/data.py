"""``tradewind data``: import, download, list, show, validate and resample market data.

Thin commands over :mod:`tradewind.data`; every result is a rich table, every user mistake a
one-line :class:`~tradewind.core.errors.UserError` (exit code 2).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import pandas as pd
import typer
from rich import box
from rich.table import Table

from tradewind.cli.context import STATE
from tradewind.cli.data_download import download
from tradewind.cli.exits import CheckFailedError
from tradewind.cli.inputs import catalog_folder
from tradewind.cli.progress import progress_bar
from tradewind.core.errors import DataError, UserError
from tradewind.core.instrument import FeeSide, MarketType
from tradewind.core.money import to_decimal
from tradewind.core.timeframe import Timeframe
from tradewind.data.catalog import Catalog, SeriesKey
from tradewind.data.importers import (
    ColumnMapping,
    FileFormat,
    detect_format,
    parse_columns,
    scan_freqtrade_folder,
)
from tradewind.data.ingest import (
    FolderImport,
    ImportOptions,
    ImportResult,
    import_file,
    import_freqtrade_folder,
    key_for_file,
    read_file,
)
from tradewind.data.kinds import DataKind, parse_kind
from tradewind.data.meta import MetaOverrides, VolumeUnit
from tradewind.data.repair import RepairMode
from tradewind.data.resample import resample as resample_frame
from tradewind.data.validate import (
    DEFAULT_EVENT_TOLERANCE_MS,
    Severity,
    ValidationReport,
    validate,
)
from tradewind.reporting.numbers import format_exact

app = typer.Typer(
    help="Import, download, inspect, validate and resample market data.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)
app.command("download")(download)

_MAX_LISTED = 200

# Options shared by several commands.
SymbolOpt = Annotated[
    str | None, typer.Option("--symbol", help="ccxt symbol, e.g. BTC/USDT or XRP/USDT:USDT.")
]
TimeframeOpt = Annotated[
    str | None, typer.Option("--timeframe", "-t", help="Candle timeframe, e.g. 1m, 5m, 1h.")
]
ExchangeOpt = Annotated[
    str | None,
    typer.Option("--exchange", "-e", help="Exchange name (default: data.default_exchange)."),
]
KindOpt = Annotated[
    str | None,
    typer.Option("--kind", "-k", help="candles, mark, funding_rate, trades or book_deltas."),
]
DataDirOpt = Annotated[
    Path | None, typer.Option("--data-dir", help="Catalog folder (default: data.dir from config).")
]
ToleranceOpt = Annotated[
    int,
    typer.Option(
        "--tolerance-ms",
        help="How far off the grid (ms) a funding event may be stamped, and snap may move a date.",
    ),
]


def _catalog(data_dir: Path | None, *, writes: bool = False) -> Catalog:
    if data_dir is not None:
        return Catalog(catalog_folder(data_dir, must_exist=not writes))
    return Catalog(STATE.config().data.dir)


def _exchange(exchange: str | None) -> str:
    return (exchange or STATE.config().data.default_exchange).lower()


def _stored_key(
    symbol: str | None, timeframe: str | None, exchange: str | None, kind: str | None
) -> SeriesKey:
    if not symbol:
        raise UserError("give --symbol (see `tradewind data list` for what is stored)")
    data_kind = parse_kind(kind) if kind else DataKind.CANDLES
    if data_kind.has_timeframe and not timeframe:
        raise UserError(f"give --timeframe for {data_kind.value} (e.g. --timeframe 1m)")
    return SeriesKey(
        _exchange(exchange), symbol, timeframe if data_kind.has_timeframe else None, data_kind
    )


def _decimal(value: str | None, flag: str) -> Decimal | None:
    if value is None:
        return None
    try:
        number = to_decimal(value)
    except ValueError:
        raise UserError(f"{flag} must be a number, got {value!r}") from None
    if number < 0:
        raise UserError(f"{flag} must not be negative, got {value}")
    return number


@app.command("import")
def import_(
    path: Annotated[Path, typer.Argument(help="A file, or a Freqtrade data folder.")],
    symbol: SymbolOpt = None,
    timeframe: TimeframeOpt = None,
    exchange: ExchangeOpt = None,
    kind: KindOpt = None,
    fmt: Annotated[
        FileFormat | None,
        typer.Option(
            "--format", "-f", help="File format (default: from the suffix; a folder is freqtrade)."
        ),
    ] = None,
    repair: Annotated[
        list[RepairMode] | None,
        typer.Option(
            "--repair", help="Repair instead of refusing: drop, ffill, snap (repeatable)."
        ),
    ] = None,
    tolerance_ms: ToleranceOpt = DEFAULT_EVENT_TOLERANCE_MS,
    date_column: Annotated[
        str | None, typer.Option("--date-column", help="Column holding the date (default: auto).")
    ] = None,
    columns: Annotated[
        str | None, typer.Option("--columns", help="Renames old=new,... e.g. ts=date,vol=volume.")
    ] = None,
    date_format: Annotated[
        str,
        typer.Option(
            "--date-format",
            help="auto, epoch-s, epoch-ms, epoch-us, epoch-ns, or a strftime pattern.",
        ),
    ] = "auto",
    delimiter: Annotated[str, typer.Option("--delimiter", help="CSV field delimiter.")] = ",",
    price_step: Annotated[
        str | None, typer.Option("--price-step", help="Tick size (default: inferred from prices).")
    ] = None,
    amount_step: Annotated[
        str | None, typer.Option("--amount-step", help="Lot step (default 0.00000001).")
    ] = None,
    maker_fee: Annotated[
        str | None,
        typer.Option("--maker-fee", help="Maker fee fraction (default 0.001 spot, 0.0002 swap)."),
    ] = None,
    taker_fee: Annotated[
        str | None,
        typer.Option("--taker-fee", help="Taker fee fraction (default 0.001 spot, 0.0005 swap)."),
    ] = None,
    fee_side: Annotated[
        FeeSide | None,
        typer.Option("--fee-side", help="Fee currency rule (default get spot, quote swap)."),
    ] = None,
    volume_unit: Annotated[
        VolumeUnit | None, typer.Option("--volume-unit", help="What volume counts (default base).")
    ] = None,
    market_type: Annotated[
        MarketType | None,
        typer.Option("--market-type", help="spot or swap (default: from the name)."),
    ] = None,
    mode: Annotated[
        str, typer.Option("--mode", help="replace the stored series, or append (merge by date).")
    ] = "replace",
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Let --mode replace store fewer rows than the stored series has."
        ),
    ] = False,
    data_dir: DataDirOpt = None,
) -> None:
    """Import a CSV, parquet, feather or JSON file, or a whole Freqtrade data folder.

    Data with errors is refused, naming the first bad row (0-based, as read); --repair fixes what
    it can and lists every row it changed. Gaps are reported, never filled in the store. A
    replace that would leave fewer rows than are stored (an empty or truncated file) is refused
    unless --force is given.
    """
    if mode not in ("replace", "append"):
        raise UserError(f"--mode must be replace or append, got {mode!r}")
    write_mode: Literal["replace", "append"] = "append" if mode == "append" else "replace"
    if tolerance_ms < 0:
        raise UserError("--tolerance-ms must not be negative")
    overrides = MetaOverrides(
        price_step=_decimal(price_step, "--price-step"),
        amount_step=_decimal(amount_step, "--amount-step"),
        maker_fee=_decimal(maker_fee, "--maker-fee"),
        taker_fee=_decimal(taker_fee, "--taker-fee"),
        fee_side=fee_side,
        volume_unit=volume_unit,
        market_type=market_type,
    )
    for name, step in (
        ("--price-step", overrides.price_step),
        ("--amount-step", overrides.amount_step),
    ):
        if step is not None and step == 0:
            raise UserError(f"{name} must be positive")
    options = ImportOptions(
        format=fmt,
        mapping=ColumnMapping(
            date_column=date_column,
            columns=parse_columns(columns),
            date_format=date_format,
            delimiter=delimiter,
        ),
        repairs=tuple(repair or ()),
        tolerance_ms=tolerance_ms,
        overrides=overrides,
        mode=write_mode,
    )
    catalog = _catalog(data_dir, writes=True)
    if not path.exists():
        raise UserError(f"not found: {path}")
    use_format = fmt or detect_format(path)
    if use_format is FileFormat.FREQTRADE:
        if symbol or timeframe or kind:
            raise UserError(
                "a Freqtrade folder import reads symbols, timeframes and kinds from the file "
                "names; drop --symbol, --timeframe and --kind"
            )
        _import_folder(path, catalog, exchange, options, force)
        return
    key, implied = key_for_file(
        path,
        exchange=_exchange(exchange),
        symbol=symbol,
        timeframe=timeframe,
        kind=parse_kind(kind) if kind else None,
    )
    result = import_file(catalog, path, key, options=options, market_type=implied, force=force)
    table = _results_table("Imported")
    _add_result(table, result)
    STATE.console.print(table)
    _print_repairs(result)
    STATE.console.print(f"stored in {result.stored}")


def _import_folder(
    path: Path, catalog: Catalog, exchange: str | None, options: ImportOptions, force: bool
) -> None:
    total = len(scan_freqtrade_folder(path).files)
    if total == 0:
        raise UserError(f"no Freqtrade data files found in {path}")
    with progress_bar() as progress:
        task = progress.add_task(f"importing {path.name}", total=total)
        outcome: FolderImport = import_freqtrade_folder(
            path,
            catalog,
            exchange=exchange.lower() if exchange else None,
            options=options,
            on_file=lambda _file: progress.advance(task),
            force=force,
        )
    table = _results_table(f"Imported from {path}")
    for result in outcome.imported:
        _add_result(table, result)
    for file, _message in outcome.refused:
        table.add_row(
            file.path.name,
            file.symbol,
            file.kind.value,
            file.timeframe or "-",
            "-",
            "-",
            "-",
            "-",
            "[red]refused[/red]",
        )
    STATE.console.print(table)
    for result in outcome.imported:
        _print_repairs(result)
    if outcome.skipped:
        STATE.console.print(f"skipped {len(outcome.skipped)} file(s):")
        for skipped, why in outcome.skipped:
            STATE.console.print(f"  {skipped.name}: {why}", markup=False, highlight=False)
    STATE.console.print(f"{len(outcome.imported)} series stored in {catalog.root}")
    if outcome.refused:
        file, message = outcome.refused[0]
        raise DataError(f"{len(outcome.refused)} of {total} file(s) refused; first: {message}")


def _results_table(title: str) -> Table:
    table = Table(title=title)
    for column in ("source", "symbol", "kind", "tf", "rows", "first", "last", "gaps", "status"):
        table.add_column(column, justify="right" if column in ("rows", "gaps") else "left")
    return table


def _add_result(table: Table, result: ImportResult) -> None:
    report = result.report
    notes = []
    if result.repair is not None and result.repair.actions:
        notes.append(result.repair.summary())
    warnings = {c: n for c, n in report.counts().items() if c not in ("gap",)}
    notes.extend(f"{n} {code}" for code, n in warnings.items())
    table.add_row(
        result.source.name,
        result.key.symbol,
        result.key.kind.value,
        result.key.timeframe or "-",
        f"{result.rows:,}",
        _fmt_stamp(report.first),
        _fmt_stamp(report.last),
        str(report.gap_count) if result.key.kind.has_timeframe else "-",
        "ok" + (f" ({'; '.join(notes)})" if notes else ""),
    )


def _fmt_stamp(stamp: object) -> str:
    """``2018-01-10 04:55`` (seconds and milliseconds only when there are any)."""
    if stamp is None:
        return "-"
    moment = pd.Timestamp(stamp)
    if moment.microsecond:
        return moment.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    return moment.strftime("%Y-%m-%d %H:%M:%S" if moment.second else "%Y-%m-%d %H:%M")


def _print_repairs(result: ImportResult) -> None:
    if result.repair is None or not result.repair.actions:
        return
    actions = result.repair.actions
    STATE.console.print(f"{result.key}: {result.repair.summary()}", markup=False, highlight=False)
    for action in actions[:_MAX_LISTED]:
        STATE.console.print(f"  {action}", markup=False, highlight=False)
    if len(actions) > _MAX_LISTED:
        STATE.console.print(f"  ... and {len(actions) - _MAX_LISTED} more")


@app.command("list")
def list_(
    exchange: Annotated[
        str | None, typer.Option("--exchange", "-e", help="Only this exchange.")
    ] = None,
    data_dir: DataDirOpt = None,
) -> None:
    """List stored series: exchange, symbol, kind, timeframe, rows, first and last date, gaps."""
    catalog = _catalog(data_dir)
    stored = catalog.keys()
    keys = [k for k in stored if exchange is None or k.exchange == exchange.lower()]
    if not keys:
        STATE.console.print(f"no series stored in {catalog.root}")
        return
    table = Table(title=f"Catalog {catalog.root}")
    for column in ("exchange", "symbol", "kind", "timeframe", "rows", "first", "last", "gaps"):
        table.add_column(column, justify="right" if column in ("rows", "gaps") else "left")
    for key in keys:
        frame = catalog.read(key)
        report = validate(frame, key.kind, key.tf)
        table.add_row(
            key.exchange,
            key.symbol,
            key.kind.value,
            key.timeframe or "-",
            f"{len(frame):,}",
            _fmt_stamp(report.first),
            _fmt_stamp(report.last),
            str(report.gap_count) if key.kind.has_timeframe else "-",
        )
    STATE.console.print(table)


@app.command("show")
def show(
    symbol: SymbolOpt = None,
    timeframe: TimeframeOpt = None,
    exchange: ExchangeOpt = None,
    kind: KindOpt = None,
    rows: Annotated[int, typer.Option("--rows", "-n", help="Rows to show from each end.")] = 5,
    data_dir: DataDirOpt = None,
) -> None:
    """Show the first and last rows of a stored series and its market metadata."""
    if rows < 0:
        raise UserError("--rows must not be negative")
    catalog = _catalog(data_dir)
    key = _stored_key(symbol, timeframe, exchange, kind)
    frame = catalog.read(key)
    STATE.console.print(f"[bold]{key}[/bold]: {len(frame):,} rows")
    n = len(frame)
    positions = list(range(min(rows, n)))
    tail = [i for i in range(max(n - rows, 0), n) if i not in positions]
    cells: list[list[str]] = []
    for i in positions + tail:
        if tail and i == tail[0] and tail[0] > len(positions):
            cells.append(["...", *["" for _ in frame.columns]])
        values = frame.iloc[i]
        cells.append([str(i), *[_cell(values[c]) for c in frame.columns]])
    # A light frame, and every number at its full width: a narrow terminal may fold the date,
    # never cut a stored price's last digits to "…".
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 0))
    table.add_column("row", justify="right", no_wrap=True)
    for k, column in enumerate(frame.columns, start=1):
        text = column in ("date", "side", "id")
        widest = max([len(str(column)), *(len(row[k]) for row in cells)])
        table.add_column(str(column), justify="left" if text else "right",
                         overflow="fold", min_width=10 if text else widest,
                         no_wrap=not text)  # fmt: skip
    for row in cells:
        table.add_row(*row)
    STATE.console.print(table)
    meta_table = Table(title="market metadata", show_header=False)
    meta_table.add_column("field")
    meta_table.add_column("value")
    if catalog.meta_path(key).is_file():
        meta = catalog.meta(key).to_dict()
        for name, value in meta["instrument"].items():
            if name == "margin_brackets" and value:
                meta_table.add_row(name, _brackets_text(value))
            elif value not in (None, ""):
                meta_table.add_row(name, str(value))
        meta_table.add_row("volume_unit", meta["volume_unit"])
        meta_table.add_row("source", meta["source"])
        meta_table.add_row("defaulted", ", ".join(meta["defaulted"]) or "-")
        for note in meta["notes"]:
            meta_table.add_row("note", note)
    else:
        meta_table.add_row("metadata", "none stored")
    STATE.console.print(meta_table)


def _cell(value: object) -> str:
    if hasattr(value, "strftime"):
        return _fmt_stamp(value)
    if isinstance(value, float | np.floating):
        return format_exact(value)
    return str(value)


@app.command("validate")
def validate_cmd(
    path: Annotated[
        Path | None, typer.Argument(help="A file to check; omit to check a stored series.")
    ] = None,
    symbol: SymbolOpt = None,
    timeframe: TimeframeOpt = None,
    exchange: ExchangeOpt = None,
    kind: KindOpt = None,
    fmt: Annotated[FileFormat | None, typer.Option("--format", "-f", help="File format.")] = None,
    date_column: Annotated[
        str | None, typer.Option("--date-column", help="Date column of the file.")
    ] = None,
    columns: Annotated[str | None, typer.Option("--columns", help="Renames old=new,...")] = None,
    date_format: Annotated[
        str, typer.Option("--date-format", help="auto, epoch-ms, ... or strftime.")
    ] = "auto",
    delimiter: Annotated[str, typer.Option("--delimiter", help="CSV field delimiter.")] = ",",
    tolerance_ms: ToleranceOpt = DEFAULT_EVENT_TOLERANCE_MS,
    limit: Annotated[int, typer.Option("--limit", help="Most problems to list.")] = 50,
    data_dir: DataDirOpt = None,
) -> None:
    """Check a file or a stored series; list errors and gaps. Exit code 3 when there are errors."""
    if path is not None:
        key, _ = key_for_file(
            path,
            exchange=_exchange(exchange),
            symbol=symbol,
            timeframe=timeframe,
            kind=parse_kind(kind) if kind else None,
            symbol_required=False,
        )
        mapping = ColumnMapping(
            date_column=date_column,
            columns=parse_columns(columns),
            date_format=date_format,
            delimiter=delimiter,
        )
        frame = read_file(path, key.kind, fmt=fmt, mapping=mapping)
        what = path.name
    else:
        key = _stored_key(symbol, timeframe, exchange, kind)
        frame = _catalog(data_dir).read(key)
        what = str(key)
    report = validate(frame, key.kind, key.tf, event_tolerance_ms=tolerance_ms)
    _print_report(report, what, limit)
    if report.rows == 0:
        raise CheckFailedError(f"{what}: no rows")
    try:
        report.raise_for_errors(what)
    except DataError as exc:
        # The check ran and found errors: exit 3, not the exit 2 of a command used wrongly.
        raise CheckFailedError(str(exc)) from None


def _print_report(report: ValidationReport, what: str, limit: int) -> None:
    summary = Table(title=f"Validation of {what}", show_header=False)
    summary.add_column("")
    summary.add_column("")
    summary.add_row("kind", report.kind.value)
    summary.add_row("timeframe", str(report.timeframe) if report.timeframe else "-")
    summary.add_row("rows", f"{report.rows:,}")
    summary.add_row("first", _fmt_stamp(report.first))
    summary.add_row("last", _fmt_stamp(report.last))
    summary.add_row("errors", str(report.error_count))
    summary.add_row("gaps", f"{report.gap_count} ({report.missing_candles} missing candles)")
    for code, count in report.counts().items():
        summary.add_row(f"  {code}", str(count))
    STATE.console.print(summary)
    problems = report.problems(limit=max(limit, 0))
    if not problems:
        return
    table = Table(title="Problems (rows are 0-based, in the file as read)")
    for column in ("severity", "code", "row", "date", "message"):
        table.add_column(column)
    for problem in problems:
        colour = "red" if problem.severity is Severity.ERROR else "yellow"
        table.add_row(
            f"[{colour}]{problem.severity.value}[/{colour}]",
            problem.code,
            str(problem.row),
            _fmt_stamp(problem.timestamp),
            problem.message.split(": ", 1)[-1],
        )
    STATE.console.print(table)
    total = report.error_count + report.warning_count
    if total > len(problems):
        STATE.console.print(f"... {total - len(problems)} more (raise --limit to see them)")


@app.command("resample")
def resample(
    to: Annotated[str, typer.Option("--to", help="Target timeframe, a multiple of the source's.")],
    symbol: SymbolOpt = None,
    timeframe: TimeframeOpt = None,
    exchange: ExchangeOpt = None,
    kind: Annotated[str, typer.Option("--kind", "-k", help="candles or mark.")] = "candles",
    data_dir: DataDirOpt = None,
) -> None:
    """Resample a stored candle series to a longer timeframe and store it (closed candles only)."""
    try:
        target_tf = Timeframe.parse(to)
    except UserError as exc:
        raise UserError(f"--to: {exc}") from None
    catalog = _catalog(data_dir)
    key = _stored_key(symbol, timeframe, exchange, kind)
    if not key.kind.is_candles:
        raise UserError(f"resample works on candles and mark candles, not {key.kind.value}")
    source_tf = Timeframe.parse(key.timeframe or "")
    frame = catalog.read(key)
    validate(frame, key.kind, source_tf).raise_for_errors(str(key))
    result = resample_frame(frame, target_tf, source_tf)
    target = SeriesKey(key.exchange, key.symbol, str(target_tf), key.kind)
    meta = catalog.meta(key) if catalog.meta_path(key).is_file() else None
    if meta is not None:
        meta = meta.with_note(f"resampled from {source_tf} (closed candles only)")
    # The target is derived data, recomputed from the source: a shorter result replaces it.
    path = catalog.write(target, result, meta=meta, allow_shrink=True)
    report = validate(result, key.kind, target_tf)
    table = Table(title="Resampled")
    for column in ("from", "to", "rows in", "rows out", "first", "last", "gaps"):
        table.add_column(column)
    table.add_row(
        str(key),
        str(target),
        f"{len(frame):,}",
        f"{len(result):,}",
        _fmt_stamp(report.first),
        _fmt_stamp(report.last),
        str(report.gap_count),
    )
    STATE.console.print(table)
    STATE.console.print(f"stored in {path}")


def _brackets_text(rows: list[list[str]]) -> str:
    """Maintenance-margin tiers as a trader reads them: each notional cap with its rate."""
    parts = []
    for cap, rate, _amount in rows:
        limit = "above" if cap in (None, "", "inf", "Infinity") else f"to {float(cap):,.0f}"
        parts.append(f"{limit} {float(rate) * 100:g}%")
    return f"{len(rows)} tiers: " + "; ".join(parts)
