"""Map a raw table to the columns of a data kind: the date column, date parsing, renames.

Rules, in order:

1. ``--columns old=new,...`` renames columns by their exact names in the file.
2. Column names are compared without case and surrounding spaces (``Open`` is ``open``).
3. The date column is ``--date-column`` when given, else the first of ``date``, ``timestamp``,
   ``time``, ``datetime``, ``open_time``, ``ts`` that exists.
4. Dates: numbers are epoch times whose unit is ``--date-format epoch-s|epoch-ms|epoch-us|epoch-ns``
   or, by default, detected from the largest value (below 1e11: seconds, 1e14: milliseconds, 1e17:
   microseconds, else nanoseconds). Text is parsed with ``--date-format`` (a ``strftime`` pattern
   such as ``%d.%m.%Y %H:%M``) or as ISO 8601. Text without a zone is taken as UTC. Dates are
   stored in milliseconds; a date with a finer part is refused rather than silently truncated.
5. Kind-specific names: a funding file's ``open`` column is the rate when there is no ``rate``
   column (Freqtrade's layout; its high/low/close are 0 and ignored). Trades accept ``trade_id``
   for ``id``, ``quantity``/``qty`` for ``amount``, and ``buyer_maker``/``is_buyer_maker`` for
   ``side`` (a buyer-maker trade was sold into: the aggressor side is ``sell``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
import pandas as pd

from tradewind.core.errors import DataError, UserError
from tradewind.data.kinds import DATE, DataKind
from tradewind.data.schema import DATE_DTYPE, conform

_DATE_CANDIDATES = ("date", "timestamp", "time", "datetime", "open_time", "ts")
_TRADE_ALIASES = {"trade_id": "id", "quantity": "amount", "qty": "amount"}
_FUNDING_ALIASES = {"funding_rate": "rate", "fundingrate": "rate"}
_UNIT_SCALE = {"s": 1_000, "ms": 1, "us": 1_000, "ns": 1_000_000}


class DateFormat(StrEnum):
    """How numeric dates are read; any other ``--date-format`` text is a ``strftime`` pattern."""

    AUTO = "auto"
    EPOCH_S = "epoch-s"
    EPOCH_MS = "epoch-ms"
    EPOCH_US = "epoch-us"
    EPOCH_NS = "epoch-ns"


@dataclass(frozen=True, slots=True, kw_only=True)
class ColumnMapping:
    """How to read a file's columns (module docstring)."""

    date_column: str | None = None
    columns: dict[str, str] = field(default_factory=dict)
    date_format: str = DateFormat.AUTO.value
    delimiter: str = ","


def parse_columns(text: str | None) -> dict[str, str]:
    """Parse ``"timestamp=date,qty=amount"`` into ``{"timestamp": "date", "qty": "amount"}``.

    Raises
    ------
    UserError
        If an item is not ``old=new``.
    """
    mapping: dict[str, str] = {}
    if not text:
        return mapping
    for item in text.split(","):
        old, sep, new = item.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise UserError(
                f"--columns item {item!r} is not old=new (e.g. --columns ts=date,v=volume)"
            )
        mapping[old.strip()] = new.strip()
    return mapping


def normalize(
    raw: pd.DataFrame, kind: DataKind, mapping: ColumnMapping, *, what: str
) -> pd.DataFrame:
    """Turn a raw table into a frame of ``kind`` with a ``date`` column (module docstring).

    Raises
    ------
    DataError
        For a missing date or kind column, an unparseable date, naming the row as read.
    """
    frame = raw.rename(columns=mapping.columns) if mapping.columns else raw
    missing_renames = [old for old in mapping.columns if old not in raw.columns]
    if missing_renames:
        raise UserError(
            f"{what}: --columns names {', '.join(missing_renames)} not found in the file "
            f"(columns: {', '.join(map(str, raw.columns))})"
        )
    frame = frame.rename(columns=lambda name: str(name).strip().lower())
    date_column = _date_column(frame, mapping, what)
    out = frame.drop(columns=[date_column])
    if DATE in out.columns:
        out = out.drop(columns=[DATE])
    out = out.copy()
    out.insert(0, DATE, _parse_dates(frame[date_column], mapping.date_format, what))
    if kind is DataKind.FUNDING:
        out = out.rename(columns=_FUNDING_ALIASES)
        if "rate" not in out.columns and "open" in out.columns:
            out = out.rename(columns={"open": "rate"})
    elif kind is DataKind.TRADES:
        out = _trade_columns(out)
    return conform(out, kind, what=what)


def _date_column(frame: pd.DataFrame, mapping: ColumnMapping, what: str) -> str:
    if mapping.date_column is not None:
        wanted = mapping.date_column.strip().lower()
        if wanted not in frame.columns:
            raise UserError(
                f"{what}: --date-column {mapping.date_column!r} not found "
                f"(columns: {', '.join(map(str, frame.columns))})"
            )
        return wanted
    for name in _DATE_CANDIDATES:
        if name in frame.columns:
            return name
    raise DataError(
        f"{what}: no date column (looked for {', '.join(_DATE_CANDIDATES)}; "
        f"columns: {', '.join(map(str, frame.columns))}); name it with --date-column"
    )


def _parse_dates(column: pd.Series, date_format: str, what: str) -> pd.Series:
    if isinstance(column.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(column):
        if not isinstance(column.dtype, pd.DatetimeTZDtype):
            column = column.dt.tz_localize("UTC")
        dates = column
        return _to_ms(dates.dt.tz_convert("UTC"), what)
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        return _from_epoch(column, date_format, what)
    text = column.astype("str").where(column.notna())
    fmt = "ISO8601" if date_format == DateFormat.AUTO.value else date_format
    if fmt.startswith("epoch-"):
        numbers = pd.to_numeric(column, errors="coerce")
        return _from_epoch(numbers, date_format, what)
    parsed = pd.to_datetime(text, format=fmt, utc=True, errors="coerce")
    bad = np.flatnonzero(parsed.isna().to_numpy() & column.notna().to_numpy())
    if bad.size:
        row = int(bad[0])
        raise DataError(
            f"{what}: row {row} (0-based, as read): cannot read the date {column.iloc[row]!r} "
            f"with format {fmt!r} ({bad.size} such row(s)); give --date-format"
        )
    return _to_ms(parsed, what)


def _from_epoch(column: pd.Series, date_format: str, what: str) -> pd.Series:
    values = column.to_numpy(dtype=np.float64, na_value=np.nan)
    finite = np.isfinite(values)
    if date_format == DateFormat.AUTO.value:
        biggest = float(np.abs(values[finite]).max()) if finite.any() else 0.0
        if biggest < 1e11:
            unit = "s"
        elif biggest < 1e14:
            unit = "ms"
        else:
            unit = "us" if biggest < 1e17 else "ns"
    elif date_format.startswith("epoch-") and date_format[6:] in _UNIT_SCALE:
        unit = date_format[6:]
    else:
        raise UserError(
            f"{what}: the dates are numbers; --date-format must be auto or epoch-s, epoch-ms, "
            f"epoch-us or epoch-ns, got {date_format!r}"
        )
    # Integers stay integers: float64 cannot hold every nanosecond epoch exactly.
    if pd.api.types.is_integer_dtype(column):
        ints = column.to_numpy(dtype=np.int64)
        if unit == "s":
            ms, fine = ints * 1_000, np.zeros(ints.size, dtype=bool)
        else:
            ms, fine = ints // _UNIT_SCALE[unit], ints % _UNIT_SCALE[unit] != 0
        whole = np.ones(ints.size, dtype=bool)
    else:
        scaled = values * 1_000 if unit == "s" else values / _UNIT_SCALE[unit]
        whole = finite
        ms = np.where(finite, np.round(scaled), 0).astype(np.int64)
        fine = finite & (np.abs(scaled - np.round(scaled)) > 1e-6)
    if fine.any():
        row = int(np.flatnonzero(fine)[0])
        raise DataError(
            f"{what}: row {row} (0-based, as read): date {column.iloc[row]!r} has a "
            "sub-millisecond part; the catalog stores milliseconds"
        )
    series = pd.Series(ms.astype("datetime64[ms]"), index=column.index).where(whole)
    return series.dt.tz_localize("UTC").astype(DATE_DTYPE)


def _to_ms(dates: pd.Series, what: str) -> pd.Series:
    ns = dates.astype("datetime64[ns, UTC]")
    values = ns.to_numpy(dtype="datetime64[ns]").view(np.int64)
    fine = ns.notna().to_numpy() & (values % 1_000_000 != 0)
    if fine.any():
        row = int(np.flatnonzero(fine)[0])
        raise DataError(
            f"{what}: row {row} (0-based, as read): date {ns.iloc[row]} has a "
            "sub-millisecond part; the catalog stores milliseconds"
        )
    return ns.astype(DATE_DTYPE)


def _trade_columns(frame: pd.DataFrame) -> pd.DataFrame:
    renames = {
        old: new
        for old, new in _TRADE_ALIASES.items()
        if old in frame.columns and new not in frame.columns
    }
    frame = frame.rename(columns=renames)
    if "side" not in frame.columns:
        for flag in ("buyer_maker", "is_buyer_maker"):
            if flag in frame.columns:
                maker = frame[flag].astype("str").str.strip().str.lower()
                unknown = np.flatnonzero(~maker.isin(["true", "false", "1", "0"]).to_numpy())
                if unknown.size:
                    row = int(unknown[0])
                    raise DataError(
                        f"row {row} (0-based, as read): {flag} is {frame[flag].iloc[row]!r}, "
                        "expected true or false"
                    )
                # The maker bought, so the aggressor sold.
                frame = frame.assign(side=np.where(maker.isin(["true", "1"]), "sell", "buy"))
                break
    if "side" in frame.columns:
        frame = frame.assign(side=frame["side"].astype("str").str.strip().str.lower())
    return frame
