"""Validation of market data by kind: errors that make a series unusable, and gap warnings.

Every check is vectorised over whole columns; a row-level :class:`Problem` is only built when a
report is read (:meth:`ValidationReport.problems`), so a clean 45,000-row month validates in a few
milliseconds and a broken million-row file does not build a million Python objects.

Rows are numbered from 0 in the order the file was read (the first data row is row 0; a CSV
header is not a row). Every problem names its row and its timestamp.

Rules per kind (codes in brackets)
-----------------------------------
All kinds: missing date [``missing-date``], a date earlier than an earlier row's
[``out-of-order``].

Candles and mark candles: duplicate dates [``duplicate-date``]; NaN or infinite values
[``not-finite``] (a mark candle's volume may be NaN: exchanges publish no mark volume); prices of
zero or less [``non-positive-price``]; ``high < low`` [``high-below-low``]; open or close outside
``[low, high]`` [``open-outside-range``, ``close-outside-range``]; negative volume
[``negative-volume``]; a date not on the timeframe's grid [``misaligned-date``]. Warnings: gaps
[``gap``], one per place where the step between consecutive rows exceeds the timeframe, with the
range of missing open times.

Funding rates: duplicate dates, a NaN or infinite rate (rates may be negative). Funding rates are
events, not candles: exchanges stamp them a few milliseconds after the funding time (Binance's
``fundingTime`` of 00:00:00.017). A date within ``event_tolerance_ms`` (default 1 s) of the grid is
therefore a warning [``off-grid-event``], kept as stamped; farther off it is an error
[``misaligned-date``]. ``--repair snap`` moves such stamps onto the grid, saying so. Gaps are
counted on the nearest grid slot of each event.

Trades: NaN/inf or non-positive price [``not-finite``, ``non-positive-price``] and amount
[``non-positive-amount``]; a side other than ``buy``/``sell`` [``bad-side``]; a trade id seen before
[``duplicate-id``]. Several trades may share a millisecond, so equal dates are fine.

Book deltas: NaN/inf or non-positive price, negative size [``negative-size``], side other than
``bid``/``ask`` [``bad-side``], a sequence number lower than an earlier row's [``sequence-back``].
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
import pandas as pd

from tradewind.core.errors import DataError
from tradewind.core.timeframe import Timeframe
from tradewind.data.kinds import DataKind
from tradewind.data.schema import date_ms

_NAT = np.iinfo(np.int64).min
DEFAULT_EVENT_TOLERANCE_MS = 1_000


class Severity(StrEnum):
    """An error makes the data unusable; a warning is worth knowing (a gap, an odd stamp)."""

    ERROR = "error"
    WARNING = "warning"


def format_ms(ms: int) -> str:
    """``2018-01-10 06:20:00 UTC``, with milliseconds only when there are any."""
    if ms == _NAT:
        return "NaT"
    stamp = pd.Timestamp(ms, unit="ms", tz="UTC")
    text = stamp.strftime("%Y-%m-%d %H:%M:%S")
    if ms % 1000:
        text += f".{ms % 1000:03d}"
    return text + " UTC"


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem at one row: a stable ``code``, the 0-based ``row`` as read, and its date."""

    code: str
    severity: Severity
    row: int
    timestamp: pd.Timestamp | None
    message: str


@dataclass(frozen=True, slots=True)
class Gap:
    """A run of missing candles: open times ``start`` to ``end`` inclusive, before row ``row``."""

    start: pd.Timestamp
    end: pd.Timestamp
    missing: int
    row: int


@dataclass(frozen=True, slots=True, eq=False)
class Finding:
    """Every row that breaks one rule; ``detail(i)`` describes the ``i``-th of them."""

    code: str
    severity: Severity
    rows: np.ndarray
    detail: Callable[[int], str]

    def __len__(self) -> int:
        return int(self.rows.size)


@dataclass(eq=False)
class ValidationReport:
    """The result of :func:`validate`: findings per rule, gaps, and a summary of the series."""

    kind: DataKind
    timeframe: Timeframe | None
    rows: int
    first: pd.Timestamp | None
    last: pd.Timestamp | None
    findings: list[Finding] = field(default_factory=list)
    _dates: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64), repr=False)
    _gap_data: tuple[np.ndarray, np.ndarray, np.ndarray] | None = field(default=None, repr=False)
    _source_rows: np.ndarray | None = field(default=None, repr=False)

    def source_row(self, position: int) -> int:
        """The row number as read of the row at ``position`` in the validated frame."""
        if self._source_rows is None:
            return position
        return int(self._source_rows[position])

    @property
    def gap_count(self) -> int:
        """Number of gaps (places where the step between rows exceeds the timeframe)."""
        return 0 if self._gap_data is None else int(self._gap_data[2].size)

    @property
    def gaps(self) -> list[Gap]:
        """The gaps, as time ranges of missing candle open times."""
        if self._gap_data is None or self.timeframe is None:
            return []
        before, missing, rows = self._gap_data
        step = self.timeframe.ms
        return [
            Gap(
                start=_stamp(int(b) + step),
                end=_stamp(int(b) + int(m) * step),
                missing=int(m),
                row=self.source_row(int(r)),
            )
            for b, m, r in zip(before, missing, rows, strict=True)
        ]

    @property
    def missing_candles(self) -> int:
        """Total number of missing candles over all gaps."""
        return 0 if self._gap_data is None else int(self._gap_data[1].sum())

    @property
    def error_count(self) -> int:
        """Number of row-level errors."""
        return sum(len(f) for f in self.findings if f.severity is Severity.ERROR)

    @property
    def warning_count(self) -> int:
        """Number of row-level warnings (each gap counts once)."""
        return sum(len(f) for f in self.findings if f.severity is Severity.WARNING)

    @property
    def ok(self) -> bool:
        """True when there is no error (warnings allowed)."""
        return self.error_count == 0

    def counts(self) -> dict[str, int]:
        """Number of rows per problem code."""
        return {f.code: len(f) for f in self.findings}

    def error_rows(self) -> np.ndarray:
        """Sorted unique row numbers that have at least one error."""
        rows = [f.rows for f in self.findings if f.severity is Severity.ERROR]
        return np.unique(np.concatenate(rows)) if rows else np.empty(0, np.int64)

    def problems(
        self, *, limit: int | None = None, severity: Severity | None = None
    ) -> list[Problem]:
        """Row-level problems ordered by row (then by rule), at most ``limit`` of them."""
        picked = [f for f in self.findings if severity is None or f.severity is severity]
        if not picked:
            return []
        rows = np.concatenate([f.rows for f in picked])
        which = np.concatenate([np.full(len(f), i) for i, f in enumerate(picked)])
        index = np.concatenate([np.arange(len(f)) for f in picked])
        order = np.lexsort((which, rows))
        if limit is not None:
            order = order[:limit]
        out = []
        for k in order:
            finding = picked[int(which[k])]
            position = int(rows[k])
            row = self.source_row(position)
            ms = int(self._dates[position]) if position < self._dates.size else _NAT
            stamp = None if ms == _NAT else pd.Timestamp(ms, unit="ms", tz="UTC")
            message = f"row {row} (0-based, as read) at {format_ms(ms)}: "
            out.append(
                Problem(
                    finding.code,
                    finding.severity,
                    row,
                    stamp,
                    message + finding.detail(int(index[k])),
                )
            )
        return out

    def first_error(self) -> Problem | None:
        """The error at the lowest row, or None."""
        found = self.problems(limit=1, severity=Severity.ERROR)
        return found[0] if found else None

    def raise_for_errors(self, what: str) -> None:
        """Raise :class:`DataError` naming the first bad row when there is any error.

        Raises
        ------
        DataError
            ``"<what>: 3 errors; first: row 17 (0-based, as read) at ...: high ... is below low"``.
        """
        first = self.first_error()
        if first is None:
            return
        count = self.error_count
        noun = "error" if count == 1 else "errors"
        raise DataError(f"{what}: {count} {noun}; first: {first.message}")


def validate(
    frame: pd.DataFrame,
    kind: DataKind,
    timeframe: Timeframe | None = None,
    *,
    event_tolerance_ms: int = DEFAULT_EVENT_TOLERANCE_MS,
    source_rows: np.ndarray | None = None,
) -> ValidationReport:
    """Check ``frame`` (columns of :mod:`tradewind.data.schema`) against the rules of ``kind``.

    Parameters
    ----------
    frame
        Rows in the order they were read; row numbers in the report are positions in it.
    kind
        The data kind whose rules apply (module docstring).
    timeframe
        The grid for candle and funding kinds; None skips the alignment and gap checks.
    event_tolerance_ms
        How far off the grid a funding event may be stamped and still only warn.
    source_rows
        For a frame that was repaired (rows dropped), the row number as read of each row, so
        that problems still name the row of the file. Positions are used when None.

    Returns
    -------
    ValidationReport
        Findings per rule (errors and warnings) and the list of gaps.
    """
    ts = date_ms(frame)
    n = ts.size
    valid = ts != _NAT
    report = ValidationReport(
        kind=kind,
        timeframe=timeframe,
        rows=n,
        first=_stamp(ts[valid].min()) if valid.any() else None,
        last=_stamp(ts[valid].max()) if valid.any() else None,
        _dates=ts,
        _source_rows=source_rows,
    )
    add = report.findings.append
    _check_dates(ts, valid, kind, add)
    if kind.is_candles:
        _check_candles(frame, kind, add)
    elif kind is DataKind.FUNDING:
        _check_finite(frame, "rate", add)
    elif kind is DataKind.TRADES:
        _check_trades(frame, add)
    elif kind is DataKind.BOOK_DELTAS:
        _check_book(frame, add)
    if timeframe is not None and kind.has_timeframe:
        slots = _check_grid(ts, valid, kind, timeframe, tolerance_ms=event_tolerance_ms, add=add)
        before, missing, after_rows = _gap_arrays(slots, valid, timeframe)
        report._gap_data = (before, missing, after_rows)
        if after_rows.size:
            step = timeframe.ms
            add(
                Finding(
                    "gap",
                    Severity.WARNING,
                    after_rows,
                    lambda i: (
                        f"gap of {int(missing[i])} missing {timeframe} candle(s) from "
                        f"{format_ms(int(before[i]) + step)} to "
                        f"{format_ms(int(before[i]) + int(missing[i]) * step)}"
                    ),
                )
            )
    report.findings = [f for f in report.findings if len(f)]
    return report


def _stamp(ms: np.int64 | int) -> pd.Timestamp:
    return pd.Timestamp(int(ms), unit="ms", tz="UTC")


Add = Callable[[Finding], None]


def _check_dates(ts: np.ndarray, valid: np.ndarray, kind: DataKind, add: Add) -> None:
    n = ts.size
    if not valid.all():
        add(Finding("missing-date", Severity.ERROR, np.flatnonzero(~valid), lambda i: "no date"))
    if n < 2:
        return
    steps = np.diff(ts)
    strict = bool(valid.all() and (steps > 0).all())
    if strict or (kind in (DataKind.TRADES, DataKind.BOOK_DELTAS) and (steps >= 0).all()):
        # The common case, sorted unique dates, needs no running maximum and no sort.
        return
    # Compare each row with the latest date seen before it, and remember which row set it.
    filled = np.where(valid, ts, _NAT)
    running = np.maximum.accumulate(filled)
    positions = np.arange(n)
    new_max = np.concatenate(([True], filled[1:] >= running[:-1]))
    owner = np.maximum.accumulate(np.where(new_max, positions, 0))
    back = np.flatnonzero(valid[1:] & (filled[1:] < running[:-1])) + 1
    if back.size:
        earlier_ms, earlier_row = running[back - 1], owner[back - 1]
        add(
            Finding(
                "out-of-order",
                Severity.ERROR,
                back,
                lambda i: (
                    f"out of order: its date is before {format_ms(int(earlier_ms[i]))} "
                    f"of row {int(earlier_row[i])}"
                ),
            )
        )
    if kind in (DataKind.TRADES, DataKind.BOOK_DELTAS):
        return
    values = ts[valid]
    rows_valid = np.flatnonzero(valid)
    _, first_index, inverse = np.unique(values, return_index=True, return_inverse=True)
    first_row = rows_valid[first_index[inverse]]
    dup = rows_valid != first_row
    if dup.any():
        dup_rows, of_rows = rows_valid[dup], first_row[dup]
        add(
            Finding(
                "duplicate-date",
                Severity.ERROR,
                dup_rows,
                lambda i: f"duplicate date: row {int(of_rows[i])} has the same date",
            )
        )


def _values(frame: pd.DataFrame, name: str) -> np.ndarray:
    return frame[name].to_numpy(dtype=np.float64, na_value=np.nan)


def _check_finite(frame: pd.DataFrame, name: str, add: Add, *, nan_ok: bool = False) -> np.ndarray:
    values = _values(frame, name)
    bad = ~np.isfinite(values)
    if nan_ok:
        bad &= ~np.isnan(values)
    rows = np.flatnonzero(bad)
    if rows.size:
        found = values[rows]
        add(
            Finding(
                "not-finite",
                Severity.ERROR,
                rows,
                lambda i: f"{name} is {'NaN' if np.isnan(found[i]) else float(found[i])}",
            )
        )
    return values


def _check_positive(values: np.ndarray, name: str, code: str, add: Add) -> None:
    rows = np.flatnonzero(np.isfinite(values) & (values <= 0))
    if rows.size:
        found = values[rows]
        add(
            Finding(
                code, Severity.ERROR, rows, lambda i: f"{name} is {float(found[i])!r}, must be > 0"
            )
        )


def _check_candles(frame: pd.DataFrame, kind: DataKind, add: Add) -> None:
    o, h, low, c = (_check_finite(frame, name, add) for name in ("open", "high", "low", "close"))
    v = _check_finite(frame, "volume", add, nan_ok=kind is DataKind.MARK)
    for name, values in (("open", o), ("high", h), ("low", low), ("close", c)):
        _check_positive(values, name, "non-positive-price", add)
    inverted = np.flatnonzero(h < low)
    if inverted.size:
        hi, lo = h[inverted], low[inverted]
        add(
            Finding(
                "high-below-low",
                Severity.ERROR,
                inverted,
                lambda i: f"high {float(hi[i])!r} is below low {float(lo[i])!r}",
            )
        )
    ordered = h >= low
    for name, values in (("open", o), ("close", c)):
        rows = np.flatnonzero(ordered & ((values < low) | (values > h)))
        if rows.size:
            x, lo, hi = values[rows], low[rows], h[rows]
            add(
                Finding(
                    f"{name}-outside-range",
                    Severity.ERROR,
                    rows,
                    lambda i, name=name, x=x, lo=lo, hi=hi: (
                        f"{name} {float(x[i])!r} is outside [low {float(lo[i])!r}, high {float(hi[i])!r}]"
                    ),
                )
            )
    negative = np.flatnonzero(v < 0)
    if negative.size:
        vol = v[negative]
        add(
            Finding(
                "negative-volume",
                Severity.ERROR,
                negative,
                lambda i: f"volume {float(vol[i])!r} is negative",
            )
        )


def _check_side(frame: pd.DataFrame, allowed: tuple[str, str], add: Add) -> None:
    sides = frame["side"].astype("str").to_numpy(dtype=object)
    rows = np.flatnonzero(~np.isin(sides, allowed))
    if rows.size:
        found = sides[rows]
        add(
            Finding(
                "bad-side",
                Severity.ERROR,
                rows,
                lambda i: f"side {found[i]!r} is not {allowed[0]!r} or {allowed[1]!r}",
            )
        )


def _check_trades(frame: pd.DataFrame, add: Add) -> None:
    price = _check_finite(frame, "price", add)
    amount = _check_finite(frame, "amount", add)
    _check_positive(price, "price", "non-positive-price", add)
    _check_positive(amount, "amount", "non-positive-amount", add)
    _check_side(frame, ("buy", "sell"), add)
    ids = frame["id"].astype("str")
    dup = ids.duplicated(keep="first").to_numpy()
    if dup.any():
        rows = np.flatnonzero(dup)
        firsts = pd.Series(np.arange(len(ids))).groupby(ids.to_numpy()).transform("min").to_numpy()
        of_rows, values = firsts[rows], ids.to_numpy()[rows]
        add(
            Finding(
                "duplicate-id",
                Severity.ERROR,
                rows,
                lambda i: f"trade id {values[i]!r} already seen at row {int(of_rows[i])}",
            )
        )


def _check_book(frame: pd.DataFrame, add: Add) -> None:
    price = _check_finite(frame, "price", add)
    size = _check_finite(frame, "size", add)
    _check_positive(price, "price", "non-positive-price", add)
    negative = np.flatnonzero(size < 0)
    if negative.size:
        found = size[negative]
        add(
            Finding(
                "negative-size",
                Severity.ERROR,
                negative,
                lambda i: f"size {float(found[i])!r} is negative",
            )
        )
    _check_side(frame, ("bid", "ask"), add)
    seq = frame["sequence"].to_numpy(dtype=np.int64)
    if seq.size > 1:
        running = np.maximum.accumulate(seq)
        back = np.flatnonzero(seq[1:] < running[:-1]) + 1
        if back.size:
            now, before = seq[back], running[back - 1]
            add(
                Finding(
                    "sequence-back",
                    Severity.ERROR,
                    back,
                    lambda i: f"sequence {int(now[i])} is lower than an earlier {int(before[i])}",
                )
            )


def _check_grid(
    ts: np.ndarray,
    valid: np.ndarray,
    kind: DataKind,
    timeframe: Timeframe,
    *,
    tolerance_ms: int,
    add: Add,
) -> np.ndarray:
    """Flag dates off the grid; return each row's grid slot (nearest slot for funding events)."""
    step = timeframe.ms
    offset = np.where(valid, ts % step, 0)
    # Distance to the nearest slot, signed: +17 means 17 ms late, -5 means 5 ms early.
    signed = np.where(offset > step // 2, offset - step, offset)
    off = np.flatnonzero(valid & (offset != 0))
    if kind is DataKind.FUNDING:
        slots = ts - signed
        near = np.abs(signed[off]) <= tolerance_ms
        soft, hard = off[near], off[~near]
        if soft.size:
            late = signed[soft]
            add(
                Finding(
                    "off-grid-event",
                    Severity.WARNING,
                    soft,
                    lambda i: (
                        f"funding event stamped {int(late[i]):+d} ms from the {timeframe} grid "
                        "(kept as stamped; --repair snap moves it onto the grid)"
                    ),
                )
            )
    else:
        slots = ts - offset
        hard = off
    if hard.size:
        by = signed[hard]
        add(
            Finding(
                "misaligned-date",
                Severity.ERROR,
                hard,
                lambda i: f"date is not on the {timeframe} grid (off by {int(by[i]):+d} ms)",
            )
        )
    return slots


def _gap_arrays(
    slots: np.ndarray, valid: np.ndarray, timeframe: Timeframe
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (slot before each gap, missing candles, row after the gap) as arrays."""
    rows = np.flatnonzero(valid)
    if rows.size < 2:
        empty = np.empty(0, np.int64)
        return empty, empty, empty
    values = slots[rows]
    steps = np.diff(values)
    # Only forward steps count: out-of-order rows are already errors of their own.
    where = np.flatnonzero(steps > timeframe.ms)
    # Ceiling division: a misaligned row still leaves the slots before it empty.
    missing = -(-steps[where] // timeframe.ms) - 1
    return values[where], missing, rows[where + 1]


def gap_count(frame: pd.DataFrame, kind: DataKind, timeframe: Timeframe) -> int:
    """Number of gaps of a series (places where the step exceeds the timeframe)."""
    return validate(frame, kind, timeframe).gap_count


def require_valid(
    frame: pd.DataFrame, kind: DataKind, timeframe: Timeframe | None, *, what: str
) -> ValidationReport:
    """Validate and raise :class:`DataError` naming the first bad row if there is any error."""
    report = validate(frame, kind, timeframe)
    report.raise_for_errors(what)
    return report


__all__ = [
    "DEFAULT_EVENT_TOLERANCE_MS",
    "Finding",
    "Gap",
    "Problem",
    "Severity",
    "ValidationReport",
    "format_ms",
    "gap_count",
    "require_valid",
    "validate",
]
