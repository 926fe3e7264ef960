"""Scheduled faults are served on the right requests, and every request is logged."""

from __future__ import annotations

import pytest
import requests

from tradewind.exchange_sim import Fault, FaultKind, FaultPlan, LoopbackServer

KLINES = "/api/v3/klines"
PARAMS = {"symbol": "ETHBTC", "interval": "5m", "limit": 2}


def klines(server: LoopbackServer, timeout: float = 5) -> requests.Response:
    return requests.get(f"{server.rest_url}{KLINES}", params=PARAMS, timeout=timeout)


def test_a_429_burst_on_the_nth_request(server: LoopbackServer) -> None:
    server.faults.add(
        Fault(kind=FaultKind.RATE_LIMIT, at_request=2, times=3, path=KLINES, retry_after_s=7)
    )
    answers = [klines(server) for _ in range(5)]
    assert [a.status_code for a in answers] == [200, 429, 429, 429, 200]
    limited = answers[1]
    assert limited.headers["Retry-After"] == "7"
    assert limited.json()["code"] == -1003
    assert limited.json()["msg"].startswith("Too much request weight used;")
    log = server.requests(KLINES)
    assert [(r.seq, r.status, r.fault) for r in log] == [
        (1, 200, None),
        (2, 429, FaultKind.RATE_LIMIT),
        (3, 429, FaultKind.RATE_LIMIT),
        (4, 429, FaultKind.RATE_LIMIT),
        (5, 200, None),
    ]
    assert log[0].params == {"symbol": "ETHBTC", "interval": "5m", "limit": "2"}


def test_faults_count_only_requests_under_their_path(server: LoopbackServer) -> None:
    server.faults.add(Fault(kind=FaultKind.IP_BAN, at_request=1, path=KLINES, retry_after_s=60))
    assert requests.get(f"{server.rest_url}/api/v3/ping", timeout=5).status_code == 200
    banned = klines(server)
    assert banned.status_code == 418
    assert "IP banned until" in banned.json()["msg"]
    assert banned.headers["Retry-After"] == "60"


@pytest.mark.parametrize(
    ("json_body", "status", "content"),
    [(False, 502, "502 simulated server error"), (True, 500, '"code": -1001')],
)
def test_server_errors_plain_or_binance_json(
    server: LoopbackServer, json_body: bool, status: int, content: str
) -> None:
    server.faults.add(Fault(kind=FaultKind.SERVER_ERROR, status=status, json_body=json_body))
    answer = klines(server)
    assert answer.status_code == status
    assert content in answer.text
    assert klines(server).status_code == 200


def test_a_stall_longer_than_the_client_timeout(server: LoopbackServer) -> None:
    server.faults.add(Fault(kind=FaultKind.STALL, delay_s=2.0, path=KLINES))
    with pytest.raises(requests.exceptions.ReadTimeout):
        klines(server, timeout=0.2)
    assert klines(server).status_code == 200
    first = server.requests(KLINES)[0]
    assert first.fault is FaultKind.STALL
    assert first.status is None  # the client left before the answer


def test_a_fault_is_drawn_only_on_its_scheduled_requests() -> None:
    plan = FaultPlan([Fault(kind=FaultKind.STALL, delay_s=0.05)])
    assert plan.draw("/api/v3/klines") is plan.faults[0]
    assert plan.draw("/api/v3/klines") is None


@pytest.mark.parametrize(
    "bad",
    [
        {"at_request": 0},
        {"times": 0},
        {"kind": FaultKind.SERVER_ERROR, "status": 404},
        {"retry_after_s": -1},
    ],
)
def test_bad_fault_definitions_are_refused(bad: dict[str, object]) -> None:
    fields: dict[str, object] = {"kind": FaultKind.RATE_LIMIT, **bad}
    with pytest.raises(ValueError, match=r"fault|server error|negative"):
        Fault(**fields)  # type: ignore[arg-type]
