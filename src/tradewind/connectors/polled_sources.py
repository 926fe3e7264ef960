"""Funding rates and open interest as ordered data needs: one figure per symbol and poll from the
need's active venue, failing over to the next venue in the same poll.

Candles, trades and books are streamed (:mod:`.failover`); funding and open interest are not
(Binance streams funding in its mark-price stream but open interest on no stream at all, and a
context figure changes slowly), so their sources are polled over REST, each venue through its own
async ccxt client (any exchange ccxt supports: ``fetch_funding_rate``, ``fetch_open_interest``).
A :class:`PolledSourceSet` serves one need (``[[sources.funding]]`` or
``[[sources.open_interest]]``, primary first):

- **Failover without a gap.** Every ``period_s`` the active venue is asked for every symbol. When
  it fails (an error, a refused connection, or no answer within ``timeout_s``), the next venue in
  order is asked in the same poll, so the poll still gives its readings: a need's readings are
  numbered by poll, and a venue's outage shows no missing number as long as one venue answers.
  Only a poll that no venue answers gives no reading (logged).
- **Switch back.** Venues of higher priority than the active one are asked too, every poll; one
  that has answered every poll for ``switch_back_after_s`` is active again.
- Every switch is a :class:`~tradewind.core.source_events.SourceSwitched` event on
  :attr:`PolledSourceSet.events` (with the need's readings,
  :class:`~tradewind.core.market_context.ContextReading`), counted in
  :attr:`PolledSourceSet.switches` (exported as ``tradewind_source_switches_total{need}`` and
  ``tradewind_source_active{need,source}`` like the streamed needs).

Why a set of its own rather than :meth:`~tradewind.core.market_context.MarketContext.preferred`
over the ``[[sources.context]]`` venues: the context is a snapshot of every venue at once (for
cross-venue spreads and sums), with no notion of an active venue, so it cannot say when the figure
a strategy reads changed venue. A need has one active venue, an order of its own (funding may be
read from Bybit first while open interest is read from Binance first), and switch events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tradewind.connectors.client import create_async_client
from tradewind.connectors.market_feed import wall_ms
from tradewind.connectors.source_config import ContextVenueConfig, SourcesConfig
from tradewind.core.errors import UserError
from tradewind.core.market_context import ContextReading
from tradewind.core.money import to_decimal
from tradewind.core.source_events import SourceSwitched, SwitchReason

_log = logging.getLogger(__name__)

POLLED_NEEDS = ("funding", "open_interest")
"""The data needs polled over REST (the lists of :class:`~.source_config.SourcesConfig`)."""

_Answer = dict[str, ContextReading] | str  # the readings by symbol, or why the venue failed


class PolledSourceSet:
    """The funding rates or open interest of ``symbols`` from an ordered list of venues (see the
    module docstring).

    Parameters
    ----------
    venues
        The need's venues, primary first; each maps canonical symbols to its own.
    symbols
        Canonical symbols (perpetuals: ``"XRP/USDT:USDT"``).
    need
        ``funding`` or ``open_interest``.
    period_s
        Seconds between polls (:meth:`start`); :meth:`poll` polls once, now.
    timeout_s
        Seconds a venue has to answer a poll before it counts as failed.
    switch_back_after_s
        How long a venue of higher priority must answer every poll before it is active again.
    clients
        Async ccxt clients by venue name (made from the venue's exchange config when absent);
        the set closes every client when it stops.
    clock
        This machine's clock in ms (receive stamps).
    monotonic
        Clock of the health spells, in seconds.
    """

    def __init__(
        self,
        venues: Sequence[ContextVenueConfig],
        symbols: Sequence[str],
        *,
        need: str,
        period_s: float = 10.0,
        timeout_s: float = 5.0,
        switch_back_after_s: float = 60.0,
        clients: Mapping[str, Any] | None = None,
        clock: Callable[[], int] = wall_ms,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if need not in POLLED_NEEDS:
            raise UserError(f"no polled data need {need!r} (needs: {', '.join(POLLED_NEEDS)})")
        if not venues:
            raise UserError(f"the {need} need has no venue: add [[sources.{need}]]")
        if not symbols:
            raise UserError(f"the {need} need needs at least one symbol")
        if period_s <= 0 or timeout_s <= 0:
            raise UserError(f"the {need} poll period and timeout must be > 0 s")
        self.venues = list(venues)
        self.symbols = tuple(symbols)
        self.need = need
        self.period_s = period_s
        self.timeout_s = timeout_s
        self.switch_back_after_s = switch_back_after_s
        given = dict(clients or {})
        self.clients = {v.name: given.get(v.name) or create_async_client(v.exchange)
                        for v in self.venues}  # fmt: skip
        self.events: asyncio.Queue[ContextReading | SourceSwitched] = asyncio.Queue()
        self.latest: dict[str, ContextReading] = {}
        """The last reading of each symbol."""
        self.active = 0
        self.switches = 0
        self.polls = 0
        self._clock = clock
        self._monotonic = monotonic
        self._loaded: set[str] = set()
        self._healthy_since: dict[int, float] = {}
        self._last_answer_s: dict[int, float] = {}
        self._started_s = monotonic()
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def from_config(cls, config: SourcesConfig, symbols: Sequence[str], need: str,
                    **kwargs: Any) -> PolledSourceSet:  # fmt: skip
        """Return the set of ``need`` of ``config`` (its venues, poll period and timeout, and
        switch-back delay) for ``symbols``."""
        if need not in POLLED_NEEDS:
            raise UserError(f"no polled data need {need!r} (needs: {', '.join(POLLED_NEEDS)})")
        return cls(getattr(config, need), symbols, need=need, period_s=config.poll_period_s,
                   timeout_s=config.poll_timeout_s,
                   switch_back_after_s=config.switch_back_after_s, **kwargs)  # fmt: skip

    @property
    def active_name(self) -> str:
        """The name of the venue whose figures are read now."""
        return self.venues[self.active].name

    @property
    def names(self) -> list[str]:
        """The venues' names, in priority order."""
        return [v.name for v in self.venues]

    # ----------------------------------------------------------------- polling
    async def poll(self) -> dict[str, ContextReading]:
        """Poll now: return (and queue on :attr:`events`) one reading per symbol from the active
        venue, or from the next one that answers when it fails (an empty dict when none does)."""
        self.polls += 1
        # The active venue and every venue above it are asked at once: the active one for the
        # figures, the ones above it for the health spell that brings them back.
        asked = list(range(self.active + 1))
        answers: dict[int, _Answer] = dict(
            zip(asked, await asyncio.gather(*(self._ask(i) for i in asked)), strict=True)
        )
        now = self._monotonic()
        for index, answer in answers.items():
            self._judge(index, answer, now)
        for index in range(self.active):
            since = self._healthy_since.get(index)
            if since is not None and now - since >= self.switch_back_after_s:
                self._switch(index, SwitchReason.RECOVERED, f"answered every poll for "
                             f"{now - since:.1f} s", now)  # fmt: skip
                return self._emit(answers[index])
        active = answers[self.active]
        if not isinstance(active, str):
            return self._emit(active)
        failure = active
        for index in range(len(self.venues)):
            if index == self.active:
                continue
            answer = answers.get(index)
            if answer is None:
                answer = answers[index] = await self._ask(index)
                self._judge(index, answer, self._monotonic())
            if not isinstance(answer, str):
                self._switch(index, SwitchReason.ERROR, failure, self._monotonic())
                return self._emit(answer)
        _log.warning("%s: no venue answered poll %d (%s: %s)", self.need, self.polls,
                     self.active_name, failure)  # fmt: skip
        return {}

    def _judge(self, index: int, answer: _Answer, now: float) -> None:
        if isinstance(answer, str):
            self._healthy_since.pop(index, None)
        else:
            self._healthy_since.setdefault(index, now)
            self._last_answer_s[index] = now

    def _emit(self, readings: dict[str, ContextReading]) -> dict[str, ContextReading]:
        for symbol, reading in readings.items():
            self.latest[symbol] = reading
            self.events.put_nowait(reading)
        return readings

    def _switch(self, index: int, reason: SwitchReason, detail: str, now: float) -> None:
        previous = self.active_name
        silent = now - self._last_answer_s.get(self.active, self._started_s)
        self.active = index
        self.switches += 1
        _log.warning("%s: %s -> %s (%s: %s)", self.need, previous, self.active_name,
                     reason.value, detail)  # fmt: skip
        self.events.put_nowait(SourceSwitched(
            self.need, previous, self.active_name, reason, detail, silent, self.switches,
            self._clock(),
        ))  # fmt: skip

    async def _ask(self, index: int) -> _Answer:
        venue = self.venues[index]
        try:
            return await asyncio.wait_for(self._readings(index), self.timeout_s)
        except TimeoutError:
            detail = f"no answer within {self.timeout_s:g} s"
        except Exception as error:  # ccxt's network and exchange errors alike: fail over
            detail = f"{type(error).__name__}: {error}"
        _log.info("%s venue %s: %s", self.need, venue.name, detail)
        return detail

    async def _readings(self, index: int) -> dict[str, ContextReading]:
        venue = self.venues[index]
        client = self.clients[venue.name]
        if venue.name not in self._loaded:
            await client.load_markets()
            self._loaded.add(venue.name)
        symbols = {s: venue.venue_symbol(s) for s in self.symbols}
        for market_symbol in symbols.values():
            market = client.markets.get(market_symbol)
            if market is None or not market.get("swap"):
                raise UserError(f"{venue.name} lists no perpetual {market_symbol}")
        fetch = client.fetch_funding_rate if self.need == "funding" else client.fetch_open_interest
        raw = await asyncio.gather(*(fetch(s) for s in symbols.values()))
        received = self._clock()
        return {symbol: self._reading(venue.name, index, symbol, answer, received)
                for symbol, answer in zip(symbols, raw, strict=True)}  # fmt: skip

    def _reading(self, venue: str, index: int, symbol: str, answer: dict[str, Any],
                 received_ms: int) -> ContextReading:  # fmt: skip
        field = "fundingRate" if self.need == "funding" else "openInterestAmount"
        value = answer.get(field)
        if value is None:
            raise UserError(f"{venue} gave no {field} for {symbol}")
        stamp = answer.get("timestamp")
        next_ms = answer.get("nextFundingTimestamp") or answer.get("fundingTimestamp")
        return ContextReading(
            self.need, symbol, venue, to_decimal(value), self.polls, received_ms,
            secondary=index > 0, exchange_ms=int(stamp) if stamp else None,
            next_funding_ms=int(next_ms) if self.need == "funding" and next_ms else None,
        )  # fmt: skip

    # ----------------------------------------------------------------- lifecycle
    async def start(self) -> None:
        """Poll now and then every ``period_s`` in a task (a failed poll is logged)."""
        if self._task is None:
            self._started_s = self._monotonic()
            self._task = asyncio.get_running_loop().create_task(self._run(), name=self.need)

    async def _run(self) -> None:
        while True:
            started = self._monotonic()
            try:
                await self.poll()
            except Exception:
                _log.exception("%s poll failed", self.need)
            # The period runs from poll start to poll start: a slow failover does not stretch it.
            await asyncio.sleep(max(0.0, self.period_s - (self._monotonic() - started)))

    async def stop(self) -> None:
        """Stop polling and close every venue's client."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for client in self.clients.values():
            with contextlib.suppress(Exception):
                await client.close()

    async def __aenter__(self) -> PolledSourceSet:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
