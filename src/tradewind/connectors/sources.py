"""Market-data sources opened: each source of a data need of a
:class:`~.source_config.SourcesConfig` (candles, trades or books) as its
exchange's async ``ccxt.pro`` client read by its own self-healing
:class:`~tradewind.connectors.market_feed.MarketFeed`, with the mapping back to canonical
symbols (:class:`~tradewind.connectors.failover.SourceSet` switches between them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tradewind.connectors.client import create_async_client
from tradewind.connectors.market_feed import FeedSpec, MarketFeed, RawRecorder
from tradewind.connectors.source_config import SourceConfig, SourcesConfig
from tradewind.core.errors import UserError


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


NEEDS = ("candles", "trades", "books")
"""The data needs with ordered sources (the lists of :class:`~.source_config.SourcesConfig`)."""


def open_sources(
    config: SourcesConfig,
    spec: FeedSpec,
    *,
    recorder: RawRecorder | None = None,
    primary_client: Any | None = None,
    need: str = "candles",
) -> list[CandleSource]:
    """Build each source's client and feed of ``need`` (one of :data:`NEEDS`) for ``spec``
    (canonical symbols); not started.

    ``recorder`` receives every source's raw messages, the streams of a source after the first
    named ``<source> <stream>``. ``primary_client`` is the first source's client when the caller
    has made it already (to load the markets); each feed closes its client when it stops.

    Raises
    ------
    UserError
        For an unknown exchange (from the client factory), or a need without sources.
    """
    if need not in NEEDS:
        raise UserError(f"no data need {need!r} (needs: {', '.join(NEEDS)})")
    listed: list[SourceConfig] = getattr(config, need)
    if not listed:
        raise UserError(f"no [[sources.{need}]] in the config")
    opened = []
    for index, source in enumerate(listed):
        venue_symbols = tuple(source.venue_symbol(s) for s in spec.symbols)
        venue_spec = FeedSpec(
            symbols=venue_symbols, timeframes=spec.timeframes, kinds=spec.kinds,
            warmup_bars=spec.warmup_bars, backfill=spec.backfill,
            snapshot_limit=spec.snapshot_limit,
        )  # fmt: skip
        client = primary_client if index == 0 and primary_client is not None else None
        feed = MarketFeed(
            client or create_async_client(source.exchange), venue_spec,
            recorder=_named(recorder, source.name) if index and recorder else recorder,
        )  # fmt: skip
        canonical = {source.venue_symbol(s): s for s in spec.symbols}
        opened.append(CandleSource(source, feed, canonical))
    return opened


def _named(recorder: RawRecorder, name: str) -> RawRecorder:
    def record(stream: str, symbol: str, message: dict[str, Any], received_ms: int) -> None:
        recorder(f"{name} {stream}", symbol, message, received_ms)

    return record
