"""A live session's ``/health`` names the venue's state and the reconciliation's age, and its
``/metrics`` the shared request budget's use, on the exchange simulator with the real ccxt client.

Venue errors are injected by the simulator (HTTP 503 on the order endpoint): ``/health`` counts
them in its window and names the last one, while a policy that needs many more never trips.
"""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from typing import Any

import pytest
from tests.integration.session.test_live_ops import Live, _operate

from tradewind.exchange_sim.faults import Fault, FaultKind
from tradewind.ops.venue_errors import VenueErrorPolicy

_RATIO = re.compile(r"^tradewind_rate_budget_used_ratio (\S+)$", re.MULTILINE)


async def _health(live: Live) -> dict[str, Any]:
    assert live.client is not None
    answer = await live.client.get("/health")  # no token needed
    return dict(answer.json())


@pytest.mark.slow
async def test_health_names_the_venue_and_the_reconciliation_age_and_metrics_the_budget(
    shared_data: Path, tmp_path: Path
) -> None:
    seen: dict[str, Any] = {}

    async def operator(live: Live) -> None:
        await live.connect()
        await live.until_long()
        seen["before"] = (await _health(live))["components"]
        live.server.sim.faults.add(Fault(kind=FaultKind.SERVER_ERROR, path="/api/v3/order",
                                         times=3, status=503))  # fmt: skip
        deadline = time.monotonic() + 120
        while (venue := (await _health(live))["components"]["venue"])["errors_total"] < 3:
            assert time.monotonic() < deadline, f"the venue errors never showed: {venue}"
            await asyncio.sleep(0.1)
        seen["after"] = (await _health(live))["components"]
        assert live.client is not None
        while True:
            text = (await live.client.get("/metrics", headers=live.auth)).text
            ratio = float(_RATIO.search(text).group(1))  # type: ignore[union-attr]
            if ratio > 0 or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
        seen["ratio"] = ratio

    policy = VenueErrorPolicy(max_errors=100, window_s=60)
    live = await _operate(shared_data, tmp_path, 3, operator, venue_errors=policy)
    before, after = seen["before"], seen["after"]
    assert before["venue"]["ok"] is True
    assert before["venue"]["exchange"] == "binance"
    assert before["venue"]["errors_in_window"] == 0
    assert before["reconciliation"]["ok"] is True
    assert before["reconciliation"]["age_s"] >= 0
    assert after["reconciliation"]["age_s"] >= before["reconciliation"]["age_s"]
    assert after["venue"]["errors_in_window"] >= 3
    assert after["venue"]["tripped"] is False
    assert after["venue"]["last_error"]  # the exchange's own words
    # Every request took its weight from the budget file all processes share.
    assert (tmp_path / "bots" / "rate-binance.json").exists()
    assert 0 < seen["ratio"] <= 1
    assert live.session.venue_errors.total >= 3
    # Every answered request was timed for the latency anomaly alert.
    assert live.ops.anomalies is not None
    assert live.ops.anomalies.requests > 0
