"""The market-data catalog: one parquet file per series, with its market metadata beside it.

Layout
------
::

    <root>/<exchange>/<kind>/<SYMBOL_WITH_UNDERSCORES>-<timeframe>.parquet
    <root>/<exchange>/<kind>/<SYMBOL_WITH_UNDERSCORES>-<timeframe>.meta.json

for example ``user_data/data/binance/candles/BTC_USDT-1m.parquet`` and
``user_data/data/binance/funding_rate/XRP_USDT_USDT-8h.parquet``. Kinds without a timeframe
(trades, book deltas) drop the ``-<timeframe>`` part: ``binance/trades/XRP_ETH.parquet``.

The symbol is written as Freqtrade writes pair names: ``/`` and ``:`` become ``_``
(``BTC/USDT`` -> ``BTC_USDT``, ``XRP/USDT:USDT`` -> ``XRP_USDT_USDT``). It is read back by the
number of underscores (one: ``BASE/QUOTE``, two: ``BASE/QUOTE:SETTLE``, none: the name as is, such
as ``BTC-PERP``). A symbol that would not survive that round trip (one with ``_`` of its own, a
path separator, or a leading dot) is refused when its key is made, so every stored file name maps
back to exactly one symbol.

Files are parquet with zstd compression, sorted by ``date`` (see :mod:`tradewind.data.schema` for
columns). Writes go to a temporary file that replaces the old one, so a crash never leaves half a
series. The metadata file is optional for :meth:`Catalog.write` but needed by :meth:`Catalog.meta`.
"""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from tradewind.core.errors import DataError, UserError
from tradewind.core.timeframe import Timeframe
from tradewind.data.kinds import DATE, DataKind
from tradewind.data.meta import MarketMeta
from tradewind.data.schema import conform, date_ms, empty_frame

# Bounded: the names become folder and file names, which the file system caps (255 bytes).
_SAFE_SYMBOL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.\-/:]{0,99}$")
_SAFE_EXCHANGE = re.compile(r"^[a-z0-9][a-z0-9_.\-]{0,63}$")


def symbol_to_filename(symbol: str) -> str:
    """``BTC/USDT:USDT`` -> ``BTC_USDT_USDT`` (the Freqtrade convention)."""
    return symbol.replace("/", "_").replace(":", "_")


def filename_to_symbol(name: str) -> str:
    """Invert :func:`symbol_to_filename`: ``XRP_USDT_USDT`` -> ``XRP/USDT:USDT``.

    Raises
    ------
    UserError
        If the name has more than two underscores (no ccxt symbol maps to it).
    """
    parts = name.split("_")
    if len(parts) == 1:
        return name
    if len(parts) == 2:
        return f"{parts[0]}/{parts[1]}"
    if len(parts) == 3:
        return f"{parts[0]}/{parts[1]}:{parts[2]}"
    raise UserError(f"cannot read a symbol from {name!r}: expected BASE_QUOTE or BASE_QUOTE_SETTLE")


@dataclass(frozen=True, slots=True)
class SeriesKey:
    """Names one stored series: exchange, ccxt symbol, timeframe (None for trades) and kind."""

    exchange: str
    symbol: str
    timeframe: str | None
    kind: DataKind

    def __post_init__(self) -> None:
        if not _SAFE_EXCHANGE.match(self.exchange):
            raise UserError(
                f"invalid exchange name {self.exchange!r}: use lowercase letters, digits, '_', '-' (at most 64)"
            )
        if not _SAFE_SYMBOL.match(self.symbol) or _roundtrip(self.symbol) != self.symbol:
            raise UserError(
                f"symbol {self.symbol!r} cannot be stored: use ccxt form BASE/QUOTE or "
                "BASE/QUOTE:SETTLE (letters, digits, '.', '-'; at most 100) or a plain name such as BTC-PERP"
            )
        object.__setattr__(self, "kind", DataKind(self.kind))
        if self.kind.has_timeframe:
            if self.timeframe is None:
                raise UserError(f"{self.kind.value} series need a timeframe ({self.symbol})")
            # Store the canonical spelling so "60m" and "1h" name one file.
            object.__setattr__(self, "timeframe", str(Timeframe.parse(self.timeframe)))
        elif self.timeframe is not None:
            raise UserError(f"{self.kind.value} series have no timeframe, got {self.timeframe!r}")

    @property
    def tf(self) -> Timeframe | None:
        """The parsed timeframe (None for trades and book deltas)."""
        return None if self.timeframe is None else Timeframe.parse(self.timeframe)

    @property
    def stem(self) -> str:
        """The file name without extension: ``BTC_USDT-1m`` or ``XRP_ETH``."""
        name = symbol_to_filename(self.symbol)
        return name if self.timeframe is None else f"{name}-{self.timeframe}"

    def __str__(self) -> str:
        tf = f" {self.timeframe}" if self.timeframe else ""
        return f"{self.exchange} {self.symbol}{tf} {self.kind.value}"


def _roundtrip(symbol: str) -> str | None:
    try:
        return filename_to_symbol(symbol_to_filename(symbol))
    except UserError:
        return None


# Columns that identify a row when two writes overlap; trades share timestamps, so add the id.
_ROW_KEYS: dict[DataKind, tuple[str, ...]] = {
    DataKind.CANDLES: (DATE,),
    DataKind.MARK: (DATE,),
    DataKind.FUNDING: (DATE,),
    DataKind.TRADES: (DATE, "id"),
    DataKind.BOOK_DELTAS: (DATE, "sequence", "side", "price"),
}


class Catalog:
    """A folder of parquet series and their market metadata (layout in the module docstring)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, key: SeriesKey) -> Path:
        """The parquet file of ``key``."""
        return self.root / key.exchange / key.kind.value / f"{key.stem}.parquet"

    def meta_path(self, key: SeriesKey) -> Path:
        """The metadata JSON file of ``key``."""
        return self.root / key.exchange / key.kind.value / f"{key.stem}.meta.json"

    def exists(self, key: SeriesKey) -> bool:
        """True when the series is stored."""
        return self.path(key).is_file()

    def write(
        self,
        key: SeriesKey,
        frame: pd.DataFrame,
        *,
        meta: MarketMeta | None = None,
        mode: Literal["replace", "append"] = "replace",
        allow_shrink: bool = False,
    ) -> Path:
        """Store ``frame`` as the series ``key`` and return the parquet path.

        Parameters
        ----------
        key
            The series.
        frame
            Rows sorted by ``date`` with the kind's columns (:mod:`tradewind.data.schema`); candle
            and funding dates must be unique.
        meta
            Market metadata to store beside the series (kept as is when None).
        mode
            ``replace`` overwrites the series; ``append`` merges by date with what is stored: rows
            already stored must be identical in both (else :class:`DataError` names the first
            differing row), new rows are added, the result stays sorted.
        allow_shrink
            Let a ``replace`` leave fewer rows than are stored. Without it such a write (an empty
            or truncated file imported over a full series) is refused, since it would lose data.

        Raises
        ------
        DataError
            For missing columns, unsorted or duplicate dates, an append whose overlap differs, or
            a replace that would lose stored rows without ``allow_shrink``.
        """
        data = conform(frame, key.kind, what=str(key))
        _check_sorted(data, key)
        if mode not in ("replace", "append"):
            raise UserError(f"write mode must be 'replace' or 'append', got {mode!r}")
        if mode == "append" and self.exists(key):
            data = _merge(self.read(key), data, key)
        elif mode == "replace" and not allow_shrink and self.exists(key):
            stored = self.row_count(key)
            if len(data) < stored:
                raise DataError(
                    f"{key}: replacing {stored:,} stored rows with {len(data):,} would lose data; "
                    "use --mode append to add rows, or --force to replace anyway"
                )
        path = self.path(key)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        table = pa.Table.from_pandas(data, preserve_index=False)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(table, tmp, compression="zstd")
            tmp.replace(path)
            if meta is not None:
                meta.save(self.meta_path(key))
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            where = exc.filename or path
            raise UserError(
                f"cannot write to the catalog {self.root} (--data-dir): {where}: "
                f"{exc.strerror or exc}"
            ) from None
        return path

    def read(
        self, key: SeriesKey, start: datetime | None = None, end: datetime | None = None
    ) -> pd.DataFrame:
        """Read the series ``key``, optionally only rows with ``start <= date < end``.

        Naive datetimes are taken as UTC.

        Raises
        ------
        DataError
            If the series is not stored or its file is unreadable.
        """
        path = self._existing(key)
        filters = []
        if start is not None:
            filters.append((DATE, ">=", _utc(start)))
        if end is not None:
            filters.append((DATE, "<", _utc(end)))
        try:
            table = pq.read_table(path, filters=filters or None)
        except (OSError, pa.ArrowException) as exc:
            raise DataError(f"cannot read {path}: {exc}") from None
        frame = table.to_pandas()
        if frame.empty:
            return empty_frame(key.kind)
        return conform(frame, key.kind, what=str(path))

    def last_timestamp(self, key: SeriesKey) -> pd.Timestamp | None:
        """The last ``date`` stored for ``key`` (where a download resumes), or None if none."""
        if not self.exists(key):
            return None
        path = self.path(key)
        try:
            dates = pq.read_table(path, columns=[DATE]).column(DATE)
        except (OSError, pa.ArrowException) as exc:
            raise DataError(f"cannot read {path}: {exc}") from None
        if len(dates) == 0:
            return None
        # Stored series are sorted on write, so the last row is the latest.
        return pd.Timestamp(dates[len(dates) - 1].as_py()).tz_convert("UTC")

    def row_count(self, key: SeriesKey) -> int:
        """Number of stored rows (read from the parquet footer, not the data)."""
        return int(pq.ParquetFile(self._existing(key)).metadata.num_rows)

    def keys(self) -> list[SeriesKey]:
        """Every stored series, sorted by exchange, kind, symbol and timeframe."""
        found: list[SeriesKey] = []
        if not self.root.is_dir():
            return found
        for exchange_dir in sorted(p for p in self.root.iterdir() if p.is_dir()):
            for kind_dir in sorted(p for p in exchange_dir.iterdir() if p.is_dir()):
                try:
                    kind = DataKind(kind_dir.name)
                except ValueError:
                    continue
                for file in sorted(kind_dir.glob("*.parquet")):
                    found.append(_key_from_file(exchange_dir.name, kind, file))
        return found

    def meta(self, key: SeriesKey) -> MarketMeta:
        """The market metadata stored with ``key``.

        Raises
        ------
        DataError
            If none was stored.
        """
        path = self.meta_path(key)
        if not path.is_file():
            raise DataError(f"no market metadata stored for {key} (expected {path})")
        return MarketMeta.load(path)

    def _existing(self, key: SeriesKey) -> Path:
        path = self.path(key)
        if not path.is_file():
            raise DataError(f"no stored series {key} in catalog {self.root} (expected {path})")
        return path


def _key_from_file(exchange: str, kind: DataKind, file: Path) -> SeriesKey:
    stem = file.name.removesuffix(".parquet")
    try:
        if kind.has_timeframe:
            name, _, tf = stem.rpartition("-")
            return SeriesKey(exchange, filename_to_symbol(name), tf, kind)
        return SeriesKey(exchange, filename_to_symbol(stem), None, kind)
    except UserError as exc:
        raise DataError(f"unexpected file in the catalog: {file} ({exc})") from None


def _utc(moment: datetime) -> pd.Timestamp:
    stamp = pd.Timestamp(moment)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.as_unit("ms")


def _check_sorted(frame: pd.DataFrame, key: SeriesKey) -> None:
    if frame[DATE].isna().any():
        raise DataError(f"{key}: cannot store rows without a date")
    steps = np.diff(date_ms(frame))
    bad = np.flatnonzero(steps < 0)
    if bad.size:
        row = int(bad[0]) + 1
        raise DataError(f"{key}: rows must be sorted by date; row {row} goes back in time")
    if key.kind is not DataKind.TRADES and key.kind is not DataKind.BOOK_DELTAS:
        dup = np.flatnonzero(steps == 0)
        if dup.size:
            row = int(dup[0]) + 1
            raise DataError(
                f"{key}: duplicate date {frame[DATE].iloc[row]} at row {row}; dates must be unique"
            )


def _merge(old: pd.DataFrame, new: pd.DataFrame, key: SeriesKey) -> pd.DataFrame:
    columns = list(_ROW_KEYS[key.kind])
    both = old.merge(new, on=columns, how="inner", suffixes=("_old", "_new"))
    for name in old.columns:
        if name in columns or f"{name}_new" not in both.columns:
            continue
        a, b = both[f"{name}_old"], both[f"{name}_new"]
        differs = ~((a == b) | (a.isna() & b.isna()))
        if differs.any():
            row = both[differs].iloc[0]
            raise DataError(
                f"{key}: the new data differs from the stored data at {row[DATE]} "
                f"({name}: stored {row[f'{name}_old']!r}, new {row[f'{name}_new']!r}); "
                "use --mode replace to overwrite"
            )
    marker = new.merge(old[columns], on=columns, how="left", indicator=True)["_merge"]
    fresh = new[(marker == "left_only").to_numpy()]
    merged = pd.concat([old, fresh], ignore_index=True)
    # A stable sort keeps trades that share a millisecond in the order they were stored.
    return merged.sort_values(DATE, kind="stable", ignore_index=True)
