"""HistoryFetcher's rules that downloads rely on: closed candles only, backoff, paging ends."""

from __future__ import annotations

import pandas as pd
import pytest

from tradewind.connectors.client import create_client
from tradewind.connectors.config import ExchangeConfig
from tradewind.connectors.history import HistoryFetcher, RetryPolicy
from tradewind.venues.exchange_sim import LoopbackServer


def test_only_closed_candles_are_yielded(server: LoopbackServer) -> None:
    client = create_client(ExchangeConfig(rest_url=server.rest_url, rate_limit=False))
    # Pretend "now" is 2018-01-10 05:07:30: the 05:05 candle is still forming.
    now = int(pd.Timestamp("2018-01-10 05:07:30", tz="UTC").value // 1_000_000)
    client.milliseconds = lambda: now
    fetcher = HistoryFetcher(client)
    pages = list(fetcher.iter_candles("ETH/BTC", "5m", 0))
    dates = pd.concat(pages)["date"].tolist()
    assert dates == [
        pd.Timestamp("2018-01-10 04:55", tz="UTC"),
        pd.Timestamp("2018-01-10 05:00", tz="UTC"),
    ]


def test_a_range_ending_inside_the_data_stops_without_an_extra_request(
    server: LoopbackServer,
) -> None:
    client = create_client(ExchangeConfig(rest_url=server.rest_url, rate_limit=False))
    fetcher = HistoryFetcher(client)
    since = int(pd.Timestamp("2018-01-10", tz="UTC").value // 1_000_000)
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
