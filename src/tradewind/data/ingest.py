"""Import files into the catalog: read, validate, repair on request, store with market metadata.

Data with errors is refused by default, naming the first bad row (0-based, in the file as read);
``repairs`` (``snap``, ``ffill``, ``drop``) fix what they can and list every row they changed, and
the list is kept in the stored metadata's notes. Warnings (gaps, funding events stamped a few ms off
the grid) never block an import.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from tradewind.core.errors import DataError, UserError
from tradewind.core.instrument import MarketType
from tradewind.core.timeframe import Timeframe
from tradewind.data.catalog import Catalog, SeriesKey
from tradewind.data.grid import infer_price_step
from tradewind.data.importers import (
    ColumnMapping,
    FileFormat,
    FreqtradeFile,
    detect_format,
    normalize,
    read_raw,
    scan_freqtrade_folder,
)
from tradewind.data.importers.freqtrade import parse_freqtrade_name
from tradewind.data.kinds import DataKind
from tradewind.data.meta import MarketMeta, MetaOverrides, imported_meta
from tradewind.data.repair import RepairMode, RepairResult, repair
from tradewind.data.validate import DEFAULT_EVENT_TOLERANCE_MS, ValidationReport, validate


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportOptions:
    """How to read, repair and store imported files (CLI flags of ``data import``)."""

    format: FileFormat | None = None
    mapping: ColumnMapping = field(default_factory=ColumnMapping)
    repairs: tuple[RepairMode, ...] = ()
    tolerance_ms: int = DEFAULT_EVENT_TOLERANCE_MS
    overrides: MetaOverrides = field(default_factory=MetaOverrides)
    mode: Literal["replace", "append"] = "replace"


@dataclass(frozen=True, slots=True)
class ImportResult:
    """One imported series: where it came from and went, its validation report and repairs."""

    key: SeriesKey
    source: Path
    stored: Path
    rows: int
    report: ValidationReport
    repair: RepairResult | None
    meta: MarketMeta


def read_file(
    path: Path,
    kind: DataKind,
    *,
    fmt: FileFormat | None = None,
    mapping: ColumnMapping | None = None,
) -> pd.DataFrame:
    """Read one file into a frame of ``kind`` (no validation), rows in file order.

    Raises
    ------
    UserError, DataError
        For an unknown format, a missing file, missing columns or unreadable dates.
    """
    mapping = mapping or ColumnMapping()
    fmt = fmt or detect_format(path)
    if fmt is FileFormat.FREQTRADE:
        raise UserError(f"{path} is a folder: import it as a Freqtrade folder, not a single file")
    raw = read_raw(path, fmt, kind, delimiter=mapping.delimiter)
    return normalize(raw, kind, mapping, what=str(path))


@dataclass(frozen=True, slots=True)
class PreparedFile:
    """One file read, repaired on request and validated, with its metadata: ready to store or use."""

    key: SeriesKey
    frame: pd.DataFrame
    report: ValidationReport
    repair: RepairResult | None
    meta: MarketMeta


def prepare_file(
    path: Path,
    key: SeriesKey,
    *,
    options: ImportOptions | None = None,
    market_type: MarketType | None = None,
) -> PreparedFile:
    """Read, repair (on request) and validate one file as the series ``key``; store nothing.

    The one path from a file to data: :func:`import_file` stores what this returns, and
    ``tradewind backtest --data FILE`` trades it, so the two see the same rows and metadata.

    Raises
    ------
    DataError
        If the data has errors after the requested repairs, naming the first bad row as read.
    """
    options = options or ImportOptions()
    frame = read_file(path, key.kind, fmt=options.format, mapping=options.mapping)
    timeframe = key.tf
    repaired: RepairResult | None = None
    source_rows = None
    if options.repairs:
        repaired = repair(
            frame, key.kind, timeframe, options.repairs, tolerance_ms=options.tolerance_ms
        )
        frame, source_rows = repaired.frame, repaired.source_rows
    report = validate(
        frame,
        key.kind,
        timeframe,
        event_tolerance_ms=options.tolerance_ms,
        source_rows=source_rows,
    )
    hint = "" if options.repairs else " (see --repair drop|ffill|snap)"
    report.raise_for_errors(f"{path.name} refused{hint}")
    implied = market_type or (MarketType.SWAP if ":" in key.symbol else MarketType.SPOT)
    prices = [frame[c] for c in ("open", "high", "low", "close", "price") if c in frame.columns]
    meta = imported_meta(
        symbol=key.symbol,
        exchange=key.exchange,
        source=f"imported from {path}",
        overrides=options.overrides,
        market_type=implied,
        inferred_price_step=infer_price_step(*prices) if prices else None,
    )
    if repaired is not None and repaired.actions:
        meta = meta.with_note(f"repaired on import: {repaired.summary()}")
    return PreparedFile(key, frame, report, repaired, meta)


def import_file(
    catalog: Catalog,
    path: Path,
    key: SeriesKey,
    *,
    options: ImportOptions | None = None,
    market_type: MarketType | None = None,
    force: bool = False,
) -> ImportResult:
    """Import one file as the series ``key``.

    Parameters
    ----------
    catalog
        Where to store it.
    path
        The file (CSV, parquet, feather or JSON; see :mod:`tradewind.data.importers`).
    key
        Exchange, symbol, timeframe and kind to store it as.
    options
        Format, column mapping, repairs, metadata overrides, write mode.
    market_type
        Market type implied by the file (Freqtrade ``-futures`` files: swap) when the user gave
        none; by default a symbol with a settle currency is a swap, others spot.
    force
        Store a file without rows, and allow a ``replace`` that would leave fewer rows than are
        stored (see :meth:`Catalog.write`).

    Returns
    -------
    ImportResult
        What was stored, with the validation report (warnings such as gaps) and the repairs.

    Raises
    ------
    DataError
        If the data has errors after the requested repairs, naming the first bad row as read, or
        the write would lose stored rows without ``force``.
    """
    options = options or ImportOptions()
    prepared = prepare_file(path, key, options=options, market_type=market_type)
    if prepared.frame.empty and not force and not catalog.exists(key):
        # Over a stored series the write below refuses it, saying how many rows it would lose.
        raise DataError(f"{path.name} has no rows: nothing to import (--force stores it empty)")
    stored = catalog.write(
        key, prepared.frame, meta=prepared.meta, mode=options.mode, allow_shrink=force
    )
    return ImportResult(
        key, path, stored, len(prepared.frame), prepared.report, prepared.repair, prepared.meta
    )


def load_candles_file(
    path: Path, *, exchange: str, symbol: str | None, timeframe: str | None
) -> PreparedFile:
    """Read a candle file to trade it directly, exactly as ``data import`` would store it.

    The symbol is the flag, else read from a Freqtrade file name (``ETH_BTC-5m.feather``); the
    timeframe is the flag, else the file name's, else the smallest step between timestamps.

    Raises
    ------
    UserError
        If no symbol is given and the name is not a Freqtrade name, or the file has too few rows
        to infer a timeframe; DataError for data with errors.
    """
    if not path.is_file():
        raise UserError(f"data file not found: {path}")
    parsed: FreqtradeFile | None
    try:
        parsed = parse_freqtrade_name(path)
    except UserError:
        parsed = None
    if parsed is not None and parsed.kind not in (DataKind.CANDLES, DataKind.MARK):
        parsed = None
    use_symbol = symbol or (parsed.symbol if parsed else None)
    if use_symbol is None:
        raise UserError(
            f"give --symbol for {path.name}: it is not a Freqtrade file name (PAIR-TIMEFRAME.ext, "
            "e.g. ETH_BTC-5m.feather) to read the symbol from"
        )
    use_tf = timeframe or (parsed.timeframe if parsed else None)
    market = parsed.market_type if parsed and parsed.symbol == use_symbol else None
    if use_tf is None:
        frame = read_file(path, DataKind.CANDLES)
        use_tf = _timeframe_of(frame, path)
    key = SeriesKey(exchange, use_symbol, use_tf, DataKind.CANDLES)
    prepared = prepare_file(path, key, market_type=market)
    if prepared.frame.empty:
        raise DataError(f"{path.name} has no rows")
    return prepared


def _timeframe_of(frame: pd.DataFrame, path: Path) -> str:
    """The candle length of ``frame``: its smallest step between timestamps (gaps are longer)."""
    if len(frame) < 2:
        raise UserError(
            f"give --timeframe for {path.name}: {len(frame)} row(s) are too few to infer it"
        )
    dates = pd.DatetimeIndex(frame["date"]).sort_values()
    steps = np.diff(dates.as_unit("ms").asi8)
    positive = steps[steps > 0]
    if positive.size == 0:
        raise UserError(f"give --timeframe for {path.name}: its rows all share one timestamp")
    try:
        return str(Timeframe(int(positive.min())))
    except (UserError, ValueError) as exc:
        raise UserError(f"give --timeframe for {path.name}: {exc}") from None


def key_for_file(
    path: Path,
    *,
    exchange: str,
    symbol: str | None,
    timeframe: str | None,
    kind: DataKind | None,
    symbol_required: bool = True,
) -> tuple[SeriesKey, MarketType | None]:
    """Build the series key of a single file from the flags, reading Freqtrade names for the rest.

    A Freqtrade file name (``XRP_USDT_USDT-1h-mark.feather``) gives symbol, timeframe and kind;
    flags win where given. Other files need ``--symbol`` (unless ``symbol_required`` is False, as
    when a file is only validated) and, for candle kinds, ``--timeframe``.

    Raises
    ------
    UserError
        If symbol or timeframe is neither given nor readable from the name.
    """
    parsed: FreqtradeFile | None
    try:
        parsed = parse_freqtrade_name(path)
    except UserError:
        parsed = None
    use_kind = kind or (parsed.kind if parsed else DataKind.CANDLES)
    use_symbol = symbol or (parsed.symbol if parsed else None)
    if use_symbol is None and not symbol_required:
        use_symbol = "FILE"
    if use_symbol is None:
        raise UserError(f"give --symbol for {path.name} (e.g. --symbol BTC/USDT)")
    use_tf = timeframe or (parsed.timeframe if parsed else None)
    if use_kind.has_timeframe and use_tf is None:
        raise UserError(f"give --timeframe for {path.name} (e.g. --timeframe 1m)")
    if not use_kind.has_timeframe:
        use_tf = None
    market = parsed.market_type if parsed and parsed.symbol == use_symbol else None
    return SeriesKey(exchange, use_symbol, use_tf, use_kind), market


@dataclass
class FolderImport:
    """The outcome of a folder import: imported series, refused files, skipped files."""

    imported: list[ImportResult] = field(default_factory=list)
    refused: list[tuple[FreqtradeFile, str]] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)


def import_freqtrade_folder(
    path: Path,
    catalog: Catalog,
    *,
    exchange: str | None = None,
    options: ImportOptions | None = None,
    on_file: Callable[[FreqtradeFile], None] | None = None,
    force: bool = False,
) -> FolderImport:
    """Import every Freqtrade data file under ``path`` (``user_data/data/<exchange>``).

    Pairs, timeframes and kinds come from the file names (:mod:`.importers.freqtrade`). The
    exchange is ``exchange`` when given, else the folder's name (Freqtrade names each exchange's
    folder after it). A file with errors is refused (listed with its first bad row) and the others
    are still imported.

    Parameters
    ----------
    path
        The Freqtrade data folder.
    catalog
        Where to store the series.
    exchange
        Exchange name for every series; defaults to the folder's name.
    options
        Repairs, metadata overrides and write mode for every file (format and column mapping are
        taken from each file name).
    on_file
        Called after each file, for progress bars.
    force
        Allow replacing a stored series with fewer rows (see :func:`import_file`).
    """
    options = options or ImportOptions()
    scan = scan_freqtrade_folder(path)
    name = exchange or path.resolve().name.lower()
    result = FolderImport(skipped=list(scan.skipped))
    for file in scan.files:
        key = SeriesKey(name, file.symbol, file.timeframe, file.kind)
        per_file = ImportOptions(
            format=file.format,
            repairs=options.repairs,
            tolerance_ms=options.tolerance_ms,
            overrides=options.overrides,
            mode=options.mode,
        )
        try:
            result.imported.append(
                import_file(
                    catalog,
                    file.path,
                    key,
                    options=per_file,
                    market_type=file.market_type,
                    force=force,
                )
            )
        except UserError as exc:
            result.refused.append((file, str(exc)))
        if on_file is not None:
            on_file(file)
    return result
