"""HistoryFetcher's rules that downloads rely on: closed candles only, backoff, paging ends."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tradewind.connectors.client import create_client
from tradewind.connectors.config import ExchangeConfig
from tradewind.connectors.history import HistoryFetcher, RetryPolicy
from tradewind.exchange_sim import LoopbackServer, SimExchange
from tradewind.exchange_sim.recordings import shared_listings
from tradewind.testing.replay import first_pass_offset


def test_only_candles_closed_by_the_exchange_clock_are_yielded(shared_data: Path) -> None:
    # A frozen exchange clock 2.5 minutes into the first candle of the replay's second pass:
    # the whole recording is history (closed), and that candle is served, still forming.
    now = 1_800_000_000_000 + 150_000
    sim = SimExchange(clock=lambda: now)
    frame = pd.read_feather(shared_data / "candles" / "ETH_BTC-5m.feather")
    sim.add_listing(shared_listings()["spot:ETHBTC"], klines={"5m": frame})
    with LoopbackServer(sim) as server:
        client = create_client(ExchangeConfig(rest_url=server.rest_url, rate_limit=False))
        # The client's clock runs an hour ahead: it must not decide what is closed.
        client.milliseconds = lambda: now + 3_600_000
        served = client.fetch_ohlcv("ETH/BTC", "5m", None, 2)
        fetcher = HistoryFetcher(client)
        pages = list(fetcher.iter_candles("ETH/BTC", "5m", 0))
    forming = served[-1]
    assert forming[0] <= now < forming[0] + 300_000
    candles = pd.concat(pages)
    assert len(candles) == len(frame)
    assert int(candles["date"].iloc[-1].value // 1_000_000) == served[-2][0]
    # No candle whose close time is at or after the exchange's time.
    assert all(d.value // 1_000_000 + 300_000 - 1 < now for d in candles["date"])


def test_a_range_ending_inside_the_data_stops_without_an_extra_request(
    server: LoopbackServer,
) -> None:
    client = create_client(ExchangeConfig(rest_url=server.rest_url, rate_limit=False))
    fetcher = HistoryFetcher(client)
    shift = first_pass_offset(server.rest_url, "spot", "ETHBTC")
    since = int(pd.Timestamp("2018-01-10", tz="UTC").value // 1_000_000) + shift
    until = since + 2 * 86_400_000
    rows = sum(len(p) for p in fetcher.iter_candles("ETH/BTC", "5m", since, until))
    assert rows == 2 * 288 - 59  # 2018-01-10 04:55 to 2018-01-11 23:55
    assert len(server.requests("/api/v3/klines")) == 1  # a short page ends the range
    assert server.requests("/api/v3/klines")[0].params["endTime"] == str(until - 1)


@pytest.mark.parametrize(
    ("attempt", "retry_after", "expected"),
    [(0, None, 0.5), (1, None, 1.0), (3, None, 4.0), (10, None, 60.0), (0, 30.0, 30.0)],
)
def test_backoff_doubles_is_capped_and_yields_to_retry_after(
    attempt: int, retry_after: float | None, expected: float
) -> None:
    policy = RetryPolicy(max_retries=10, base_delay_s=0.5, max_delay_s=60.0)
    assert policy.delay_s(attempt, retry_after) == expected


def test_policy_from_config() -> None:
    policy = RetryPolicy.from_config(ExchangeConfig(max_retries=7, retry_base_delay_s=0.25))
    assert (policy.max_retries, policy.base_delay_s) == (7, 0.25)
