"""Fixtures shared by every test folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from tradewind.testing.shared_data import shared_data_dir


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real recorded market data beside the checkout; skips when it is missing."""
    path = shared_data_dir()
    if path is None:
        pytest.skip(
            "shared real data not found: set TRADEWIND_SHARED_DATA or place it at ../shared/data"
        )
    return path
