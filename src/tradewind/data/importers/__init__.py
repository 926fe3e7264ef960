"""Read market-data files (CSV, parquet, Freqtrade feather and JSON) into catalog frames.

:mod:`.readers` reads a file of any supported format into a raw table; :mod:`.columns` maps a raw
table to the columns of a data kind (date parsing, column renames); :mod:`.freqtrade` reads pairs,
timeframes and kinds from Freqtrade file names. :mod:`tradewind.data.ingest` puts them together
with validation, repair and the catalog.
"""

from tradewind.data.importers.columns import ColumnMapping, DateFormat, normalize, parse_columns
from tradewind.data.importers.freqtrade import (
    FreqtradeFile,
    FreqtradeScan,
    parse_freqtrade_name,
    scan_freqtrade_folder,
)
from tradewind.data.importers.readers import FileFormat, detect_format, read_raw

__all__ = [
    "ColumnMapping",
    "DateFormat",
    "FileFormat",
    "FreqtradeFile",
    "FreqtradeScan",
    "detect_format",
    "normalize",
    "parse_columns",
    "parse_freqtrade_name",
    "read_raw",
    "scan_freqtrade_folder",
]
