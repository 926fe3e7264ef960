"""The column schema of each data kind, and the check that a frame follows it.

Frames in the catalog have a ``date`` column of dtype ``datetime64[ms, UTC]`` (candle open time or
event time) and the kind's columns from :data:`tradewind.data.kinds.COLUMNS`, in that order:
prices, sizes and rates ``float64``; trade ``id`` and ``side`` strings; book ``sequence`` ``int64``
and ``is_snapshot`` ``bool``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tradewind.core.errors import DataError
from tradewind.data.kinds import COLUMNS, DATE, OPTIONAL_COLUMNS, DataKind

DATE_DTYPE = "datetime64[ms, UTC]"

_STRING_COLUMNS = {"id", "side"}
_INT_COLUMNS = {"sequence", "received_ms"}
_BOOL_COLUMNS = {"is_snapshot"}


def conform(frame: pd.DataFrame, kind: DataKind, *, what: str = "frame") -> pd.DataFrame:
    """Return ``frame`` with exactly the kind's columns, in storage order and storage dtypes.

    Values are not changed, only their types (a float64 ``open`` stays as it was; an int ``id``
    becomes its decimal string). Extra columns are dropped; the optional ones of the kind are kept.

    Raises
    ------
    DataError
        If a required column is missing or a column cannot take its storage type, naming ``what``.
    """
    required = COLUMNS[kind]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        have = ", ".join(map(str, frame.columns)) or "none"
        raise DataError(
            f"{what} lacks the {kind.value} column(s) {', '.join(missing)} (columns found: {have})"
        )
    keep = [*required, *(c for c in OPTIONAL_COLUMNS.get(kind, ()) if c in frame.columns)]
    out: dict[str, object] = {}
    for name in keep:
        column = frame[name]
        try:
            out[name] = _as_storage(name, column).reset_index(drop=True)
        except (TypeError, ValueError) as exc:
            raise DataError(
                f"{what}: column {name!r} cannot be read as {_want(name)}: {exc}"
            ) from None
    return pd.DataFrame(out, index=pd.RangeIndex(len(frame)))


def _want(name: str) -> str:
    if name == DATE:
        return "UTC timestamps"
    if name in _STRING_COLUMNS:
        return "text"
    if name in _INT_COLUMNS:
        return "integers"
    if name in _BOOL_COLUMNS:
        return "true/false"
    return "numbers"


def _as_storage(name: str, column: pd.Series) -> pd.Series:
    if name == DATE:
        if not isinstance(column.dtype, pd.DatetimeTZDtype) or str(column.dtype.tz) != "UTC":
            raise TypeError(f"dtype is {column.dtype}, expected a UTC datetime")
        return column.astype(DATE_DTYPE)
    if name in _STRING_COLUMNS:
        if pd.api.types.is_float_dtype(column.dtype):
            raise TypeError(f"dtype is {column.dtype}, expected text or integers")
        return column.astype("str")
    if name in _INT_COLUMNS:
        return column.astype(np.int64)
    if name in _BOOL_COLUMNS:
        return column.astype(bool)
    return pd.to_numeric(column, errors="raise").astype(np.float64)


def date_ms(frame: pd.DataFrame) -> np.ndarray:
    """The ``date`` column as int64 milliseconds since the epoch (NaT becomes the int64 minimum)."""
    return frame[DATE].to_numpy(dtype="datetime64[ms]").view(np.int64)


def empty_frame(kind: DataKind) -> pd.DataFrame:
    """An empty frame with the kind's columns and storage dtypes."""
    data: dict[str, pd.Series] = {}
    for name in COLUMNS[kind]:
        if name == DATE:
            data[name] = pd.Series([], dtype=DATE_DTYPE)
        elif name in _STRING_COLUMNS:
            data[name] = pd.Series([], dtype="str")
        elif name in _INT_COLUMNS:
            data[name] = pd.Series([], dtype=np.int64)
        elif name in _BOOL_COLUMNS:
            data[name] = pd.Series([], dtype=bool)
        else:
            data[name] = pd.Series([], dtype=np.float64)
    return pd.DataFrame(data)
