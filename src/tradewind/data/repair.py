"""Explicit repairs of bad market data, each of which lists every row it changed.

Nothing is changed unless the user asks, and every change is reported as a :class:`RepairAction`
naming the row as read, its date, and what was done:

- ``snap``: move dates that sit at most ``tolerance_ms`` (default 1 s) off the timeframe's grid onto
  the nearest grid slot (exchanges stamp funding events a few milliseconds late). Refused when two
  rows would land in one slot. Dates farther off are left alone (and stay errors).
- ``ffill``: replace the values of a row that breaks a value rule (NaN/inf, price <= 0,
  high < low, open/close outside [low, high], negative volume) by a flat candle at the previous
  good row's close with zero volume (NaN volume for mark candles), as if nothing traded; a bad
  funding rate takes the previous good rate. Refused for the first row (nothing before it) and for
  trades and book deltas (an invented trade is worse than a missing one).
- ``drop``: remove every row that still has an error after the other repairs (missing date,
  out-of-order, duplicate date or trade id, misaligned date, bad values). Of duplicates the first
  row is kept.

Repairs run in the order snap, ffill, drop whatever order they are given in, so that snapping can
turn a misaligned row into a good one before drop would remove it.

:func:`fill_gaps` is a separate, explicit option for backtests: it inserts flat zero-volume candles
at the previous close into gaps. It never runs on import, and the catalog keeps the gaps.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
import pandas as pd

from tradewind.core.errors import DataError, UserError
from tradewind.core.timeframe import Timeframe
from tradewind.data.kinds import DATE, DataKind
from tradewind.data.schema import DATE_DTYPE, date_ms
from tradewind.data.validate import (
    DEFAULT_EVENT_TOLERANCE_MS,
    Severity,
    ValidationReport,
    format_ms,
    validate,
)


class RepairMode(StrEnum):
    """One repair the user may ask for on import."""

    DROP = "drop"
    FFILL = "ffill"
    SNAP = "snap"


_ORDER = (RepairMode.SNAP, RepairMode.FFILL, RepairMode.DROP)
_VALUE_CODES = {
    "not-finite",
    "non-positive-price",
    "high-below-low",
    "open-outside-range",
    "close-outside-range",
    "negative-volume",
}


@dataclass(frozen=True, slots=True)
class RepairAction:
    """One change: which repair, the row as read, its date before the change, and what was done."""

    mode: RepairMode
    row: int
    timestamp: str
    detail: str

    def __str__(self) -> str:
        where = f"row {self.row} (0-based, as read) at {self.timestamp}"
        return f"{self.mode.value}: {where}: {self.detail}"


@dataclass(eq=False)
class RepairResult:
    """The repaired frame, the row number as read of each of its rows, and every change made."""

    frame: pd.DataFrame
    source_rows: np.ndarray
    actions: list[RepairAction] = field(default_factory=list)

    def count(self, mode: RepairMode) -> int:
        """How many rows one repair changed."""
        return sum(1 for a in self.actions if a.mode is mode)

    def summary(self) -> str:
        """One line: ``snap: 59 rows moved onto the grid; drop: 2 rows dropped``."""
        verbs = {
            RepairMode.SNAP: "moved onto the grid",
            RepairMode.FFILL: "filled from the previous row",
            RepairMode.DROP: "dropped",
        }
        parts = [
            f"{mode.value}: {self.count(mode)} row(s) {verbs[mode]}"
            for mode in _ORDER
            if self.count(mode)
        ]
        return "; ".join(parts) if parts else "no rows changed"


def repair(
    frame: pd.DataFrame,
    kind: DataKind,
    timeframe: Timeframe | None,
    modes: Iterable[RepairMode],
    *,
    tolerance_ms: int = DEFAULT_EVENT_TOLERANCE_MS,
) -> RepairResult:
    """Apply the requested repairs (module docstring) and list every change.

    Parameters
    ----------
    frame
        Rows in the order they were read.
    kind, timeframe
        The data kind and grid (None for trades and book deltas).
    modes
        Repairs to apply; they run in the order snap, ffill, drop.
    tolerance_ms
        How far off the grid a date may be for ``snap`` to move it.

    Returns
    -------
    RepairResult
        The new frame (the input is not modified), its rows' numbers as read, and the actions.

    Raises
    ------
    DataError
        When a repair cannot be done honestly (two rows snap to one slot, the first row needs a
        forward fill).
    UserError
        When a repair does not apply to the kind.
    """
    wanted = set(modes)
    result = RepairResult(frame.reset_index(drop=True).copy(), np.arange(len(frame)))
    for mode in _ORDER:
        if mode not in wanted:
            continue
        if mode is RepairMode.SNAP:
            _snap(result, kind, timeframe, tolerance_ms)
        elif mode is RepairMode.FFILL:
            _ffill(result, kind, timeframe)
        else:
            _drop(result, kind, timeframe, tolerance_ms)
    return result


def _report(result: RepairResult, kind: DataKind, tf: Timeframe | None) -> ValidationReport:
    return validate(result.frame, kind, tf, source_rows=result.source_rows)


def _snap(result: RepairResult, kind: DataKind, tf: Timeframe | None, tolerance_ms: int) -> None:
    if tf is None or not kind.has_timeframe:
        raise UserError(f"snap moves dates onto a timeframe grid; {kind.value} data has no grid")
    ts = date_ms(result.frame)
    valid = ts != np.iinfo(np.int64).min
    offset = np.where(valid, ts % tf.ms, 0)
    signed = np.where(offset > tf.ms // 2, offset - tf.ms, offset)
    move = np.flatnonzero(valid & (offset != 0) & (np.abs(signed) <= tolerance_ms))
    if move.size == 0:
        return
    snapped = ts.copy()
    snapped[move] = ts[move] - signed[move]
    values = snapped[valid]
    rows_valid = np.flatnonzero(valid)
    _, first_index, inverse = np.unique(values, return_index=True, return_inverse=True)
    owner = rows_valid[first_index[inverse]]
    # A collision only counts when a moved row caused it; plain duplicates are validate's business.
    clash = (owner != rows_valid) & (np.isin(rows_valid, move) | np.isin(owner, move))
    if clash.any():
        k = int(np.flatnonzero(clash)[0])
        a, b = result.source_rows[owner[k]], result.source_rows[rows_valid[k]]
        raise DataError(
            f"snap refused: rows {a} and {b} (0-based, as read) would both land on "
            f"{format_ms(int(values[k]))}; drop one of them first"
        )
    for position in move:
        result.actions.append(
            RepairAction(
                RepairMode.SNAP,
                int(result.source_rows[position]),
                format_ms(int(ts[position])),
                f"moved {int(-signed[position]):+d} ms to {format_ms(int(snapped[position]))}",
            )
        )
    result.frame[DATE] = pd.Series(snapped.astype("datetime64[ms]")).dt.tz_localize("UTC")
    result.frame[DATE] = result.frame[DATE].astype(DATE_DTYPE)


def _ffill(result: RepairResult, kind: DataKind, tf: Timeframe | None) -> None:
    if kind not in (DataKind.CANDLES, DataKind.MARK, DataKind.FUNDING):
        raise UserError(
            f"ffill repairs candle and funding values, not {kind.value}; use --repair drop"
        )
    report = _report(result, kind, tf)
    positions = [f.rows for f in report.findings if f.code in _VALUE_CODES]
    if not positions:
        return
    bad = np.unique(np.concatenate(positions))
    n = len(result.frame)
    good = np.ones(n, dtype=bool)
    good[bad] = False
    last_good = np.maximum.accumulate(np.where(good, np.arange(n), -1))
    if last_good[bad[0]] < 0:
        row = int(result.source_rows[bad[0]])
        raise DataError(
            f"ffill refused: row {row} (0-based, as read) has bad values and no good row before "
            "it to fill from; use --repair drop"
        )
    source = last_good[bad]
    frame = result.frame
    dates = date_ms(frame)
    codes = {
        int(p): f.code for f in report.findings if f.code in _VALUE_CODES for p in f.rows.tolist()
    }
    if kind is DataKind.FUNDING:
        rate = frame["rate"].to_numpy(dtype=np.float64).copy()
        fills = rate[source]
        rate[bad] = fills
        frame["rate"] = rate
        describe = "rate set to the previous good rate {0!r}"
    else:
        close = frame["close"].to_numpy(dtype=np.float64)
        fills = close[source]
        for name in ("open", "high", "low", "close"):
            column = frame[name].to_numpy(dtype=np.float64).copy()
            column[bad] = fills
            frame[name] = column
        volume = frame["volume"].to_numpy(dtype=np.float64).copy()
        volume[bad] = np.nan if kind is DataKind.MARK else 0.0
        frame["volume"] = volume
        describe = "replaced by a flat candle at the previous good close {0!r}, volume 0"
    for position, value in zip(bad, fills, strict=True):
        result.actions.append(
            RepairAction(
                RepairMode.FFILL,
                int(result.source_rows[position]),
                format_ms(int(dates[position])),
                describe.format(float(value)) + f" (was {codes[int(position)]})",
            )
        )


def _drop(result: RepairResult, kind: DataKind, tf: Timeframe | None, tolerance_ms: int) -> None:
    report = validate(
        result.frame, kind, tf, event_tolerance_ms=tolerance_ms, source_rows=result.source_rows
    )
    reasons: dict[int, str] = {}
    for finding in report.findings:
        if finding.severity is not Severity.ERROR:
            continue
        for position in finding.rows.tolist():
            reasons.setdefault(int(position), finding.code)
    if not reasons:
        return
    bad = np.array(sorted(reasons), dtype=np.int64)
    dates = date_ms(result.frame)
    for position in bad:
        result.actions.append(
            RepairAction(
                RepairMode.DROP,
                int(result.source_rows[position]),
                format_ms(int(dates[position])),
                f"dropped ({reasons[int(position)]})",
            )
        )
    keep = np.ones(len(result.frame), dtype=bool)
    keep[bad] = False
    result.frame = result.frame[keep].reset_index(drop=True)
    result.source_rows = result.source_rows[keep]


def fill_gaps(
    frame: pd.DataFrame, timeframe: Timeframe, kind: DataKind = DataKind.CANDLES
) -> pd.DataFrame:
    """Fill every gap with flat candles (open = high = low = close = previous close, volume 0).

    For backtests that want one row per bar; an explicit option (``data.gap_fill = "flat"``),
    never applied to stored data. Mark candles get NaN volume, like the rest of a mark series.

    Parameters
    ----------
    frame
        A valid candle series (sorted, unique dates on the grid).
    timeframe
        The series' timeframe.
    kind
        ``candles`` or ``mark``.

    Returns
    -------
    pandas.DataFrame
        A new frame with one row per grid slot from the first to the last date; the number of
        inserted rows is ``len(result) - len(frame)``.

    Raises
    ------
    DataError
        If the frame is not sorted, has duplicate or misaligned dates.
    """
    if not kind.is_candles:
        raise UserError(f"fill_gaps fills candle series, not {kind.value}")
    if frame.empty:
        return frame.copy()
    ts = date_ms(frame)
    steps = np.diff(ts)
    if (steps <= 0).any() or (ts % timeframe.ms != 0).any():
        raise DataError(
            "fill_gaps needs a validated series: dates sorted, unique and on the "
            f"{timeframe} grid (run `tradewind data validate`)"
        )
    if (steps == timeframe.ms).all():
        return frame.reset_index(drop=True).copy()
    grid = np.arange(ts[0], ts[-1] + timeframe.ms, timeframe.ms, dtype=np.int64)
    slot = ((ts - ts[0]) // timeframe.ms).astype(np.int64)
    present = np.zeros(grid.size, dtype=bool)
    present[slot] = True
    # Each slot takes the row at or before it: itself when present, else the last candle before.
    source = np.maximum.accumulate(np.where(present, np.arange(grid.size), 0))
    row_of_slot = np.empty(grid.size, dtype=np.int64)
    row_of_slot[slot] = np.arange(ts.size)
    rows = row_of_slot[source]
    close = frame["close"].to_numpy(dtype=np.float64)[rows]
    out: dict[str, object] = {
        DATE: pd.Series(grid.astype("datetime64[ms]")).dt.tz_localize("UTC").astype(DATE_DTYPE)
    }
    for name in ("open", "high", "low", "close"):
        out[name] = np.where(present, frame[name].to_numpy(dtype=np.float64)[rows], close)
    empty_volume = np.nan if kind is DataKind.MARK else 0.0
    out["volume"] = np.where(
        present, frame["volume"].to_numpy(dtype=np.float64)[rows], empty_volume
    )
    return pd.DataFrame(out)
