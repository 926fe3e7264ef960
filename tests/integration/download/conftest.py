"""Fixtures for download tests: the shared recordings on a loopback Binance, a catalog, a config."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tradewind.connectors.config import ExchangeConfig
from tradewind.data.catalog import Catalog
from tradewind.exchange_sim import FaultPlan, LoopbackServer, SimExchange
from tradewind.exchange_sim.recordings import list_shared_recordings
from tradewind.testing.replay import first_pass_offset

# The exchange's clock stands still at an 8-hour boundary, where every recording's first pass
# has just ended: the whole recording is closed history, and nothing closes while a test runs.
FROZEN_MS = time.time_ns() // 1_000_000 // 28_800_000 * 28_800_000


@pytest.fixture(scope="session")
def recorded_exchange(shared_data: Path) -> SimExchange:
    """Every shared recording listed once per session (reading the files is the slow part)."""
    return list_shared_recordings(SimExchange(clock=lambda: FROZEN_MS), shared_data)


@pytest.fixture
def server(recorded_exchange: SimExchange) -> Iterator[LoopbackServer]:
    """The recorded exchange on 127.0.0.1, with a fresh fault plan and request log."""
    recorded_exchange.faults = FaultPlan()
    with LoopbackServer(recorded_exchange) as running:
        yield running


@pytest.fixture
def exchange_cfg(server: LoopbackServer) -> ExchangeConfig:
    """The real ccxt Binance client's settings, pointed at the loopback server.

    The rate limiter is off and backoff starts at 1 ms so fault tests stay fast; credentials are
    set so tests can prove they never leak.
    """
    return ExchangeConfig(
        rest_url=server.rest_url,
        rate_limit=False,
        timeout_ms=2_000,
        max_retries=4,
        retry_base_delay_s=0.001,
        api_key="loopback-key-5b1e9c",
        secret="loopback-secret-77d0aa",
    )


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    """An empty catalog in a temporary folder."""
    return Catalog(tmp_path / "catalog")


@pytest.fixture
def shift(server: LoopbackServer) -> Callable[[str, str], int]:
    """``shift(api, symbol)``: server time minus recording time of the recording's first pass."""
    return lambda api, symbol: first_pass_offset(server.rest_url, api, symbol)
