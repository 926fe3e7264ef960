"""Read pairs, timeframes and kinds from Freqtrade data file names, and scan a Freqtrade folder.

Freqtrade keeps each exchange's data in ``user_data/data/<exchange>/`` (futures in a ``futures/``
sub-folder) and names files ``<PAIR>-<timeframe>[-<candle type>].<ext>`` and
``<PAIR>-trades.<ext>``, with ``/``, ``:`` (and a few other characters) of the pair written as
``_``. Examples:

=====================================  =================  ====  ============  =========
file                                   symbol             tf    kind          market
=====================================  =================  ====  ============  =========
``ETH_BTC-5m.feather``                 ``ETH/BTC``        5m    candles       spot
``XRP_USDT_USDT-1h-futures.feather``   ``XRP/USDT:USDT``  1h    candles       swap
``XRP_USDT_USDT-1h-mark.feather``      ``XRP/USDT:USDT``  1h    mark          swap
``XRP_USDT_USDT-8h-funding_rate.json`` ``XRP/USDT:USDT``  8h    funding_rate  swap
``XRP_ETH-trades.feather``             ``XRP/ETH``        -     trades        spot
=====================================  =================  ====  ============  =========

Extensions: ``.feather``, ``.json``, ``.json.gz`` and ``.parquet``. Freqtrade's ``-index`` and
``-premiumIndex`` candles and calendar-month timeframes (``1M``) are listed as skipped, with the
reason, not imported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from tradewind.core.errors import UserError
from tradewind.core.instrument import MarketType
from tradewind.core.timeframe import Timeframe
from tradewind.data.catalog import filename_to_symbol
from tradewind.data.importers.readers import FileFormat
from tradewind.data.kinds import DataKind

_EXT = r"(?P<ext>\.feather|\.json\.gz|\.json|\.parquet)"
_CANDLE_NAME = re.compile(
    rf"^(?P<pair>[A-Za-z0-9_.\-]+?)-(?P<tf>\d+[A-Za-z]+)(?:-(?P<type>[A-Za-z_]+))?{_EXT}$"
)
_TRADES_NAME = re.compile(rf"^(?P<pair>[A-Za-z0-9_.\-]+?)(?:-futures)?-trades{_EXT}$")
_CANDLE_TYPES: dict[str | None, tuple[DataKind, MarketType] | None] = {
    None: (DataKind.CANDLES, MarketType.SPOT),
    "spot": (DataKind.CANDLES, MarketType.SPOT),
    "futures": (DataKind.CANDLES, MarketType.SWAP),
    "mark": (DataKind.MARK, MarketType.SWAP),
    "funding_rate": (DataKind.FUNDING, MarketType.SWAP),
    "index": None,
    "premiumIndex": None,
}
_FORMATS = {
    ".feather": FileFormat.FEATHER,
    ".json": FileFormat.JSON,
    ".json.gz": FileFormat.JSON,
    ".parquet": FileFormat.PARQUET,
}


@dataclass(frozen=True, slots=True)
class FreqtradeFile:
    """What a Freqtrade file name says: symbol, timeframe (None for trades), kind, market."""

    path: Path
    symbol: str
    timeframe: str | None
    kind: DataKind
    market_type: MarketType
    format: FileFormat


@dataclass
class FreqtradeScan:
    """The files of a Freqtrade folder that can be imported, and those skipped with the reason."""

    files: list[FreqtradeFile] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)


def parse_freqtrade_name(path: Path) -> FreqtradeFile:
    """Read symbol, timeframe, kind and market type from a Freqtrade file name.

    Raises
    ------
    UserError
        If the name does not follow Freqtrade's layout or names an unsupported candle type.
    """
    name = path.name
    trades = _TRADES_NAME.match(name)
    if trades:
        symbol = filename_to_symbol(trades["pair"])
        market = MarketType.SWAP if ":" in symbol else MarketType.SPOT
        return FreqtradeFile(path, symbol, None, DataKind.TRADES, market, _FORMATS[trades["ext"]])
    match = _CANDLE_NAME.match(name)
    if match is None:
        raise UserError(
            f"{name} is not a Freqtrade data file name (PAIR-TIMEFRAME[-TYPE].feather/json/"
            "json.gz/parquet or PAIR-trades.feather/json)"
        )
    candle_type = match["type"]
    if candle_type not in _CANDLE_TYPES:
        raise UserError(f"{name}: unknown Freqtrade candle type {candle_type!r}")
    found = _CANDLE_TYPES[candle_type]
    if found is None:
        raise UserError(f"{name}: Freqtrade {candle_type} candles are not a supported data kind")
    kind, market = found
    timeframe = str(Timeframe.parse(match["tf"]))
    symbol = filename_to_symbol(match["pair"])
    if ":" in symbol:
        market = MarketType.SWAP
    return FreqtradeFile(path, symbol, timeframe, kind, market, _FORMATS[match["ext"]])


def scan_freqtrade_folder(folder: Path) -> FreqtradeScan:
    """List the importable files under ``folder`` (recursively, ``futures/`` included).

    Files that are not Freqtrade data files are skipped with the reason. When one series exists in
    several formats (``ETH_BTC-5m.feather`` and ``ETH_BTC-5m.json``), the feather file is used and
    the others are skipped, naming it.

    Raises
    ------
    UserError
        If ``folder`` is not a folder.
    """
    if not folder.is_dir():
        raise UserError(f"not a folder: {folder}")
    scan = FreqtradeScan()
    chosen: dict[tuple[str, str | None, DataKind], FreqtradeFile] = {}
    preference = [FileFormat.FEATHER, FileFormat.PARQUET, FileFormat.JSON]
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        try:
            parsed = parse_freqtrade_name(path)
        except UserError as exc:
            scan.skipped.append((path, str(exc)))
            continue
        series = (parsed.symbol, parsed.timeframe, parsed.kind)
        held = chosen.get(series)
        if held is None:
            chosen[series] = parsed
            continue
        keep, drop = (
            (held, parsed)
            if preference.index(held.format) <= preference.index(parsed.format)
            else (parsed, held)
        )
        chosen[series] = keep
        scan.skipped.append((drop.path, f"same series as {keep.path.name}"))
    scan.files = sorted(chosen.values(), key=lambda f: (f.kind.value, f.symbol, f.timeframe or ""))
    return scan
