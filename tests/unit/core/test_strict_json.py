"""Strict JSON: every non-finite number is null and the output parses with a strict parser."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from tradewind.core.strict_json import dumps, json_ready


def _refuse(constant: str) -> Any:
    raise ValueError(f"non-JSON constant {constant}")


def test_non_finite_numbers_become_null_everywhere() -> None:
    value = {
        "nan": float("nan"),
        "inf": float("inf"),
        "neg": -np.inf,
        "numpy": np.float64("nan"),
        "array": np.array([1.5, np.nan, np.inf]),
        "nested": [{"x": (float("-inf"), 2)}],
        "decimal": Decimal("0.00000001"),
        "bad_decimal": Decimal("NaN"),
        "when": pd.Timestamp(0, unit="ms", tz="UTC"),
        "missing_time": pd.NaT,
        "plain": datetime(2024, 1, 1, tzinfo=UTC),
        7: np.int64(3),
    }
    parsed = json.loads(dumps(value), parse_constant=_refuse)
    assert parsed == {
        "nan": None,
        "inf": None,
        "neg": None,
        "numpy": None,
        "array": [1.5, None, None],
        "nested": [{"x": [None, 2]}],
        "decimal": "0.00000001",
        "bad_decimal": None,
        "when": "1970-01-01T00:00:00+00:00",
        "missing_time": None,
        "plain": "2024-01-01T00:00:00+00:00",
        "7": 3,
    }


def test_json_ready_keeps_finite_values_exactly() -> None:
    assert json_ready({"a": 0.1, "b": True, "c": None, "d": "x"}) == {
        "a": 0.1,
        "b": True,
        "c": None,
        "d": "x",
    }
