"""Read a market-data file into a raw table, whatever its format.

Formats: CSV (any delimiter, optionally gzip-compressed), parquet, feather (Freqtrade's default
layout) and JSON. Freqtrade's JSON layout is a list of rows without column names: candles
``[[ms, open, high, low, close, volume], ...]`` (funding-rate files put the rate in the ``open``
place) and trades ``[[ms, id, type, side, price, amount, cost], ...]``; a list of objects (records
with column names) is read as well. ``.json.gz`` files are decompressed.
"""

from __future__ import annotations

import gzip
from enum import StrEnum
from pathlib import Path

import orjson
import pandas as pd
import pyarrow as pa

from tradewind.core.errors import DataError, UserError
from tradewind.data.kinds import DataKind


class FileFormat(StrEnum):
    """A file format ``data import`` reads (``freqtrade`` means a whole Freqtrade data folder)."""

    CSV = "csv"
    PARQUET = "parquet"
    FEATHER = "feather"
    JSON = "json"
    FREQTRADE = "freqtrade"


_SUFFIXES = {
    ".csv": FileFormat.CSV,
    ".csv.gz": FileFormat.CSV,
    ".txt": FileFormat.CSV,
    ".parquet": FileFormat.PARQUET,
    ".feather": FileFormat.FEATHER,
    ".json": FileFormat.JSON,
    ".json.gz": FileFormat.JSON,
}

FREQTRADE_CANDLE_COLUMNS = ("date", "open", "high", "low", "close", "volume")
FREQTRADE_TRADE_COLUMNS = ("timestamp", "id", "type", "side", "price", "amount", "cost")


def detect_format(path: Path) -> FileFormat:
    """Tell the format from the path: a folder is a Freqtrade data folder, else the suffix.

    Raises
    ------
    UserError
        If the suffix is not one of the known ones.
    """
    if path.is_dir():
        return FileFormat.FREQTRADE
    name = path.name.lower()
    for suffix in sorted(_SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix):
            return _SUFFIXES[suffix]
    known = ", ".join(sorted(_SUFFIXES))
    raise UserError(
        f"cannot tell the format of {path.name}: use --format (known suffixes: {known})"
    )


def read_raw(path: Path, fmt: FileFormat, kind: DataKind, *, delimiter: str = ",") -> pd.DataFrame:
    """Read ``path`` into a raw DataFrame, rows in file order.

    Raises
    ------
    DataError
        If the file is missing, unreadable or not in the format, naming the file.
    """
    if not path.is_file():
        raise UserError(f"file not found: {path}")
    try:
        if fmt is FileFormat.CSV:
            return pd.read_csv(path, sep=delimiter)
        if fmt is FileFormat.PARQUET:
            return pd.read_parquet(path)
        if fmt is FileFormat.FEATHER:
            return pd.read_feather(path)
        if fmt is FileFormat.JSON:
            return _read_json(path, kind)
    except DataError:
        raise
    except (OSError, ValueError, pa.ArrowException, pd.errors.ParserError) as exc:
        raise DataError(f"cannot read {path} as {fmt.value}: {exc}") from None
    raise UserError(f"{path} is a single file; the freqtrade format reads a folder")


def _read_json(path: Path, kind: DataKind) -> pd.DataFrame:
    raw = path.read_bytes()
    if path.name.lower().endswith(".gz"):
        raw = gzip.decompress(raw)
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise DataError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(data, list):
        raise DataError(f"{path}: expected a JSON list of rows, got {type(data).__name__}")
    if not data:
        columns = FREQTRADE_TRADE_COLUMNS if kind is DataKind.TRADES else FREQTRADE_CANDLE_COLUMNS
        return pd.DataFrame(columns=list(columns))
    if isinstance(data[0], dict):
        return pd.DataFrame.from_records(data)
    columns = FREQTRADE_TRADE_COLUMNS if kind is DataKind.TRADES else FREQTRADE_CANDLE_COLUMNS
    widths = {len(row) if isinstance(row, list) else -1 for row in data}
    if widths != {len(columns)}:
        first_bad = next(
            i for i, row in enumerate(data) if not isinstance(row, list) or len(row) != len(columns)
        )
        raise DataError(
            f"{path}: row {first_bad} (0-based, as read) is not a list of {len(columns)} values "
            f"({', '.join(columns)}), the Freqtrade {kind.value} JSON layout"
        )
    # Freqtrade's JSON stores the time as epoch milliseconds; the date parser detects the unit.
    return pd.DataFrame(data, columns=list(columns))
