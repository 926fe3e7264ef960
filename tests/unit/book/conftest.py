"""Fixtures for the order-book tests: the real recordings and a plain dict book to compare with."""

from __future__ import annotations

from pathlib import Path

import pytest

from tradewind.book.readers.bybit import decode_bybit_orderbook
from tradewind.book.stream import DecodedBookStream


@pytest.fixture(scope="session")
def bybit_path(shared_data: Path) -> Path:
    """The Bybit XRPUSDT orderbook.500 recording (1 snapshot + 49 deltas)."""
    return shared_data / "orderbook" / "bybit-xrpusdt-ob500.data.zip"


@pytest.fixture(scope="session")
def bybit_stream(bybit_path: Path) -> DecodedBookStream:
    """The Bybit recording decoded through the fast path."""
    return decode_bybit_orderbook(bybit_path)
