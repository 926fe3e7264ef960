"""Fixtures shared by every test folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from tradewind.testing.shared_data import shared_data_dir


def pytest_report_header() -> str:
    """Say in every test log where the real data came from (or that its tests will skip)."""
    path = shared_data_dir()
    if path is None:
        return "recorded real data: NOT FOUND - the install is broken; tests on real data fail"
    return f"recorded real data: {path}"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real recorded market data bundled in the package; a missing folder fails the test."""
    path = shared_data_dir()
    if path is None:
        pytest.fail(
            "recorded real data not found: tradewind/bundled/recorded is missing from this checkout "
            "(or $TRADEWIND_SHARED_DATA points at a folder without candles/)"
        )
    return path
