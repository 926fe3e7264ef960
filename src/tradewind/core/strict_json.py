"""Strict JSON: what every JSON file or document Tradewind writes goes through.

Python's ``json`` writes ``NaN``, ``Infinity`` and ``-Infinity`` by default, which no strict
parser (JavaScript's ``JSON.parse``, jq, Go, Rust's serde) accepts. Here every non-finite float
becomes ``null``: a metric that cannot be computed (a win rate without trades, a profit factor
without a loss) is absent, never a number. Numpy scalars and arrays become plain numbers and lists,
``Decimal`` becomes its exact fixed-point string, dates become ISO-8601 strings; anything else its ``str``.
Writing then uses ``allow_nan=False``, so a value that slipped through raises instead of writing
a file other programs cannot read.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any


def json_ready(value: Any) -> Any:
    """Return ``value`` as plain JSON types, with every NaN or infinity replaced by ``None``.

    Dict keys become strings; tuples, lists and sets become lists; objects with ``tolist``
    (numpy arrays) or ``item`` (numpy scalars) are unwrapped first; ``Decimal`` becomes its exact
    string; ``datetime``/``date`` (and pandas ``Timestamp``) become ISO-8601 strings; any other
    object becomes its ``str``.
    """
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_ready(v) for v in value]
    if isinstance(value, Decimal):
        return format(value, "f") if value.is_finite() else None
    if isinstance(value, datetime | date):
        # pandas' NaT (missing time) is a datetime without a time: core cannot import pandas.
        return None if type(value).__name__ == "NaTType" else value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return json_ready(value.tolist())
    if hasattr(value, "item"):
        return json_ready(value.item())
    return str(value)


def dumps(value: Any, *, indent: int | None = 2) -> str:
    """Serialise ``value`` as strict JSON (see :func:`json_ready`)."""
    return json.dumps(json_ready(value), indent=indent, allow_nan=False)


def write_json(path: Path, value: Any) -> Path:
    """Write ``value`` as strict JSON to ``path`` (parent folders made), and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps(value) + "\n", encoding="utf-8")
    return path
