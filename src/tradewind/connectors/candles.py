"""Turn kline updates and REST candle pages into closed bars, each exactly once, in order.

One :class:`CandleTracker` per (symbol, timeframe). It is fed, in arrival order, the stream's
kline updates (:meth:`CandleTracker.on_update`) and pages of REST history
(:meth:`CandleTracker.on_history`: the warm-up before the first decision and the backfill after
every reconnect), and answers with :class:`~tradewind.core.market_events.BarClosed` and
:class:`~tradewind.core.market_events.BarRevised` events.

Rules:

- **A bar closes on the exchange's word**: a kline update with the closed flag (Binance ``x``), the
  first update of a later bar, or a REST page that lists a later bar. This machine's clock is never
  consulted: a stream that stalls inside a bar leaves it open (reliability-anchors.md, FT PR #13397).
- **Each open time is announced once** and in increasing order. An update or a page row for a bar
  already announced is compared with what was announced: equal, it is ignored (a backfill that
  overlaps the stream); different, it is a :class:`BarRevised` and the new values are kept.
- **Holes are reported, not skipped**: when the next closed bar would not follow the last one
  announced, the tracker holds it and :attr:`CandleTracker.hole` names the missing range; the feed
  fetches it over REST and feeds the page, then the held bar. Bars the exchange itself lacks (no
  trade in that interval, on an exchange that skips empty bars) stay missing after the backfill:
  :meth:`CandleTracker.accept_hole` then releases what was held.
- A bar closed by the next bar's first update (its final, flagged update never came) is listed
  in :attr:`CandleTracker.unconfirmed`; the feed fetches it over REST, and a difference is a
  revision like any other.
- Only a closed state can revise an announced bar: a stream update still marked forming that
  arrives after its bar was announced closed (typically buffered while the warm-up page was
  fetched) is older than the announcement and is ignored (counted in :attr:`CandleTracker.stale`).
- Rows of a REST page are all closed except the last one of a page that reaches the present
  (``to_present``): that one is the bar still forming, and is treated like a stream update.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from decimal import Decimal

from tradewind.core.market_events import BarClosed, BarRevised, BarSource
from tradewind.core.records import Bar
from tradewind.core.timeframe import Timeframe

CandleEvent = BarClosed | BarRevised


@dataclass(frozen=True, slots=True)
class KlineUpdate:
    """One state of a bar as the exchange sent it (a stream update or a REST row)."""

    open_ms: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    closed: bool = False
    exchange_ms: int = 0
    received_ms: int = 0


class CandleTracker:
    """Closed bars of one symbol and timeframe, from stream updates and REST pages.

    Parameters
    ----------
    symbol, timeframe
        What the bars are of.
    remember
        How many announced bars are kept to recognise revisions (older rows are ignored).
    """

    def __init__(self, symbol: str, timeframe: Timeframe, *, remember: int = 500) -> None:
        self.symbol = symbol
        self.timeframe = timeframe
        self.remember = remember
        self.last_closed: int | None = None
        """Open time of the last bar announced closed."""
        self.forming: KlineUpdate | None = None
        """The latest state of the bar not yet closed."""
        self._announced: OrderedDict[int, Bar] = OrderedDict()
        self._held: list[tuple[KlineUpdate, BarSource]] = []
        self.revisions = 0
        self.stale = 0
        """Forming updates ignored because their bar had already closed (late stream messages)."""
        self.unconfirmed: list[int] = []
        """Open times of bars closed without their final update: the feed checks them over
        REST (a difference becomes a :class:`BarRevised`)."""

    @property
    def hole(self) -> tuple[int, int] | None:
        """The open times ``[start, end)`` missing before the held bar, or None."""
        if not self._held or self.last_closed is None:
            return None
        return self.last_closed + self.timeframe.ms, self._held[0][0].open_ms

    def bar(self, update: KlineUpdate) -> Bar:
        """Return ``update`` as a :class:`Bar` of this tracker's symbol and timeframe."""
        return Bar(
            ts=update.open_ms,
            timeframe=self.timeframe,
            open=update.open,
            high=update.high,
            low=update.low,
            close=update.close,
            volume=update.volume,
            symbol=self.symbol,
        )

    def on_update(self, update: KlineUpdate) -> list[CandleEvent]:
        """Apply one stream update of a bar (closed or forming)."""
        out: list[CandleEvent] = []
        if self.last_closed is not None and update.open_ms <= self.last_closed:
            if not update.closed:
                # A forming state of a bar the exchange has already stated closed (a REST page
                # fetched while the stream's earlier updates were still in flight): it is older
                # than what was announced, not a change to it.
                self.stale += 1
                return out
            self._compare(update, out)
            return out
        forming = self.forming
        if forming is not None and update.open_ms > forming.open_ms:
            # The next bar's first update closes the one forming, with its last known values;
            # its final update (closed flag) was lost, so those values await a REST check.
            self._close(forming, BarSource.STREAM, out, update.exchange_ms, update.received_ms)
            self.unconfirmed.append(forming.open_ms)
        if update.closed:
            self._close(update, BarSource.STREAM, out, update.exchange_ms, update.received_ms)
        elif self.forming is None or update.open_ms >= self.forming.open_ms:
            self.forming = update
        return out

    def on_history(
        self,
        rows: list[KlineUpdate],
        source: BarSource,
        *,
        to_present: bool,
    ) -> list[CandleEvent]:
        """Apply one REST page (rows in increasing open time).

        Parameters
        ----------
        rows
            The page; ``exchange_ms``/``received_ms`` of each row say when the page came.
        source
            ``WARMUP`` or ``BACKFILL``.
        to_present
            The page ends at the present: its last row is the bar still forming.
        """
        out: list[CandleEvent] = []
        for k, row in enumerate(rows):
            if to_present and k == len(rows) - 1:
                if self.last_closed is not None and row.open_ms <= self.last_closed:
                    self.stale += 1  # still forming by the page's word: it cannot revise
                elif self.forming is None or row.open_ms >= self.forming.open_ms:
                    # REST knows no more than the stream about the open bar; keep the newer.
                    self.forming = row
                continue
            if self.last_closed is not None and row.open_ms <= self.last_closed:
                self._compare(row, out)
                continue
            self._close(row, source, out, row.exchange_ms, row.received_ms)
        return out

    def accept_hole(self) -> list[CandleEvent]:
        """Release the held bars although the hole before them stays (the exchange has no bars
        there); return what that announces."""
        held, self._held = self._held, []
        out: list[CandleEvent] = []
        for update, source in held:
            self._announce(update, source, out, update.exchange_ms, update.received_ms)
        return out

    def _close(
        self,
        update: KlineUpdate,
        source: BarSource,
        out: list[CandleEvent],
        exchange_ms: int,
        received_ms: int,
    ) -> None:
        if self.forming is not None and self.forming.open_ms <= update.open_ms:
            self.forming = None
        update = KlineUpdate(
            update.open_ms, update.open, update.high, update.low, update.close, update.volume,
            True, exchange_ms, received_ms,
        )  # fmt: skip
        # Hold it in open-time order (a later state of a held bar replaces it), then release
        # every held bar that follows the last announced one without a hole.
        held = [h for h in self._held if h[0].open_ms != update.open_ms]
        held.append((update, source))
        held.sort(key=lambda h: h[0].open_ms)
        self._held = held
        while self._held:
            first, first_source = self._held[0]
            expected = None if self.last_closed is None else self.last_closed + self.timeframe.ms
            if expected is not None and first.open_ms > expected:
                return
            self._held.pop(0)
            self._announce(first, first_source, out, first.exchange_ms, first.received_ms)

    def _announce(
        self,
        update: KlineUpdate,
        source: BarSource,
        out: list[CandleEvent],
        exchange_ms: int,
        received_ms: int,
    ) -> None:
        if self.last_closed is not None and update.open_ms <= self.last_closed:
            self._compare(update, out)
            return
        bar = self.bar(update)
        self.last_closed = update.open_ms
        self._announced[update.open_ms] = bar
        while len(self._announced) > self.remember:
            self._announced.popitem(last=False)
        out.append(BarClosed(bar, source, exchange_ms, received_ms))

    def _compare(self, update: KlineUpdate, out: list[CandleEvent]) -> None:
        previous = self._announced.get(update.open_ms)
        if previous is None:
            return
        bar = self.bar(update)
        if (bar.open, bar.high, bar.low, bar.close, bar.volume) == (
            previous.open,
            previous.high,
            previous.low,
            previous.close,
            previous.volume,
        ):
            return
        self._announced[update.open_ms] = bar
        self.revisions += 1
        out.append(BarRevised(bar, previous, update.exchange_ms, update.received_ms))
