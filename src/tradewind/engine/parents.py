"""The Node's execution desk: approved intents that name an algorithm become parent orders
(:mod:`tradewind.execution.parent`), driven by the market the Node sees, in every mode.

What a parent sees (:meth:`ParentDesk.view`): the L2 book of its symbol when one is fed and
usable (book-fed backtests, sessions with books), otherwise the close of the last bar complete at
that moment as both bid and ask (candle-only runs), with the bars' cumulative volume (POV reads
its share of it). No bar is read before its close: a parent never sees the future.

When it is driven: at its creation, then at each wake-up :meth:`ParentDesk.next_wake` gives the
Node's timer (the next slice of its plan, the next close of a bar of its symbol, its horizon's
end and its timeout), and on each book update of its symbol. Wake-ups come only from bars the
Node already holds: a backtest never drives a parent past its data, and a session reaches the
same wake-ups at the same times, one bar later in wall time, as each bar arrives. The backtest
runner and the session drivers fire them as they fire strategy timers, so a parent's children
are the same in a backtest and in a paper session over the same bars.

Risk: the parent passed the gate once, sized (a quote amount is turned into a base quantity at
the arrival price, the guard and the taker fee included, so the children can pay for it); the
part of a working buy parent not yet in a child or filled is reserved in the account (like a
resting order's), so the next entry is sized from what is really free. A breaker that halts new
exposure cancels the parents that add exposure, with its reason; reduce-only parents go on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal

import numpy as np

from tradewind.book.book import OrderBook
from tradewind.core.algo_spec import Algo, AlgoSpec
from tradewind.core.errors import UserError
from tradewind.core.instrument import Instrument
from tradewind.core.intents import Decision, IntentAction
from tradewind.core.money import ZERO, round_to_step, to_decimal
from tradewind.core.orders import Order
from tradewind.core.records import Side
from tradewind.engine.binding import Binding
from tradewind.execution.algos import BPS, floor_to, learn_volume_curve
from tradewind.execution.order_manager import OrderManager
from tradewind.execution.parent import MarketView, Parent, ParentEngine, ParentStatus
from tradewind.execution.policy import ExecutionPolicy, Liquidity, liquidity_of
from tradewind.execution.rejections import RejectionReason, reason_of
from tradewind.execution.tca import (
    MarketTape,
    SlippageAlert,
    TcaBook,
    candle_tape,
    order_tca,
    parent_tca,
)
from tradewind.series.bars import BarSeries

Publish = Callable[[str, int, object], None]

_BUYS = frozenset({IntentAction.ENTER_LONG, IntentAction.EXIT_SHORT})
POLICY_HORIZON_MS = 300_000
"""The policy's horizon when ``auto`` names none (five minutes)."""
POLICY_SHARE = 0.1
"""The policy's share of the expected volume when ``auto`` names none."""
POLICY_LEVELS = 20
"""Book levels a side the policy reads (depth within the guard)."""
RECENT_BARS = 20
"""Bars the policy's recent volume per millisecond is read from."""


@dataclass(slots=True)
class _Cumulative:
    series: BarSeries
    volume: np.ndarray


class ParentDesk:
    """The parents of one Node (see the module's doc).

    Parameters
    ----------
    manager
        The Node's order manager (children are its orders, recorded and sent like any order).
    instruments
        Instrument per symbol.
    bars
        The Node's bars per symbol (the same dict: a session's new bars are seen at once).
    owner
        The Node's owner of every client id: each child is entered with its parent's binding, so
        its fills are booked to the parent's strategy.
    publish
        The bus (``parent.created``, ``parent.child``, ``parent.ended``).
    default
        The run's execution for market intents that name no algorithm (None: plain orders).
    settle_ms
        How long an ended child may still report a fill (0 for the simulated venue).
    """

    def __init__(
        self,
        manager: OrderManager,
        instruments: Mapping[str, Instrument],
        bars: Mapping[str, BarSeries],
        owner: dict[str, Binding],
        publish: Publish,
        *,
        default: AlgoSpec | None = None,
        settle_ms: int = 0,
    ) -> None:
        self.default = default
        self.instruments = instruments
        self._bars = bars
        self._owner = owner
        self._publish = publish
        self.engine = ParentEngine(manager, instruments, self._announce, settle_ms=settle_ms)
        self.binding: dict[str, Binding] = {}
        """The binding of every parent (its strategy and symbol)."""
        self.books: dict[str, OrderBook] = {}
        self.working: list[Parent] = []
        """The parents still working, oldest first."""
        self._reserved: dict[str, Decimal] = {}
        self._cumulative: dict[str, _Cumulative] = {}
        self._tapes: dict[str, tuple[BarSeries, MarketTape]] = {}
        self.costs = TcaBook(on_alert=self._alert)
        self._measured: set[str] = set()
        """Each child and parent measured when it ends (candle tape of the bars held then); a
        slippage beyond 3 standard deviations of its algorithm's history is published as
        ``tca.alert``."""
        self._driven_at = -1
        """When :meth:`drive` last ran: every wake-up is after it, so time always moves on."""

    # -- creation ---------------------------------------------------------------------------------

    def start(self, decision: Decision, binding: Binding, spec: AlgoSpec, now: int) -> Parent:
        """Start the parent of an approved ``decision`` under ``spec`` at ``now``.

        Raises
        ------
        UserError
            If the parent cannot be executed (no bar closed yet, a size below the market's
            minimum order), naming why: the Node records it as a denial.
        """
        intent = decision.intent
        symbol = intent.symbol
        market = self.view(symbol, now)
        if market is None:
            raise UserError(f"{symbol}: no market seen yet to execute a {spec.algo} against")
        instrument = self.instruments[symbol]
        side = Side.BUY if intent.action in _BUYS else Side.SELL
        quantity = decision.quantity
        if quantity is None:
            # A stake in the quote currency: as much as it pays for at the worst price the guard
            # lets a child fill at, with the taker fee.
            quote = decision.quote_amount or ZERO
            worst = market.mid * (1 + spec.guard_bps / BPS) * (1 + instrument.taker_fee)
            quantity = floor_to(quote / worst, instrument.amount_step) if worst > 0 else ZERO
        chosen_by = ""
        if spec.algo is Algo.AUTO:
            spec, chosen_by = self._choose(spec, side, quantity, symbol, now)
        if spec.algo is Algo.VWAP and not spec.volume_curve:
            spec = self._with_learned_curve(spec, symbol, now)
        manager = self.engine.manager
        parent_id = manager.ids.next()
        self.binding[parent_id] = binding
        try:
            parent = self.engine.create(
                parent_id, strategy_id=intent.strategy_id, symbol=symbol, side=side,
                quantity=quantity, spec=spec, market=market, reduce_only=intent.action.is_exit,
            )  # fmt: skip
        except UserError:
            del self.binding[parent_id]
            raise
        parent.chosen_by = chosen_by
        if parent.is_working:
            self.working.append(parent)
        self._reserve(now)
        return parent

    def resume(
        self, parent: Parent, numbered: int, children: list[Order], binding: Binding, now: int
    ) -> None:
        """Take back a parent an earlier session wrote (after a restart) with the children it
        recorded (see :meth:`ParentEngine.resume`); a working one is driven again from its next
        wake-up, slices it missed while the process was down as one catch-up child.

        The volume a POV parent (or a capped TWAP/VWAP) counts is the volume traded since its
        creation, as before the restart, read from the bars this session holds (its warm-up
        history): when they reach back to its creation the count is exact. When the bot was
        down longer than that history, the volume between its creation and the first bar
        held is gone; it is estimated (:func:`gap_volume`) as the larger of what the parent's
        fills imply at its share and the held bars' mean rate over the gap."""
        self.binding[parent.parent_id] = binding
        self.engine.resume(parent, numbered, children, now)
        for child in parent.children:
            self._owner[child] = binding
        market = self.view(parent.symbol, parent.created_ts)
        if market is not None:
            parent.start_volume = market.volume
        else:
            # Every bar held at a restart is history (the session's warm-up).
            bars = self._bars[parent.symbol]
            parent.start_volume = -gap_volume(parent, bars.ts, bars.volume, bars.timeframe.ms)
        bars = self._bars[parent.symbol]
        if len(bars):
            # The bars held are history: the moments in them are gone, so the parent is not
            # driven through them one by one (a child per missed slice) but at its next
            # wake-up after them, where everything due since goes out as one child.
            self._driven_at = max(self._driven_at, int(bars.close_time[-1]))
        if parent.is_working:
            self.working.append(parent)
        self._settle(now)

    def _choose(
        self, auto: AlgoSpec, side: Side, quantity: Decimal, symbol: str, now: int
    ) -> tuple[AlgoSpec, str]:
        """The execution policy's algorithm for ``quantity`` (its rule, for the record), read
        from the fed book when there is one, else from the bars: a candle shows no spread or
        depth, so there only the volume rules (TWAP within the share of the expected volume,
        POV beyond it) can apply."""
        policy = ExecutionPolicy(
            guard_bps=auto.guard_bps, horizon_ms=auto.horizon_ms or POLICY_HORIZON_MS,
            pov_share=auto.participation or POLICY_SHARE, smart_timeout_ms=auto.timeout_ms,
        )  # fmt: skip
        bars = self._bars[symbol]
        known = int(np.searchsorted(bars.close_time, now, side="right"))
        recent = bars.volume[max(known - RECENT_BARS, 0) : known]
        span = len(recent) * bars.timeframe.ms
        per_ms = to_decimal(float(recent.sum()) / span) if span else ZERO
        book = self.books.get(symbol)
        if book is not None and not book.needs_resync and book.bid_count and book.ask_count:
            top = book.top(POLICY_LEVELS)
            bids = [(to_decimal(float(p)), to_decimal(float(q)))
                    for p, q in zip(top.bid_prices, top.bid_sizes, strict=True)]  # fmt: skip
            asks = [(to_decimal(float(p)), to_decimal(float(q)))
                    for p, q in zip(top.ask_prices, top.ask_sizes, strict=True)]  # fmt: skip
            liquidity = liquidity_of(side is Side.BUY, bids, asks, auto.guard_bps, per_ms)
            return policy.choose(quantity, liquidity)
        spec, rule = policy.choose(quantity, Liquidity(ZERO, ZERO, ZERO, ZERO, per_ms))
        if spec.algo is Algo.TWAP:
            # No level size to slice by: one slice per bar of the horizon.
            slices = max(1, spec.horizon_ms // bars.timeframe.ms)
            spec, rule = replace(spec, slices=slices), f"{rule} (candles: a slice a bar)"
        return spec, rule

    def _with_learned_curve(self, spec: AlgoSpec, symbol: str, now: int) -> AlgoSpec:
        """``spec`` with the volume curve of the bars complete at ``now`` (the past only)."""
        bars = self._bars[symbol]
        known = int(np.searchsorted(bars.close_time, now, side="right"))
        curve = learn_volume_curve(bars.ts[:known], bars.volume[:known])
        return replace(spec, volume_curve=curve)

    def _announce(self, topic: str, ts: int, payload: object) -> None:
        if topic == "parent.child":
            assert isinstance(payload, tuple)
            parent, order = payload
            assert isinstance(parent, Parent)
            assert isinstance(order, Order)
            self._owner[order.client_id] = self.binding[parent.parent_id]
        self._publish(topic, ts, payload)

    # -- what a parent sees -----------------------------------------------------------------------

    def view(self, symbol: str, now: int) -> MarketView | None:
        """The market of ``symbol`` at ``now`` (see the module's doc); None before any bar closed."""
        bars = self._bars[symbol]
        i = int(np.searchsorted(bars.close_time, now, side="right")) - 1
        if i < 0:
            return None
        volume = self._volume_through(symbol, bars, i)
        book = self.books.get(symbol)
        if book is not None and not book.needs_resync and book.bid_count and book.ask_count:
            return MarketView(now, to_decimal(book.best_bid()), to_decimal(book.best_ask()), volume)
        # The close as the instrument prices it (a limit child rests at it): on the tick grid.
        close = round_to_step(to_decimal(float(bars.close[i])), self.instruments[symbol].price_step)
        return MarketView(now, close, close, volume)

    def _volume_through(self, symbol: str, bars: BarSeries, i: int) -> Decimal:
        kept = self._cumulative.get(symbol)
        if kept is None or kept.series is not bars:  # a session hands the Node longer series
            kept = self._cumulative[symbol] = _Cumulative(bars, np.cumsum(bars.volume))
        return to_decimal(float(kept.volume[i]))

    # -- driving ----------------------------------------------------------------------------------

    @property
    def active(self) -> bool:
        """True while a parent works."""
        return bool(self.working)

    def next_wake(self, now: int) -> int | None:
        """The earliest moment, at or after ``now`` and after the last drive, at which a working
        parent must be driven (None: none). A moment equal to ``now`` counts: a session's driver
        asks after the bar close that moved the clock there, a backtest's runner before."""
        best: int | None = None
        floor = max(self._driven_at + 1, now)
        for parent in self.working:
            close_time = self._bars[parent.symbol].close_time
            if not len(close_time):
                continue
            last = int(close_time[-1])
            candidates = []
            i = int(np.searchsorted(close_time, floor, side="left"))
            if i < len(close_time):
                candidates.append(int(close_time[i]))
            if parent.next_slice < len(parent.plan):
                candidates.append(parent.plan[parent.next_slice][0])
            spec = parent.spec
            if spec.horizon_ms > 0:
                candidates.append(parent.created_ts + spec.horizon_ms)
                candidates.append(parent.created_ts + spec.horizon_ms + spec.timeout_ms)
            if spec.algo is Algo.SMART_LIMIT:
                candidates.append(parent.created_ts + spec.timeout_ms)
            for at in candidates:
                # Never past the bars held: a backtest's data ends there, and a session gets
                # there with its next bar.
                if floor <= at <= last and (best is None or at < best):
                    best = at
        return best

    def drive(self, now: int, before: Callable[[str], None]) -> None:
        """Drive every working parent at ``now`` (``before(symbol)`` is called first, for the
        Node to date what the venue answers)."""
        self._driven_at = now
        for symbol in sorted({p.symbol for p in self.working}):
            market = self.view(symbol, now)
            if market is not None:
                before(symbol)
                self.engine.on_market(symbol, market)
        self._settle(now)

    def on_book(
        self, symbol: str, book: OrderBook, now: int, before: Callable[[str], None]
    ) -> None:
        """The book of ``symbol`` changed: keep it for the views; drive its parents."""
        self.books[symbol] = book
        if any(p.symbol == symbol for p in self.working):
            market = self.view(symbol, now)
            if market is not None:
                before(symbol)
                self.engine.on_market(symbol, market)
            self._settle(now)

    def child_changed(self, order: Order, now: int) -> None:
        """A child's state changed (the Node applied a venue event to it). A child the venue
        refused for the account's or the market's rules (funds, lot, notional) ends its parent
        with that reason: the next child would be refused alike."""
        engine = self.engine
        engine.child_changed(order, now)
        if order.status.is_terminal and order.fills and order.client_id not in self._measured:
            self._measured.add(order.client_id)
            parent = engine.parents[engine.parent_of[order.client_id]]
            algo = f"{parent.spec.algo}.child"
            symbol = order.symbol
            self.costs.add(order_tca(order, self._tape(symbol), self.instruments[symbol], algo))
        reason = order.reject_reason
        if reason and order.status.is_terminal and reason_of(reason) is not RejectionReason.OTHER:
            parent = engine.parents[engine.parent_of[order.client_id]]
            if parent.is_working:
                engine.cancel(parent.parent_id, f"venue refused {order.client_id}: {reason}", now)
        self._settle(now)

    def is_child(self, client_id: str) -> bool:
        """True for a child of one of the parents."""
        return client_id in self.engine.parent_of

    def _settle(self, now: int) -> None:
        if any(not p.is_working for p in self.working):
            for parent in self.working:
                if not parent.is_working:
                    children = [self.engine.manager.orders[c] for c in parent.children]
                    tape = self._tape(parent.symbol)
                    instrument = self.instruments[parent.symbol]
                    self.costs.add(parent_tca(parent, children, tape, instrument))
            self.working = [p for p in self.working if p.is_working]
        self._reserve(now)

    def _tape(self, symbol: str) -> MarketTape:
        bars = self._bars[symbol]
        kept = self._tapes.get(symbol)
        if kept is None or kept[0] is not bars:  # a session hands the Node longer series
            kept = self._tapes[symbol] = (bars, candle_tape(bars))
        return kept[1]

    def _alert(self, alert: SlippageAlert) -> None:
        self._publish("tca.alert", alert.ts, alert)

    # -- risk -------------------------------------------------------------------------------------

    def busy(self, key: tuple[str, str]) -> bool:
        """True while a parent of ``(strategy_id, symbol)`` works."""
        return any((p.strategy_id, p.symbol) == key for p in self.working)

    def exiting(self, key: tuple[str, str]) -> bool:
        """True while a reduce-only parent of ``(strategy_id, symbol)`` works."""
        return any((p.strategy_id, p.symbol) == key and p.reduce_only for p in self.working)

    def cancel(
        self,
        reason: str,
        now: int,
        *,
        strategy_id: str | None = None,
        symbol: str | None = None,
        adding_only: bool = False,
    ) -> list[str]:
        """Cancel the working parents of ``strategy_id`` and ``symbol`` (None: any), only those
        that add exposure with ``adding_only``, recording ``reason``; returns their ids. No
        child is sent after this; their open children are canceled."""
        canceled = []
        for parent in list(self.working):
            if strategy_id not in (None, parent.strategy_id) or symbol not in (None, parent.symbol):
                continue
            if adding_only and parent.reduce_only:
                continue
            self.engine.cancel(parent.parent_id, reason, now)
            canceled.append(parent.parent_id)
        self._settle(now)
        return canceled

    def _reserve(self, now: int) -> None:
        """Reserve, per quote currency, what the working buy parents may still spend beyond
        their open children (which reserve for themselves) and their fills."""
        engine = self.engine
        wanted: dict[str, Decimal] = {}
        for parent in self.working:
            if parent.side is not Side.BUY or parent.reduce_only:
                continue
            rest = parent.quantity - engine.committed(parent, now)
            if rest > 0:
                quote = self.instruments[parent.symbol].quote
                price = parent.arrival_mid * (1 + parent.spec.guard_bps / BPS)
                wanted[quote] = wanted.get(quote, ZERO) + rest * price
        reserved = engine.manager.reserved
        for quote in set(wanted) | set(self._reserved):
            delta = wanted.get(quote, ZERO) - self._reserved.get(quote, ZERO)
            if delta:
                reserved[quote] = reserved.get(quote, ZERO) + delta
        self._reserved = wanted

    # -- what it did ------------------------------------------------------------------------------

    def parents(self) -> list[Parent]:
        """Every parent of the run, in creation order."""
        return list(self.engine.parents.values())

    def ended(self) -> list[Parent]:
        """The parents that ended (done or canceled)."""
        return [p for p in self.engine.parents.values() if p.status is not ParentStatus.WORKING]


def gap_volume(parent: Parent, ts: np.ndarray, volume: np.ndarray, bar_ms: int) -> Decimal:
    """The volume a restarted ``parent`` cannot read: traded between its creation and the first
    of the bars held (open times ``ts`` in ms, ``volume`` in base units, bars ``bar_ms`` long).

    An estimate, never below what the parent's own fills imply: a parent capped at a share
    ``participation`` of the volume that filled ``q`` saw at least ``q / participation`` trade.
    The other estimate is the held bars' mean volume per millisecond over the gap (the market's
    recent pace; a quiet gap is overstated, a busy one understated). With no bar held, only the
    first applies.
    """
    share = parent.spec.participation
    implied = parent.filled_quantity / Decimal(repr(share)) if share > 0 else ZERO
    if not len(ts):
        return implied
    gap_ms = max(int(ts[0]) - parent.created_ts, 0)
    span = len(ts) * bar_ms
    pace = to_decimal(float(np.nansum(volume)) / span * gap_ms) if span else ZERO
    return max(implied, pace)
