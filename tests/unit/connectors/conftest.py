"""Fixtures for the connector tests: the shared recordings served by the loopback Binance."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tradewind.exchange_sim import FaultPlan, LoopbackServer, SimExchange
from tradewind.exchange_sim.recordings import list_shared_recordings


@pytest.fixture(scope="session")
def recorded_exchange(shared_data: Path) -> SimExchange:
    """Every shared recording listed once per session (reading the files is the slow part)."""
    return list_shared_recordings(SimExchange(), shared_data)


@pytest.fixture
def sim(recorded_exchange: SimExchange) -> SimExchange:
    """The recorded exchange with a fresh, empty fault plan and request log for this test."""
    recorded_exchange.faults = FaultPlan()
    return recorded_exchange


@pytest.fixture
def server(sim: SimExchange) -> Iterator[LoopbackServer]:
    """``sim`` served on 127.0.0.1 from a background thread."""
    with LoopbackServer(sim) as running:
        yield running
