"""Cross-verification, latency percentiles, the sources config and its market-context limits,
on their own."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tradewind.connectors.config import ExchangeConfig
from tradewind.connectors.crosscheck import CrossCheck, deviation_bps
from tradewind.connectors.latency import LatencyMonitor
from tradewind.connectors.source_config import ContextLimits, SourceConfig, SourcesConfig
from tradewind.core.errors import UserError
from tradewind.core.market_context import MarketContext, VenueContext
from tradewind.core.source_events import QualityKind

D = Decimal


def test_deviation_is_signed_bps_of_the_reference() -> None:
    assert deviation_bps(D("100.2"), D("100")) == D("20.00")
    assert deviation_bps(D("99.9"), D("100")) == D("-10.00")


def test_divergence_trips_beyond_the_threshold_and_clears_when_back() -> None:
    check = CrossCheck(threshold_bps=D(15))
    assert check.observe("a", "XRP/USDT", D("1.0000"), 0) == []
    assert check.observe("b", "XRP/USDT", D("1.0010"), 10) == []  # 10 bps: an ordinary offset
    assert check.divergent_symbols() == set()

    found = check.observe("a", "XRP/USDT", D("1.0040"), 20)  # 30 bps above b

    kinds = [f.kind for f in found]
    assert QualityKind.DIVERGENCE in kinds
    assert check.divergent_symbols() == {"XRP/USDT"}
    divergence = next(f for f in found if f.kind is QualityKind.DIVERGENCE)
    assert abs(divergence.deviation_bps) > 15
    assert check.observe("a", "XRP/USDT", D("1.0041"), 30) == []  # still divergent: said once
    cleared = check.observe("a", "XRP/USDT", D("1.0012"), 40)
    assert [f.kind for f in cleared] == [QualityKind.CONVERGED]
    assert check.divergent_symbols() == set()


def test_a_silent_source_ages_out_of_the_comparison() -> None:
    check = CrossCheck(threshold_bps=D(15), window_ms=5_000)
    check.observe("a", "S", D("100"), 0)
    check.observe("b", "S", D("101"), 0)  # 100 bps apart
    assert check.divergent_symbols() == {"S"}
    found = check.observe("a", "S", D("100"), 6_000)  # b said nothing for 6 s
    assert [f.kind for f in found] == [QualityKind.CONVERGED]


def test_a_print_beyond_k_mad_of_the_others_is_an_outlier_and_rejected() -> None:
    check = CrossCheck(threshold_bps=D(50), outlier_k=D(5), mad_floor_bps=D(1))
    quotes = [("100.00", "100.02"), ("100.01", "100.03"), ("99.99", "100.01")]
    for i, (b, c) in enumerate(quotes):
        check.observe("b", "S", D(b), i)
        check.observe("c", "S", D(c), i)
    # The others' mids: median 100.01, MAD 0.01, floor 1 bp (0.010001): band 5 x 0.010001.
    inside = check.observe("a", "S", D("100.05"), 5)
    assert inside == []
    spike = check.observe("a", "S", D("100.20"), 6)
    assert [f.kind for f in spike] == [QualityKind.OUTLIER]
    assert spike[0].reference == D("100.01")
    assert check.outliers == 1
    # A rejected print is not in the window others are judged against: c at 100.02 is fine.
    assert check.observe("c", "S", D("100.02"), 7) == []
    # The same spell is reported once.
    assert check.observe("a", "S", D("100.21"), 8) == []
    assert check.outliers == 2


def test_cross_check_rejects_nonsense_settings() -> None:
    with pytest.raises(UserError, match="threshold_bps"):
        CrossCheck(threshold_bps=D(0))
    with pytest.raises(UserError, match="window_ms"):
        CrossCheck(window_ms=0)


def test_latency_percentiles_and_an_alert_raised_once_and_cleared_once() -> None:
    monitor = LatencyMonitor(threshold_ms=100, window=50, min_samples=20)
    alerts = [monitor.observe("v", "depth", 1_000 * i, 1_000 * i + 20) for i in range(30)]
    assert not any(alerts)
    assert monitor.percentiles("v", "depth") == (20.0, 20.0)
    raised = [a for a in (monitor.observe("v", "depth", 0, 250) for _ in range(30)) if a]
    assert len(raised) == 1
    assert raised[0].raised
    assert raised[0].p99_ms > 100
    assert monitor.alerting() == [("v", "depth")]
    cleared = [a for a in (monitor.observe("v", "depth", 0, 10) for _ in range(60)) if a]
    assert [a.raised for a in cleared] == [False]
    assert monitor.alerting() == []
    with pytest.raises(UserError):
        LatencyMonitor(threshold_ms=0)


def test_sources_config_orders_sources_and_states_the_failover_allowance() -> None:
    config = SourcesConfig.model_validate({
        "candles": [{"name": "binance"},
                    {"name": "eu", "exchange": {"rest_url": "http://127.0.0.1:9"},
                     "symbols": {"XRP/USDT": "XRP/USDC"}}],
    })  # fmt: skip
    assert [s.name for s in config.candles] == ["binance", "eu"]
    assert config.failover_after_s == 5.0  # max(2 x 2 s, 5 s)
    assert config.switch_back_after_s == 60.0
    assert config.candles[1].venue_symbol("XRP/USDT") == "XRP/USDC"
    assert config.candles[1].venue_symbol("BTC/USDT") == "BTC/USDT"
    assert SourcesConfig(candles=[SourceConfig(name="x")], push_interval_s=4).failover_after_s == 8
    with pytest.raises(UserError, match="twice"):
        SourcesConfig(candles=[SourceConfig(name="x"), SourceConfig(name="x")])
    with pytest.raises(UserError, match="kraken"):
        SourceConfig(name="k", exchange=ExchangeConfig(name="kraken"))
    with pytest.raises(ValueError, match="extra"):
        SourcesConfig.model_validate({"candles": [{"name": "x"}], "bogus": 1})
    # A Bybit source streams; the aggregators' cross-check needs aggregators and a poll period
    # under the 5 s window.
    assert SourceConfig(name="b", exchange=ExchangeConfig(name="bybit")).exchange.name == "bybit"
    with pytest.raises(UserError, match=r"add \[\[sources.aggregators\]\]"):
        SourcesConfig(candles=[SourceConfig(name="x")], aggregator_check_s=1.0)
    aggregator = {"name": "cg", "kind": "coingecko"}
    with pytest.raises(ValueError, match="less than 5"):
        SourcesConfig.model_validate({"candles": [{"name": "x"}], "aggregators": [aggregator],
                                      "aggregator_check_s": 5})  # fmt: skip
    assert SourcesConfig.model_validate({"candles": [{"name": "x"}], "aggregators": [aggregator],
                                         "aggregator_check_s": 2}).aggregator_check_s == 2  # fmt: skip


def test_context_limits_name_the_spread_or_funding_beyond_them() -> None:
    def context(*venues: VenueContext) -> MarketContext:
        return MarketContext("XRP/USDT:USDT", venues, 0)

    a = VenueContext("a", "XRP/USDT:USDT", bid=D("0.9999"), ask=D("1.0001"),
                     funding_rate=D("0.0001"))  # fmt: skip
    wide = VenueContext("b", "XRP/USDT:USDT", bid=D("1.0049"), ask=D("1.0051"),
                        funding_rate=D("-0.003"))  # fmt: skip
    spread = ContextLimits(max_spread_bps=D(30))
    funding = ContextLimits(max_funding_rate=D("0.001"))
    assert spread.breach(context(a)) is None  # one mid: no spread to judge
    assert spread.breach(context(a, wide)) == "cross-venue spread 49.9 bps > 30 bps"
    assert funding.breach(context(a)) is None
    assert funding.breach(context(a, wide)) == "b funding rate -0.003 beyond +/-0.001"
    assert ContextLimits().breach(context(a, wide)) is None
    failed = VenueContext("c", "XRP/USDT:USDT", error="ExchangeNotAvailable: down")
    assert spread.breach(context(a, failed)) is None  # context absent is not a breach
    with pytest.raises(UserError, match="context_limits"):
        SourcesConfig.model_validate({"candles": [{"name": "x"}],
                                      "context_limits": {"max_spread_bps": 30}})  # fmt: skip
