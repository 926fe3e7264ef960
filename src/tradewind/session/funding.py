"""Funding of perpetuals in a paper session, learnt from the mark-price stream.

Binance's ``<symbol>@markPrice@1s`` announces, every second, the mark price (``p``), the funding
rate (``r``) to be settled at the next funding time (``T``). When a message names a later
funding time than the one before, the earlier one has been settled: at the rate the last message
before it announced, on that message's mark price. :class:`FundingTracker` turns the stream into
those events (which the paper venue charges, and the session records for the drift report's
replay), and says how far in exchange time the stream has been read, so that a bar is not
traded before the funding that falls in it is known.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pandas as pd

from tradewind.core.market_events import MarkPriceUpdated

__all__ = ["FundingEvent", "FundingTracker", "settlements_frame"]


@dataclass(frozen=True)
class FundingEvent:
    """A funding settlement of ``symbol`` at ``ts`` (UTC ms) at ``rate`` on ``mark``."""

    symbol: str
    ts: int
    rate: float
    mark: float


class FundingTracker:
    """The funding settlements of ``symbols`` (perpetuals) read from their mark-price updates."""

    def __init__(self, symbols: Iterable[str]) -> None:
        self.read_ms: dict[str, int] = dict.fromkeys(symbols, -1)
        """Exchange time of the latest mark-price update read, per symbol (-1: none yet)."""
        self.events: dict[str, list[FundingEvent]] = {s: [] for s in self.read_ms}
        self._announced: dict[str, tuple[int, float, float]] = {}

    def update(self, event: MarkPriceUpdated) -> FundingEvent | None:
        """Read one update; return the settlement it reveals (None when it reveals none)."""
        symbol = event.symbol
        if symbol not in self.read_ms or event.exchange_ms < self.read_ms[symbol]:
            return None  # not a perpetual traded here, or older than one already read
        self.read_ms[symbol] = event.exchange_ms
        settled = None
        before = self._announced.get(symbol)
        upcoming = event.next_funding_ms
        if before is not None and upcoming is not None and upcoming > before[0]:
            settled = FundingEvent(symbol, before[0], before[1], before[2])
            self.events[symbol].append(settled)
        if upcoming is not None and event.funding_rate is not None:
            self._announced[symbol] = (upcoming, float(event.funding_rate), float(event.mark))
        return settled

    def known_until(self, symbol: str) -> int:
        """Funding of ``symbol`` up to this exchange time is known (-1: nothing read yet)."""
        return self.read_ms[symbol]

    def frames(self) -> dict[str, pd.DataFrame]:
        """The settlements per symbol as the backtest's ``funding`` input."""
        return {
            symbol: settlements_frame([(e.ts, e.rate, e.mark) for e in events])
            for symbol, events in self.events.items()
        }


def settlements_frame(rows: Sequence[Sequence[float]]) -> pd.DataFrame:
    """``(time ms, rate, mark)`` rows as the backtest's ``funding`` input (date, rate, mark)."""
    return pd.DataFrame(
        {
            "date": pd.to_datetime([int(r[0]) for r in rows], unit="ms", utc=True),
            "rate": [float(r[1]) for r in rows],
            "mark": [float(r[2]) for r in rows],
        }
    )
