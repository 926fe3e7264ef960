"""Opening recorded files: plain, or the single data member of a zip archive."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from tradewind.core.errors import DataError


def read_bytes(path: str | Path) -> bytes:
    """Return the file's bytes; for a ``.zip``, the concatenated non-directory members by name.

    Raises
    ------
    DataError
        If the file is missing, unreadable, or an empty archive.
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(f"recorded file not found: {p}")
    try:
        if p.suffix.lower() == ".zip":
            with zipfile.ZipFile(p) as archive:
                names = sorted(n for n in archive.namelist() if not n.endswith("/"))
                if not names:
                    raise DataError(f"{p}: the zip archive holds no files")
                parts = [archive.read(name) for name in names]
            return b"\n".join(part.rstrip(b"\n") for part in parts) + b"\n"
        return p.read_bytes()
    except (OSError, zipfile.BadZipFile) as exc:
        raise DataError(f"{p}: cannot read recorded file: {exc}") from exc


def require_columns(path: str | Path, columns: list[str], present: list[str]) -> None:
    """Raise DataError naming the columns of ``columns`` missing from ``present``."""
    missing = [c for c in columns if c not in present]
    if missing:
        raise DataError(
            f"{path}: missing column(s) {', '.join(missing)}; found {', '.join(map(str, present))}"
        )


def exact_floats(path: str | Path, column: pd.Series, name: str) -> np.ndarray:
    """Return a column as float64; text is parsed by ``float()`` (correctly rounded).

    Raises
    ------
    DataError
        Naming the first row (1-based, after the header) that is not a finite number.
    """
    if pd.api.types.is_float_dtype(column) or pd.api.types.is_integer_dtype(column):
        values = column.to_numpy(dtype=np.float64)
    else:
        values = np.empty(len(column), dtype=np.float64)
        for k, text in enumerate(column.tolist()):
            try:
                values[k] = float(text)
            except (TypeError, ValueError):
                values[k] = np.nan
    bad = np.flatnonzero(~np.isfinite(values))
    if len(bad):
        raise DataError(f"{path}: row {bad[0] + 2}: {name} {column.iloc[bad[0]]!r} is not a number")
    return values
