"""The strategy host: the one place the engine calls user code.

Every call into a strategy (``on_bar``, ``on_trade``, ``on_book``, ``on_timer``, ``on_fill``) goes
through :meth:`StrategyHost.call`, which hands the strategy a fresh view of what it may see and
catches whatever it raises. An exception faults that strategy, not the run: the fault is classified,
reported with the strategy's own file:line, and the strategy is called no more (its signals are
no longer acted on either); its positions stay under their protective exits, and the Node applies
the run's ``on_strategy_error`` policy. The other strategies go on.

What a hook sees is the past and nothing it can change: a per-bar hook gets the bars up to and
including the current one (reading bar ``i + 1`` is an ``IndexError``, reported as lookahead), the
arrays are read-only views, and the context carries the time, the strategy's own positions, timers
and a way to emit intents, with no handle on the engine. Timers live here too: set from a context,
fired in time order (ties in the order they were set).
"""

from __future__ import annotations

import heapq
import inspect
import logging
import math
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from tradewind.core.algo_spec import AlgoSpec
from tradewind.core.errors import TradewindError, UserError
from tradewind.core.intents import Intent, IntentAction, PriceType
from tradewind.core.market_context import MarketContext
from tradewind.engine.binding import Binding
from tradewind.engine.portfolio import Position
from tradewind.market_state import ArrayMarketState, MarketState
from tradewind.series.bars import BarSeries
from tradewind.strategies.base import Strategy
from tradewind.strategies.guard import is_builtin

log = logging.getLogger(__name__)


class FaultKind(StrEnum):
    """What kind of mistake a strategy's exception shows."""

    LOOKAHEAD = "lookahead"
    """It read past the data it was given (an ``IndexError``): the future is not there."""
    WRITE = "write"
    """It wrote into an array it was given (they are read-only)."""
    INVALID = "invalid"
    """It asked for something the engine refuses (a ``UserError``: a bad intent or timer)."""
    ERROR = "error"
    """Any other exception in its code."""


@dataclass(frozen=True, slots=True)
class StrategyFault:
    """A strategy raised in a hook and was stopped. ``where`` is ``file:line`` in the strategy's
    own source (the deepest frame there), else the deepest frame of the traceback."""

    strategy_id: str
    symbol: str
    hook: str
    ts: int
    kind: FaultKind
    error_type: str
    message: str
    where: str

    @property
    def error(self) -> str:
        """``Type: message`` of the exception."""
        return f"{self.error_type}: {self.message}"

    def describe(self) -> str:
        """One line for logs and reports."""
        return (
            f"strategy {self.strategy_id} faulted in {self.hook} ({self.kind}) at {self.where}: "
            f"{self.error}"
        )


class HookContext:
    """What a strategy hook sees: time, its own positions, timers, and a way to emit intents."""

    __slots__ = ("_binding", "_host", "_positions", "_strategy_id", "intents", "ts")

    def __init__(self, host: StrategyHost, binding: Binding, ts: int) -> None:
        self.ts = ts
        self.intents: list[Intent] = []
        self._host = host
        self._binding = binding
        self._strategy_id = binding.strategy_id
        self._positions = host.positions

    def position(self, symbol: str) -> Decimal:
        """This strategy's signed position in ``symbol`` (base units)."""
        found = self._positions.get((self._strategy_id, symbol))
        return self._host.position(self._strategy_id, symbol) if found is None else found.quantity

    def set_timer(self, at_ms: int, name: str) -> None:
        """Have ``on_timer(ctx, name)`` called at ``at_ms`` (UTC ms; not before now)."""
        self._host.set_timer(self._binding, at_ms, name)

    @property
    def market(self) -> MarketState:
        """The market as of now (the market-state port): latest prices, closes so far, ATR,
        volatility, returns, correlation, quote volume, staleness."""
        return self._host.market

    def market_context(self, symbol: str) -> MarketContext | None:
        """The latest context of ``symbol`` across venues (funding, open interest, volume,
        cross-venue spreads), or None where none is polled (backtests) or before the first."""
        return self._host.contexts.get(symbol)

    def emit(
        self,
        symbol: str,
        action: IntentAction,
        *,
        price_type: PriceType = PriceType.MARKET,
        limit_price: Decimal | None = None,
        reason: str = "",
        size_hint: Decimal | None = None,
        confidence: float | None = None,
        algo: AlgoSpec | None = None,
    ) -> None:
        """Send an intent to the risk gate. ``confidence`` in [0, 1] feeds confidence sizing;
        ``algo`` names the execution algorithm of a market intent (a parent order).

        Raises
        ------
        UserError
            If ``confidence`` is outside [0, 1].
        """
        if confidence is not None and not (math.isfinite(confidence) and 0 <= confidence <= 1):
            raise UserError(f"confidence must be within [0, 1], got {confidence!r}")
        self.intents.append(
            Intent(
                strategy_id=self._strategy_id,
                symbol=symbol,
                action=action,
                ts=self.ts,
                price_type=price_type,
                limit_price=limit_price,
                reason=reason,
                size_hint=size_hint,
                confidence=confidence,
                algo=algo,
            )
        )


def past_bars(bars: BarSeries, stop: int) -> BarSeries:
    """Bars ``0 .. stop - 1`` as read-only views, without the O(n) checks of a new series (the
    bars were checked when the series was made)."""
    view = object.__new__(BarSeries)
    fields = view.__dict__
    fields["symbol"] = bars.symbol
    fields["timeframe"] = bars.timeframe
    # The columns are read-only (BarSeries sets them so); slices of them are read-only too.
    fields["ts"] = bars.ts[:stop]
    fields["open"] = bars.open[:stop]
    fields["high"] = bars.high[:stop]
    fields["low"] = bars.low[:stop]
    fields["close"] = bars.close[:stop]
    fields["volume"] = bars.volume[:stop]
    return view


class StrategyHost:
    """Contexts, timers and the wrapper around every call into the strategies of a run.

    Parameters
    ----------
    bindings
        Every strategy-symbol pair of the run.
    positions
        The portfolio's positions by ``(strategy_id, symbol)`` (read, never written here).
    position
        Looks up (and makes, flat, on first use) a position the dict does not hold yet.
    clock
        The engine's current time (UTC ms): a timer is never set in the past.
    market
        What ``ctx.market`` answers (by default the bindings' bars as of ``clock()``).
    on_fault
        Called once per strategy when it faults, after it has been stopped.
    """

    def __init__(
        self,
        bindings: list[Binding],
        positions: dict[tuple[str, str], Position],
        position: Callable[[str, str], Decimal],
        clock: Callable[[], int],
        on_fault: Callable[[StrategyFault], None] | None = None,
        market: MarketState | None = None,
    ) -> None:
        self.bindings = bindings
        self.positions = positions
        self.position = position
        self.clock = clock
        self.market: MarketState = market or ArrayMarketState(
            {b.symbol: b.bars for b in bindings}, clock
        )
        self.on_fault = on_fault
        self.contexts: dict[str, MarketContext] = {}
        """The latest market context across venues per symbol: set by a live session that
        polls it (:mod:`tradewind.connectors.context_feed`); empty in backtests."""
        self.faults: list[StrategyFault] = []
        self.faulted: set[str] = set()
        self._contexts: dict[int, HookContext] = {}
        self._timers: list[tuple[int, int, int, str]] = []
        self._timer_seq = 0
        self._binding_by_id = {id(b): b for b in bindings}
        self.trade_listeners: dict[str, list[Binding]] = {}
        self.book_listeners: dict[str, list[Binding]] = {}
        for binding in bindings:
            if binding.strategy.wants_trade_callback():
                self.trade_listeners.setdefault(binding.symbol, []).append(binding)
            if binding.strategy.wants_book_callback():
                self.book_listeners.setdefault(binding.symbol, []).append(binding)

    def replace_bars(self, symbol: str, bars: BarSeries) -> None:
        """Show ``bars`` for ``symbol`` from now on (live data grows the series)."""
        if isinstance(self.market, ArrayMarketState):
            self.market.bars = {**self.market.bars, symbol: bars}

    # -- the wrapper ------------------------------------------------------------------------------

    def call(self, binding: Binding, hook: str, ts: int, *args: Any) -> list[Intent]:
        """Call ``binding.strategy.<hook>(ctx, *args)`` and return the intents it emitted.

        A faulted strategy is not called (nothing). An exception faults the strategy: it is
        classified, logged and reported, and the intents of the failed call are dropped.
        """
        if binding.strategy_id in self.faulted:
            return []
        context = HookContext(self, binding, ts)
        try:
            getattr(binding.strategy, hook)(context, *args)
        except Exception as exc:  # user code: any exception faults the strategy
            self.fault(binding, hook, ts, exc)
            return []
        return context.intents

    def on_bar(self, binding: Binding, index: int, ts: int) -> list[Intent]:
        """The per-bar hook at bar ``index``'s close, shown bars ``0..index`` only."""
        if binding.strategy_id in self.faulted:
            return []
        # One context per binding, reused bar after bar: a hook runs at every bar.
        context = self._contexts.get(id(binding))
        if context is None:
            context = self._contexts[id(binding)] = HookContext(self, binding, ts)
        context.ts = ts
        context.intents = []
        try:
            binding.strategy.on_bar(context, past_bars(binding.bars, index + 1), index)
        except Exception as exc:  # user code: any exception faults the strategy
            self.fault(binding, "on_bar", ts, exc)
            return []
        return context.intents

    def wants_fill(self, binding: Binding) -> bool:
        """True when the strategy has its own ``on_fill`` (others are not called for fills)."""
        strategy = binding.strategy
        return type(strategy).on_fill is not Strategy.on_fill or "on_fill" in vars(strategy)

    def fault(self, binding: Binding, hook: str, ts: int, exc: BaseException) -> None:
        """Stop ``binding``'s strategy for ``exc`` raised in ``hook``; report it once.

        A built-in strategy (one of Tradewind's own) that raises is a bug in Tradewind, not a
        fault of the user's: ``exc`` is raised again, as it is everywhere else.
        """
        if is_builtin(binding.strategy):
            raise exc
        if binding.strategy_id in self.faulted:
            return
        fault = StrategyFault(
            strategy_id=binding.strategy_id,
            symbol=binding.symbol,
            hook=hook,
            ts=ts,
            kind=_classify(exc),
            error_type=type(exc).__name__,
            message=str(exc),
            where=_where(binding.strategy, exc),
        )
        self.faulted.add(binding.strategy_id)
        self.faults.append(fault)
        log.error("%s", fault.describe())
        if self.on_fault is not None:
            self.on_fault(fault)

    # -- timers -----------------------------------------------------------------------------------

    def set_timer(self, binding: Binding, at_ms: int, name: str) -> None:
        """Call ``binding.strategy.on_timer(ctx, name)`` at ``at_ms`` (not before now)."""
        heapq.heappush(self._timers, (max(at_ms, self.clock()), self._timer_seq, id(binding), name))
        self._timer_seq += 1

    def next_timer(self) -> int | None:
        """Time of the earliest pending timer, or None."""
        return self._timers[0][0] if self._timers else None

    def due_timers(self, now: int) -> Iterator[tuple[Binding, list[Intent]]]:
        """Fire every timer due at ``now`` in the order they were set: each binding with the
        intents its ``on_timer`` emitted."""
        while self._timers and self._timers[0][0] <= now:
            _, _, binding_id, name = heapq.heappop(self._timers)
            binding = self._binding_by_id[binding_id]
            yield binding, self.call(binding, "on_timer", now, name)


def _classify(exc: BaseException) -> FaultKind:
    if isinstance(exc, IndexError):
        return FaultKind.LOOKAHEAD
    if isinstance(exc, ValueError) and "read-only" in str(exc):
        return FaultKind.WRITE
    if isinstance(exc, UserError | TradewindError):
        return FaultKind.INVALID
    return FaultKind.ERROR


def _where(strategy: Strategy, exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    try:
        source = inspect.getsourcefile(type(strategy))
    except TypeError:  # a class made at run time has no file
        source = None
    mine = [f for f in frames if source is not None and f.filename == source]
    chosen = mine[-1] if mine else (frames[-1] if frames else None)
    return "unknown" if chosen is None else f"{chosen.filename}:{chosen.lineno}"
