"""Market-data sources: the ordered list of exchanges that serve one data need, with the symbol
mapping between venues, and how each source is opened.

A source is a ccxt exchange reached through its async ``ccxt.pro`` client and read by its own
self-healing :class:`~tradewind.connectors.market_feed.MarketFeed`. The first source of a list is
the primary; the others are hot standbys in the order given
(:class:`~tradewind.connectors.failover.SourceSet` switches between them). Symbols are named
once, canonically (the primary's unified symbols), and each source maps them to its own where
a venue lists the market under another name::

    [sources]
    divergence_bps = 20
    switch_back_after_s = 60

    [[sources.candles]]
    name = "binance"
    exchange = { name = "binance" }

    [[sources.candles]]
    name = "binance-eu"
    exchange = { name = "binance", rest_url = "http://127.0.0.1:9102" }
    symbols = { "XRP/USDT" = "XRP/USDT" }
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tradewind.connectors.client import create_async_client
from tradewind.connectors.config import ExchangeConfig
from tradewind.connectors.latency import DEFAULT_THRESHOLD_MS
from tradewind.connectors.market_feed import FeedSpec, MarketFeed
from tradewind.core.errors import UserError

MIN_FAILOVER_S = 5.0
"""The failover allowance is ``max(2 x push interval, MIN_FAILOVER_S)`` after the last message."""

STREAMED_PROTOCOLS = frozenset({"binance"})
"""Exchanges whose streams :class:`MarketFeed` reads (it taps Binance's raw messages)."""


class SourceConfig(BaseModel):
    """One source of a data need.

    ``symbols`` maps a canonical symbol to this venue's unified symbol where they differ.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    exchange: ExchangeConfig = ExchangeConfig()
    symbols: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _streamed(self) -> SourceConfig:
        if self.exchange.name not in STREAMED_PROTOCOLS:
            raise UserError(
                f"source {self.name!r}: exchange {self.exchange.name!r} cannot be streamed as a "
                f"market-data source yet (supported: {', '.join(sorted(STREAMED_PROTOCOLS))})"
            )
        return self

    def venue_symbol(self, symbol: str) -> str:
        """Return this venue's name of the canonical ``symbol``."""
        return self.symbols.get(symbol, symbol)


class SourcesConfig(BaseModel):
    """The ordered sources of each data need and how they are switched and cross-checked.

    Attributes
    ----------
    candles
        Sources of closed bars, primary first.
    push_interval_s
        The candle stream's push interval (Binance: 2 s).
    switch_back_after_s
        How long a source of higher priority must be healthy before it is active again.
    check_period_s
        How often sources' health is judged.
    divergence_bps
        Mid distance between sources that trips the data divergence state.
    outlier_k
        Prints more than ``outlier_k x MAD`` from the other sources' mids are rejected.
    latency_alert_ms
        Rolling p99 receive lag above which a stream alerts.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    candles: list[SourceConfig] = Field(min_length=1)
    push_interval_s: float = Field(default=2.0, gt=0)
    switch_back_after_s: float = Field(default=60.0, ge=0)
    check_period_s: float = Field(default=0.2, gt=0, le=1.0)
    divergence_bps: Decimal = Field(default=Decimal(20), gt=0)
    outlier_k: Decimal = Field(default=Decimal(5), gt=0)
    latency_alert_ms: float = Field(default=DEFAULT_THRESHOLD_MS, gt=0)

    @model_validator(mode="after")
    def _unique(self) -> SourcesConfig:
        names = [s.name for s in self.candles]
        if len(set(names)) != len(names):
            raise UserError(f"a candle source is named twice in {', '.join(names)}")
        return self

    @property
    def failover_after_s(self) -> float:
        """Seconds after the active source's last message by which the next one takes over."""
        return max(2.0 * self.push_interval_s, MIN_FAILOVER_S)


@dataclass(eq=False)
class CandleSource:
    """An opened source: its config and its market feed (over venue symbols)."""

    config: SourceConfig
    feed: MarketFeed
    canonical: dict[str, str] = field(default_factory=dict)
    """Venue symbol -> canonical symbol."""

    @property
    def name(self) -> str:
        """The source's name."""
        return self.config.name


def open_sources(config: SourcesConfig, spec: FeedSpec) -> list[CandleSource]:
    """Build each candle source's client and feed for ``spec`` (canonical symbols); not started.

    Raises
    ------
    UserError
        For an unknown exchange (from the client factory).
    """
    opened = []
    for source in config.candles:
        venue_symbols = tuple(source.venue_symbol(s) for s in spec.symbols)
        venue_spec = FeedSpec(
            symbols=venue_symbols, timeframes=spec.timeframes, kinds=spec.kinds,
            warmup_bars=spec.warmup_bars, backfill=spec.backfill,
            snapshot_limit=spec.snapshot_limit,
        )  # fmt: skip
        feed = MarketFeed(create_async_client(source.exchange), venue_spec)
        canonical = {source.venue_symbol(s): s for s in spec.symbols}
        opened.append(CandleSource(source, feed, canonical))
    return opened
