"""Market context across venues: what each venue says about one market besides its bars (its
quote, 24-hour volume, funding rate and open interest), and the cross-venue view derived from
them (the spread between venues' mids, total open interest and volume, the average funding), and
the market as a whole (BTC dominance, from a price aggregator).

A :class:`VenueContext` is one venue's answer at one poll; a :class:`MarketContext` gathers the
answers of every venue for one canonical symbol at one poll, with the latest reading of each
polled data need (:class:`ContextReading`: funding, open interest from the need's active venue;
a session keeps them on the symbol's context, which has no venues when no
``[[sources.context]]`` is polled). A value a venue did not give (a spot
market has no funding, a venue that failed to answer gives nothing) is None, and the cross-venue
figures are taken over the venues that gave it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from statistics import median

_BPS = Decimal(10_000)
_TWO = Decimal(2)


@dataclass(frozen=True, slots=True)
class VenueContext:
    """One venue's view of a market at one poll.

    ``volume_24h`` is in the quote currency, ``open_interest`` in base units, ``funding_rate`` a
    fraction per funding interval (0.0001 is 0.01 %). ``price`` is a price aggregator's (which
    quotes no book). ``error`` names why the venue gave nothing (its fields are then None).
    """

    venue: str
    symbol: str
    bid: Decimal | None = None
    ask: Decimal | None = None
    volume_24h: Decimal | None = None
    funding_rate: Decimal | None = None
    next_funding_ms: int | None = None
    open_interest: Decimal | None = None
    received_ms: int = 0
    error: str = ""
    price: Decimal | None = None

    @property
    def mid(self) -> Decimal | None:
        """The mid of the venue's best bid and ask; an aggregator's price; else None."""
        if self.bid is None or self.ask is None:
            return self.price
        return (self.bid + self.ask) / _TWO


@dataclass(frozen=True, slots=True)
class MarketContext:
    """Every venue's view of ``symbol`` at one poll (received by ``received_ms``), with Bitcoin's
    share of the whole market's capitalisation in percent (``btc_dominance``) when an aggregator
    gave it, and the latest reading of each polled data need (``readings``, one per need: read
    them with :meth:`reading`)."""

    symbol: str
    venues: tuple[VenueContext, ...]
    received_ms: int
    btc_dominance: Decimal | None = None
    readings: tuple[ContextReading, ...] = ()

    def reading(self, need: str) -> ContextReading | None:
        """Return the latest reading of polled data need ``need`` (``funding``,
        ``open_interest``), or None before its first or when the need is not configured."""
        return next((r for r in self.readings if r.need == need), None)

    def with_reading(self, reading: ContextReading) -> MarketContext:
        """Return this context with ``reading`` in place of its need's previous one (the venues
        stay as polled)."""
        if reading.symbol != self.symbol:
            raise ValueError(f"a reading of {reading.symbol} on the context of {self.symbol}")
        kept = tuple(r for r in self.readings if r.need != reading.need)
        return replace(self, readings=(*kept, reading))

    def carrying(self, previous: MarketContext | None) -> MarketContext:
        """Return this (newer) context with ``previous``'s readings: the venues are polled on
        one period and the data needs on their own, so a new venue snapshot keeps the latest
        readings until their needs poll again."""
        if previous is None or not previous.readings:
            return self
        return replace(self, readings=previous.readings)

    def venue(self, name: str) -> VenueContext | None:
        """Return ``name``'s view, or None when it is not polled."""
        return next((v for v in self.venues if v.venue == name), None)

    def preferred(self, field: str) -> tuple[str, Decimal] | None:
        """Return ``(venue, value)`` of ``field`` (``funding_rate``, ``open_interest``,
        ``volume_24h``, ``mid``...) from the first venue, in the configured order, that gave it:
        the ordered sources of one data need, failing over to the next when one is silent."""
        for venue in self.venues:
            value = getattr(venue, field)
            if value is not None:
                return venue.venue, value
        return None

    def spread_bps(self, a: str, b: str) -> Decimal | None:
        """Return how far venue ``a``'s mid is above ``b``'s, in bps of ``b``'s (None without
        both mids)."""
        va, vb = self.venue(a), self.venue(b)
        mid_a = va.mid if va is not None else None
        mid_b = vb.mid if vb is not None else None
        if mid_a is None or mid_b is None or not mid_b:
            return None
        return (mid_a - mid_b) / mid_b * _BPS

    def widest_spread_bps(self) -> Decimal | None:
        """Return the distance between the highest and the lowest mid, in bps of the median mid
        (None with fewer than two mids)."""
        mids = [m for v in self.venues if (m := v.mid) is not None]
        if len(mids) < 2:
            return None
        return (max(mids) - min(mids)) / median(mids) * _BPS

    def open_interest(self) -> Decimal | None:
        """Return the open interest summed over the venues that give it (base units)."""
        values = [v.open_interest for v in self.venues if v.open_interest is not None]
        return sum(values, Decimal(0)) if values else None

    def volume_24h(self) -> Decimal | None:
        """Return the 24-hour quote volume summed over the venues that give it."""
        values = [v.volume_24h for v in self.venues if v.volume_24h is not None]
        return sum(values, Decimal(0)) if values else None

    def funding_rate(self) -> Decimal | None:
        """Return the venues' funding rates averaged, weighted by open interest where every
        venue with a rate gives one (plain mean otherwise); None when no venue gives a rate."""
        rated = [(v.funding_rate, v.open_interest) for v in self.venues
                 if v.funding_rate is not None]  # fmt: skip
        if not rated:
            return None
        weighted = [(rate, oi) for rate, oi in rated if oi is not None]
        total = sum((oi for _, oi in weighted), Decimal(0))
        if len(weighted) == len(rated) and total:
            return sum((rate * oi for rate, oi in weighted), Decimal(0)) / total
        return sum((rate for rate, _ in rated), Decimal(0)) / len(rated)


@dataclass(frozen=True, slots=True)
class ContextReading:
    """One poll's figure of a polled data need (``funding``: the funding rate per interval;
    ``open_interest``: base units) for canonical ``symbol``, from the need's active venue.

    ``poll`` numbers the need's polls from 1; every poll gives one reading per symbol (from the
    next venue in order when the active one fails), so consecutive numbers show no gap.
    ``secondary`` is True when ``venue`` is not the first of the need. ``exchange_ms`` is the
    venue's own stamp when it gave one; ``next_funding_ms`` is set for funding.
    """

    need: str
    symbol: str
    venue: str
    value: Decimal
    poll: int
    received_ms: int
    secondary: bool = False
    exchange_ms: int | None = None
    next_funding_ms: int | None = None
