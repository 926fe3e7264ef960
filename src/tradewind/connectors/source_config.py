"""The settings of market-data sources: the ordered list of exchanges that serve one data need,
with the symbol mapping between venues, and how they are switched and cross-checked (the
config's ``[sources]``; :mod:`.sources` opens them, :mod:`.failover` switches between them).

The first source of a list is the primary; the others are hot standbys in the order given.
Symbols are named once, canonically (the primary's unified symbols), and each source maps them
to its own where a venue lists the market under another name::

    [sources]
    divergence_bps = 20
    switch_back_after_s = 60

    [[sources.candles]]
    name = "binance"
    exchange = { name = "binance" }

    [[sources.candles]]
    name = "bybit"
    exchange = { name = "bybit" }
    symbols = { "XRP/USDT" = "XRP/USDT:USDT" }

A source reads public market data: it takes no key. A candle source streams Binance or Bybit
(:mod:`.stream_protocols`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tradewind.connectors.config import ExchangeConfig
from tradewind.connectors.latency import DEFAULT_THRESHOLD_MS
from tradewind.connectors.stream_protocols import STREAMED_EXCHANGES
from tradewind.core.errors import UserError
from tradewind.core.market_context import MarketContext


def public_exchange(exchange: ExchangeConfig) -> ExchangeConfig:
    """Return ``exchange`` without its credentials: the venue as a market-data source reads it
    (a live session's first candle source is its trading ``[exchange]``, with no key)."""
    return exchange.model_copy(update={"api_key": None, "secret": None, "password": None,
                                       "keystore_entry": None})  # fmt: skip


MIN_FAILOVER_S = 5.0
"""The failover allowance is ``max(2 x push interval, MIN_FAILOVER_S)`` after the last message."""


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
        exchange = self.exchange
        if exchange.api_key or exchange.secret or exchange.password or exchange.keystore_entry:
            raise UserError(
                f"source {self.name!r}: a market-data source reads public data; give it no key"
            )
        if exchange.name not in STREAMED_EXCHANGES:
            raise UserError(
                f"source {self.name!r}: exchange {self.exchange.name!r} cannot be streamed as a "
                f"market-data source yet (supported: {', '.join(sorted(STREAMED_EXCHANGES))})"
            )
        return self

    def venue_symbol(self, symbol: str) -> str:
        """Return this venue's name of the canonical ``symbol``."""
        return self.symbols.get(symbol, symbol)


class ContextVenueConfig(BaseModel):
    """One venue polled for market context (quote, 24-hour volume, funding, open interest) over
    REST: any exchange ccxt supports. ``symbols`` maps a canonical symbol to the venue's unified
    symbol (``"XRP/USDT:USDT"`` for a perpetual)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    exchange: ExchangeConfig = ExchangeConfig()
    symbols: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _public(self) -> ContextVenueConfig:
        exchange = self.exchange
        if exchange.api_key or exchange.secret or exchange.password or exchange.keystore_entry:
            raise UserError(
                f"context venue {self.name!r}: market context is public data; give it no key"
            )
        return self

    def venue_symbol(self, symbol: str) -> str:
        """Return this venue's name of the canonical ``symbol``."""
        return self.symbols.get(symbol, symbol)


DEFAULT_URLS = {
    "coingecko": "https://api.coingecko.com/api/v3",
    "cryptocompare": "https://min-api.cryptocompare.com",
}


class AggregatorConfig(BaseModel):
    """One price aggregator.

    ``symbols`` maps a canonical symbol to the aggregator's names (``"bitcoin/usd"`` for
    CoinGecko, ``"BTC/USD"`` for CryptoCompare); ``base_url`` None is the public API. A key is
    never written in the config: ``api_key_env`` names the environment variable that holds it.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    kind: Literal["coingecko", "cryptocompare"]
    base_url: str | None = None
    api_key_env: str | None = None
    pro: bool = False
    timeout_s: float = Field(default=10.0, gt=0)
    symbols: dict[str, str] = Field(default_factory=dict)

    @property
    def url(self) -> str:
        """The API's base URL."""
        return (self.base_url or DEFAULT_URLS[self.kind]).rstrip("/")

    def names(self, symbol: str) -> tuple[str, str]:
        """Return the aggregator's (coin, currency) of the canonical ``symbol``.

        Raises
        ------
        UserError
            When the config does not map ``symbol``.
        """
        mapped = self.symbols.get(symbol)
        if mapped is None or "/" not in mapped:
            raise UserError(
                f"aggregator {self.name!r}: map {symbol} to its names in symbols "
                f"(e.g. {symbol!r} = {'bitcoin/usd' if self.kind == 'coingecko' else 'BTC/USD'!r})"
            )
        coin, currency = mapped.split("/", 1)
        return coin, currency


class ContextLimits(BaseModel):
    """Limits on a symbol's market context beyond which a session takes no new entries on it
    (the "market context" breaker; exits still pass). A limit left None is not checked, and a
    figure no venue gave breaches nothing: context is advisory, its absence is not a signal.

    Attributes
    ----------
    max_spread_bps
        Widest distance between the venues' mids, in bps of their median
        (:meth:`~tradewind.core.market_context.MarketContext.widest_spread_bps`).
    max_funding_rate
        Largest absolute funding rate per interval of any venue (0.001 is 0.1 %).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_spread_bps: Decimal | None = Field(default=None, gt=0)
    max_funding_rate: Decimal | None = Field(default=None, gt=0)

    def breach(self, context: MarketContext) -> str | None:
        """Return what in ``context`` is beyond a limit (one line), or None."""
        spread = context.widest_spread_bps()
        if (
            self.max_spread_bps is not None
            and spread is not None
            and (spread > self.max_spread_bps)
        ):
            return f"cross-venue spread {spread:.1f} bps > {self.max_spread_bps} bps"
        if self.max_funding_rate is not None:
            for venue in context.venues:
                rate = venue.funding_rate
                if rate is not None and abs(rate) > self.max_funding_rate:
                    return (f"{venue.venue} funding rate {rate} beyond "
                            f"+/-{self.max_funding_rate}")  # fmt: skip
        return None


class SourcesConfig(BaseModel):
    """The ordered sources of each data need and how they are switched and cross-checked.

    Attributes
    ----------
    candles
        Sources of closed bars, primary first.
    trades
        Sources of public trades, primary first (empty: trades are not a need).
    books
        Sources of L2 books, primary first (empty: books are not a need).
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
    context
        Venues polled for market context (:mod:`~tradewind.connectors.context_feed`).
    context_period_s
        Seconds between two polls of the context venues.
    aggregators
        Price aggregators polled with the context venues (their prices, and BTC dominance).
    context_limits
        Limits on the market context (spread between venues, funding) that stop new entries.
    funding
        Venues of the funding rate as an ordered need, primary first, polled over REST with
        failover (:mod:`~tradewind.connectors.polled_sources`; empty: not a need).
    open_interest
        Venues of open interest as an ordered need, the same way.
    poll_period_s
        Seconds between two polls of the funding and open-interest needs.
    poll_timeout_s
        Seconds a venue of a polled need has to answer before it counts as failed (the switch
        to the next venue happens in the same poll).
    aggregator_check_s
        Seconds between polls of the aggregators' prices for the continuous cross-check (each
        price then counts as one more source's mid, under the same divergence and outlier
        rules); under the cross-check's 5 s window so that a polled price is always fresh.
        None (the default): aggregators give market context only.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    candles: list[SourceConfig] = Field(min_length=1)
    trades: list[SourceConfig] = Field(default_factory=list)
    books: list[SourceConfig] = Field(default_factory=list)
    push_interval_s: float = Field(default=2.0, gt=0)
    switch_back_after_s: float = Field(default=60.0, ge=0)
    check_period_s: float = Field(default=0.2, gt=0, le=1.0)
    divergence_bps: Decimal = Field(default=Decimal(20), gt=0)
    outlier_k: Decimal = Field(default=Decimal(5), gt=0)
    latency_alert_ms: float = Field(default=DEFAULT_THRESHOLD_MS, gt=0)
    context: list[ContextVenueConfig] = Field(default_factory=list)
    context_period_s: float = Field(default=60.0, gt=0)
    aggregators: list[AggregatorConfig] = Field(default_factory=list)
    aggregator_check_s: float | None = Field(default=None, gt=0, lt=5.0)
    context_limits: ContextLimits | None = None
    funding: list[ContextVenueConfig] = Field(default_factory=list)
    open_interest: list[ContextVenueConfig] = Field(default_factory=list)
    poll_period_s: float = Field(default=10.0, gt=0)
    poll_timeout_s: float = Field(default=MIN_FAILOVER_S, gt=0)

    @model_validator(mode="after")
    def _unique(self) -> SourcesConfig:
        for kind, names in (("candle source", [s.name for s in self.candles]),
                            ("trade source", [s.name for s in self.trades]),
                            ("book source", [s.name for s in self.books]),
                            ("context venue", [v.name for v in self.context]),
                            ("funding source", [v.name for v in self.funding]),
                            ("open-interest source", [v.name for v in self.open_interest]),
                            ("aggregator", [a.name for a in self.aggregators])):  # fmt: skip
            if len(set(names)) != len(names):
                raise UserError(f"a {kind} is named twice in {', '.join(names)}")
        if self.context_limits is not None and not self.context:
            raise UserError("sources.context_limits judge the market context: add "
                            "[[sources.context]] venues to poll")  # fmt: skip
        if self.aggregator_check_s is not None and not self.aggregators:
            raise UserError("sources.aggregator_check_s cross-checks the aggregators' prices: "
                            "add [[sources.aggregators]]")  # fmt: skip
        return self

    @property
    def failover_after_s(self) -> float:
        """Seconds after the active source's last message by which the next one takes over."""
        return max(2.0 * self.push_interval_s, MIN_FAILOVER_S)
