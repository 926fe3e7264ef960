"""Fixtures shared by every test folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from tradewind.testing.shared_data import shared_data_dir


def pytest_report_header() -> str:
    """Say in every test log where the real data came from (or that its tests will skip)."""
    path = shared_data_dir()
    if path is None:
        return "shared real data: NOT FOUND - every test on real data will be skipped"
    return f"shared real data: {path}"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real recorded market data beside the checkout; skips when it is missing."""
    path = shared_data_dir()
    if path is None:
        pytest.skip(
            "shared real data not found: set TRADEWIND_SHARED_DATA or place it at ../shared/data"
        )
    return path
