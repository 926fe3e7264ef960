"""Stops and exits that live with a position: the rules (frozen configs) and the book that keeps
each open position's protective state and finds its next exit with the compiled scan in
:mod:`tradewind.sim.stops`.

Life of a protected position: an entry fills -> :meth:`ProtectionBook.on_position` places the
stop, take-profit, scale-out ladder, time stop and pyramiding level from the fill price ->
the runner asks :meth:`ProtectionBook.next_event` for the first bar where one of them fires (one
compiled scan, no Python per bar) -> at that bar the Node sends a reduce-only exit through the gate
(exits always pass) as a stop-market, take-profit or market order that the venue fills by its
usual rules -> the fill comes back to :meth:`ProtectionBook.on_position`, which closes the guard or
re-arms it (after a partial exit or a pyramiding add).

Stop-market semantics: a stop fills at its level on the bar whose range reaches it, or at that
bar's open when the bar gaps through it; exchanges trigger native stops the same way, and the
venue applies its slippage to the fill. See :mod:`tradewind.sim.stops` for the intrabar rules.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np

from tradewind.core.errors import UserError
from tradewind.core.instrument import Instrument
from tradewind.core.intents import Intent, IntentAction, PriceType
from tradewind.core.money import floor_to_step, to_decimal
from tradewind.indicators.volatility import atr as atr_indicator
from tradewind.series.bars import BarSeries, FloatArray
from tradewind.sim import stops

NAN = math.nan


@dataclass(frozen=True, slots=True)
class ScaleOut:
    """One rung of a scale-out ladder: close ``fraction`` of the initial size at ``gain`` profit
    (0.02: +2% from the entry)."""

    gain: float
    fraction: float

    def __post_init__(self) -> None:
        if not (self.gain > 0 and 0 < self.fraction <= 1):
            raise UserError(
                f"scale-out rung needs gain > 0 and fraction in (0, 1], got {self.gain}, "
                f"{self.fraction}"
            )


@dataclass(frozen=True, slots=True)
class Pyramid:
    """Add to a winner: when a bar closes ``step`` beyond the last entry (the confirmation), buy
    (sell, for a short) ``initial x decay ** k`` more for the k-th add, at most ``max_adds``
    times; after each add the stop of the whole position moves to the stop rule applied to the add
    price, if that is tighter."""

    step: float
    max_adds: int = 2
    decay: float = 0.5

    def __post_init__(self) -> None:
        if not (self.step > 0 and self.max_adds >= 1 and 0 < self.decay <= 1):
            raise UserError("pyramid needs step > 0, max_adds >= 1 and decay in (0, 1]")


@dataclass(frozen=True, slots=True, kw_only=True)
class ExitRules:
    """The protective exits of a strategy's positions. Every field is off when ``None``.

    Parameters
    ----------
    stop_pct
        Fixed stop this fraction from the entry (0.02: 2% below a long's entry).
    stop_atr
        Stop this many ATRs (of ``atr_period`` bars, at the bar before the entry) from the entry.
    take_profit_r
        Take-profit at this multiple of the initial risk (entry to stop).
    take_profit_pct
        Take-profit this fraction from the entry (used when ``take_profit_r`` is not set).
    trailing_pct, trailing_atr
        Trailing stop this fraction / this many ATRs behind the best price since the entry.
    trailing_activation
        The trail starts only once the best price is this fraction in profit.
    breakeven_trigger, breakeven_offset
        Once the best price is ``breakeven_trigger`` in profit, move the stop to the entry moved
        ``breakeven_offset`` in the position's favour (to cover the fees).
    max_bars
        Close the position at the close of its ``max_bars``-th bar (market order, next open).
    scale_out
        Scale-out ladder, nearest rung first.
    pyramid
        Pyramiding rules.
    adverse_first
        When a bar reaches both a stop and a profit level, assume the stop came first.
    """

    stop_pct: float | None = None
    stop_atr: float | None = None
    atr_period: int = 14
    take_profit_r: float | None = None
    take_profit_pct: float | None = None
    trailing_pct: float | None = None
    trailing_atr: float | None = None
    trailing_activation: float | None = None
    breakeven_trigger: float | None = None
    breakeven_offset: float = 0.0
    max_bars: int | None = None
    scale_out: tuple[ScaleOut, ...] = ()
    pyramid: Pyramid | None = None
    adverse_first: bool = True

    def __post_init__(self) -> None:
        for name in ("stop_pct", "trailing_pct"):
            value = getattr(self, name)
            if value is not None and not 0 < value < 1:
                raise UserError(f"{name} must be a fraction in (0, 1), got {value}")
        for name in ("stop_atr", "trailing_atr", "take_profit_r", "take_profit_pct"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise UserError(f"{name} must be positive, got {value}")
        if self.max_bars is not None and self.max_bars < 1:
            raise UserError(f"max_bars must be at least 1, got {self.max_bars}")
        if self.atr_period < 1:
            raise UserError(f"atr_period must be at least 1, got {self.atr_period}")
        if self.take_profit_r is not None and self.stop_pct is None and self.stop_atr is None:
            raise UserError("take_profit_r needs a stop (stop_pct or stop_atr) to measure R")
        gains = [r.gain for r in self.scale_out]
        if gains != sorted(gains):
            raise UserError("scale-out rungs must be listed nearest first (increasing gain)")

    @property
    def active(self) -> bool:
        """True when any protective rule is set."""
        return any(
            v is not None
            for v in (
                self.stop_pct,
                self.stop_atr,
                self.take_profit_r,
                self.take_profit_pct,
                self.trailing_pct,
                self.trailing_atr,
                self.breakeven_trigger,
                self.max_bars,
                self.pyramid,
            )
        ) or bool(self.scale_out)

    @property
    def uses_atr(self) -> bool:
        """True when a rule needs the ATR series."""
        return self.stop_atr is not None or self.trailing_atr is not None

    @property
    def has_trailing(self) -> bool:
        """True when a trailing stop is set."""
        return self.trailing_pct is not None or self.trailing_atr is not None


def _f(value: float | None) -> float:
    return NAN if value is None else float(value)


@dataclass
class Guard:
    """The protective state of one open position (floats: it feeds the compiled scan)."""

    strategy_id: str
    symbol: str
    rules: ExitRules
    is_long: bool
    entry: float
    initial_quantity: Decimal
    stop: float
    take_profit: float
    ladder: FloatArray
    ladder_next: int
    extreme: float
    trail_on: bool
    breakeven_on: bool
    time_bar: int
    add_price: float
    adds_done: int
    scan_from: int
    event: tuple[int, float, int, float, float, bool, bool] | None = None
    pending: bool = False


@dataclass(frozen=True, slots=True)
class ProtectiveAction:
    """What the Node must send for a protective event.

    ``kind`` is a :mod:`tradewind.sim.stops` code; ``trigger`` the stop or profit level (None for
    market orders: time stops and pyramiding adds); ``quantity`` the size (None: the whole
    position); ``bar_ts`` the open time of the bar the event fired in (what the order's events are
    booked at); ``ts`` when the order is sent (the bar's open for intrabar exits, its close for
    close-time decisions).
    """

    strategy_id: str
    symbol: str
    kind: int
    bar_ts: int
    ts: int
    trigger: Decimal | None
    quantity: Decimal | None

    @property
    def reason(self) -> str:
        """The order's reason tag (``stop``, ``trailing_stop``, ``scale_out``...)."""
        return stops.KIND_NAMES[self.kind]

    def intent(self, is_long: bool) -> Intent:
        """The intent that carries this action out for a position that ``is_long``: a
        pyramiding add enters at market; every other action exits (reduce-only), as a stop or
        take-profit order at its trigger, or at market."""
        if self.kind == stops.PYRAMID_ADD:
            action = IntentAction.ENTER_LONG if is_long else IntentAction.ENTER_SHORT
            price_type = PriceType.MARKET
        else:
            action = IntentAction.EXIT_LONG if is_long else IntentAction.EXIT_SHORT
            price_type = _PRICE_TYPES.get(self.kind, PriceType.MARKET)
        return Intent(
            strategy_id=self.strategy_id,
            symbol=self.symbol,
            action=action,
            ts=self.ts,
            price_type=price_type,
            trigger_price=self.trigger,
            quantity=self.quantity,
            reason=self.reason,
        )


_PRICE_TYPES = {
    stops.STOP: PriceType.STOP,
    stops.TRAILING: PriceType.STOP,
    stops.BREAKEVEN: PriceType.STOP,
    stops.TAKE_PROFIT: PriceType.TAKE_PROFIT,
    stops.SCALE_OUT: PriceType.TAKE_PROFIT,
}
"""The order each protective exit sends (time stops and the rest go at market)."""


@dataclass
class ProtectionBook:
    """Protective exits of every open position, evaluated by compiled scans between events.

    Parameters
    ----------
    rules
        Exit rules per strategy id; ``default`` applies to strategies without their own.
    bars, instruments
        Market data and instruments per symbol.
    """

    bars: dict[str, BarSeries]
    instruments: dict[str, Instrument]
    default: ExitRules | None = None
    rules: dict[str, ExitRules] = field(default_factory=dict)
    guards: dict[tuple[str, str], Guard] = field(default_factory=dict)
    _atr: dict[tuple[str, int], FloatArray] = field(default_factory=dict)
    _quantity: dict[tuple[str, str], Decimal] = field(default_factory=dict)
    _empty: FloatArray = field(default_factory=lambda: np.empty(0, dtype=np.float64))

    def rules_for(self, strategy_id: str) -> ExitRules | None:
        """The exit rules of ``strategy_id`` (its own, else the default), or None if none apply."""
        found = self.rules.get(strategy_id, self.default)
        return found if found is not None and found.active else None

    def atr(self, symbol: str, period: int) -> FloatArray:
        """ATR series of ``symbol`` (computed once per period)."""
        key = (symbol, period)
        if key not in self._atr:
            series = self.bars[symbol]
            self._atr[key] = atr_indicator(series.high, series.low, series.close, period)
        return self._atr[key]

    def planned_stop(
        self, strategy_id: str, symbol: str, is_long: bool, price: float, bar: int
    ) -> float:
        """The stop a new position entered near ``price`` after bar ``bar`` would get (NaN: none).

        Fixed-risk sizing uses it; the real stop is placed from the fill price.
        """
        rules = self.rules_for(strategy_id)
        if rules is None:
            return NAN
        atr_value = self._atr_at(rules, symbol, bar)
        tick = float(self.instruments[symbol].price_step)
        return float(
            stops.initial_stop(
                is_long, price, _f(rules.stop_pct), atr_value, _f(rules.stop_atr), tick
            )
        )

    def replace_bars(self, symbol: str, bars: BarSeries) -> None:
        """The bars of ``symbol`` are now ``bars``: the old ones plus bars closed since (a trading
        session's growing series; never a different past).

        The scans are causal (an event at bar ``j`` depends on bars ``0..j`` only), so a scan that
        found nothing up to the old last bar simply goes on from where it started over the longer
        series, and an event it found stays the first one; the ATR is recomputed over the longer
        series (its values on the old bars do not change).
        """
        self.bars[symbol] = bars
        for key in [k for k in self._atr if k[0] == symbol]:
            del self._atr[key]
        for guard in self.guards.values():
            if guard.symbol == symbol and guard.event is not None and guard.event[0] < 0:
                guard.event = None

    def _atr_at(self, rules: ExitRules, symbol: str, bar: int) -> float:
        if not rules.uses_atr or bar < 0:
            return NAN
        return float(self.atr(symbol, rules.atr_period)[bar])

    # -- position changes ---------------------------------------------------------------------------

    def on_position(
        self,
        strategy_id: str,
        symbol: str,
        quantity: Decimal,
        average_price: Decimal,
        fill_price: Decimal,
        exposed_from: int,
    ) -> None:
        """A fill changed the position of ``strategy_id`` in ``symbol`` to ``quantity``.

        ``exposed_from`` is the open time (UTC ms) of the first bar the new position is exposed
        to (the fill's bar for a fill at its open; the next bar for a fill at a close).
        """
        key = (strategy_id, symbol)
        guard = self.guards.get(key)
        if quantity == 0:
            self.guards.pop(key, None)
            self._quantity.pop(key, None)
            return
        rules = self.rules_for(strategy_id)
        if rules is None:
            return
        start = int(np.searchsorted(self.bars[symbol].ts, exposed_from, side="left"))
        is_long = quantity > 0
        if guard is None or guard.is_long != is_long:
            self.guards[key] = self._open(
                strategy_id, symbol, rules, is_long, average_price, quantity, start
            )
            return
        guard.pending = False
        if abs(quantity) > abs(self._held(guard)):
            self._added(guard, rules, float(fill_price), quantity, start)
        else:
            self._reduced(guard, quantity, start)

    def _held(self, guard: Guard) -> Decimal:
        return self._quantity.get((guard.strategy_id, guard.symbol), guard.initial_quantity)

    def _open(
        self,
        strategy_id: str,
        symbol: str,
        rules: ExitRules,
        is_long: bool,
        average_price: Decimal,
        quantity: Decimal,
        start: int,
    ) -> Guard:
        entry = float(average_price)
        tick = float(self.instruments[symbol].price_step)
        atr_value = self._atr_at(rules, symbol, start - 1)
        stop = stops.initial_stop(
            is_long, entry, _f(rules.stop_pct), atr_value, _f(rules.stop_atr), tick
        )
        if rules.take_profit_r is not None:
            target = stops.r_multiple_target(is_long, entry, stop, rules.take_profit_r, tick)
        else:
            target = stops.percent_target(is_long, entry, _f(rules.take_profit_pct), tick)
        ladder = np.array(
            [stops.percent_target(is_long, entry, r.gain, tick) for r in rules.scale_out],
            dtype=np.float64,
        )
        add_price = NAN
        if rules.pyramid is not None:
            add_price = stops.percent_target(is_long, entry, rules.pyramid.step, tick)
        self._quantity[(strategy_id, symbol)] = quantity
        return Guard(
            strategy_id=strategy_id,
            symbol=symbol,
            rules=rules,
            is_long=is_long,
            entry=entry,
            initial_quantity=abs(quantity),
            stop=stop,
            take_profit=target,
            ladder=ladder,
            ladder_next=0,
            extreme=entry,
            trail_on=rules.has_trailing and rules.trailing_activation is None,
            breakeven_on=False,
            time_bar=-1 if rules.max_bars is None else start + rules.max_bars - 1,
            add_price=add_price,
            adds_done=0,
            scan_from=start,
        )

    def _added(
        self, guard: Guard, rules: ExitRules, fill_price: float, quantity: Decimal, start: int
    ) -> None:
        # The add filled: move the stop of the whole position to the rule applied to the add's
        # price when that is tighter, and look for the next add one step further.
        tick = float(self.instruments[guard.symbol].price_step)
        atr_value = self._atr_at(rules, guard.symbol, start - 1)
        moved = stops.initial_stop(
            guard.is_long, fill_price, _f(rules.stop_pct), atr_value, _f(rules.stop_atr), tick
        )
        if not math.isnan(moved) and (
            math.isnan(guard.stop) or (moved > guard.stop if guard.is_long else moved < guard.stop)
        ):
            guard.stop = moved
        guard.adds_done += 1
        if rules.pyramid is not None and guard.adds_done < rules.pyramid.max_adds:
            guard.add_price = stops.percent_target(
                guard.is_long, fill_price, rules.pyramid.step, tick
            )
        else:
            guard.add_price = NAN
        self._advance_to(guard, start)
        self._quantity[(guard.strategy_id, guard.symbol)] = quantity

    def _reduced(self, guard: Guard, quantity: Decimal, start: int | None = None) -> None:
        # A partial exit. When it was the next scale-out rung, the scan restarts on the same bar
        # (the stop may still fire later in it) with that rung done; the state before that bar
        # is what the scan returned.
        event = guard.event
        if event is not None and event[2] == stops.SCALE_OUT:
            guard.ladder_next += 1
            guard.scan_from = event[0]
            guard.extreme, guard.trail_on, guard.breakeven_on = event[4], event[5], event[6]
            guard.event = None
        elif start is not None:
            # Any other reduction (a part of a stop or of a signal exit filled, as under a
            # volume participation cap): the rest of the position is looked at from the fill's
            # bar on. Restarting from the old scan start would find again the event that has
            # just fired, at a time already past (the runner's clock refuses to go back).
            self._advance_to(guard, start)
        else:
            guard.event = None
        self._quantity[(guard.strategy_id, guard.symbol)] = quantity

    def _advance_to(self, guard: Guard, start: int) -> None:
        """Carry the state through the bars from the last scan start to ``start`` (no events
        happened there, or the scan would have stopped)."""
        series = self.bars[guard.symbol]
        rules = guard.rules
        begin = guard.scan_from
        if guard.event is not None and guard.event[0] < start:
            begin = guard.event[0]
            guard.extreme, guard.trail_on, guard.breakeven_on = guard.event[4:7]
        for j in range(begin, min(start, len(series))):
            guard.extreme, guard.trail_on, guard.breakeven_on = stops.after_bar(
                guard.is_long,
                float(series.high[j]),
                float(series.low[j]),
                guard.entry,
                guard.extreme,
                guard.trail_on,
                guard.breakeven_on,
                _f(rules.trailing_pct),
                _f(rules.trailing_atr),
                _f(rules.trailing_activation),
                _f(rules.breakeven_trigger),
            )
        guard.scan_from = max(start, guard.scan_from)
        guard.event = None

    # -- events -----------------------------------------------------------------------------------

    def next_event(self, symbol: str) -> tuple[int, tuple[str, str]] | None:
        """Time (ms) and position key of the earliest protective event of ``symbol``, or None."""
        best: tuple[int, tuple[str, str]] | None = None
        for key, guard in self.guards.items():
            if key[1] != symbol or guard.pending:
                continue
            event = self._scan(guard)
            if event[0] < 0:
                continue
            ts = self._event_ts(guard, event)
            if best is None or ts < best[0]:
                best = (ts, key)
        return best

    def next_kind(self, key: tuple[str, str]) -> int | None:
        """The :mod:`tradewind.sim.stops` code of the next protective event of position ``key``
        (None: none found in the bars held)."""
        guard = self.guards.get(key)
        if guard is None:
            return None
        event = self._scan(guard)
        return None if event[0] < 0 else event[2]

    def take(self, key: tuple[str, str], position: Decimal) -> ProtectiveAction | None:
        """The action for the due event of position ``key`` (now holding ``position``)."""
        guard = self.guards.get(key)
        if guard is None or guard.event is None or guard.event[0] < 0:
            return None
        bar, _, kind, level, *_ = guard.event
        instrument = self.instruments[guard.symbol]
        trigger: Decimal | None = None
        quantity: Decimal | None = None
        if kind in (stops.STOP, stops.TRAILING, stops.BREAKEVEN):
            trigger = to_decimal(level)
        elif kind == stops.TAKE_PROFIT:
            trigger = to_decimal(guard.take_profit)
        elif kind == stops.SCALE_OUT:
            trigger = to_decimal(float(guard.ladder[guard.ladder_next]))
            rung = guard.rules.scale_out[guard.ladder_next]
            quantity = min(
                floor_to_step(
                    guard.initial_quantity * to_decimal(rung.fraction), instrument.amount_step
                ),
                abs(position),
            )
            if guard.ladder_next == len(guard.ladder) - 1 and math.isnan(guard.take_profit):
                quantity = abs(position)  # the last rung closes what is left
            if quantity <= 0:
                # The rung rounds to nothing: skip it and look again from the same bar.
                self._reduced(guard, position)
                return None
        elif kind == stops.PYRAMID_ADD:
            pyramid = guard.rules.pyramid
            decay = 1.0 if pyramid is None else pyramid.decay
            quantity = floor_to_step(
                guard.initial_quantity * to_decimal(decay ** (guard.adds_done + 1)),
                instrument.amount_step,
            )
            if quantity <= 0:
                guard.add_price = NAN
                guard.event = None
                return None
        guard.pending = True
        return ProtectiveAction(
            guard.strategy_id,
            guard.symbol,
            kind,
            int(self.bars[guard.symbol].ts[bar]),
            self._event_ts(guard, guard.event),
            trigger,
            quantity,
        )

    def stop_in_force(self, key: tuple[str, str]) -> tuple[Decimal, str] | None:
        """The stop of position ``key`` in force during the bar after the last one held, and
        what it fires as (``stop``, ``breakeven``, ``trailing_stop``): the fixed or ATR stop,
        tightened by the break-even move and the trail as the held bars moved them; the level a
        native stop on the exchange rests at. None when no stop rule applies. Where the scan found
        the stop reached on a held bar, the stop in force on that bar (the stop on the exchange
        has fired, or fires at the next touch: it is not moved)."""
        guard = self.guards.get(key)
        if guard is None:
            return None
        event = self._scan(guard)
        if event[0] >= 0:
            level = event[3]
            kind = event[2] if event[2] in (stops.TRAILING, stops.BREAKEVEN) else stops.STOP
        else:
            rules = guard.rules
            series = self.bars[guard.symbol]
            extreme, trail_on, breakeven_on = event[4], event[5], event[6]
            atr_prev = NAN
            if trail_on and rules.trailing_atr is not None and len(series):
                atr_prev = float(self.atr(guard.symbol, rules.atr_period)[-1])
            level, kind = stops.stop_in_force(
                guard.is_long, guard.entry, guard.stop, float(rules.breakeven_offset), extreme,
                trail_on, breakeven_on, _f(rules.trailing_pct), _f(rules.trailing_atr), atr_prev,
                float(self.instruments[guard.symbol].price_step),
            )  # fmt: skip
        if math.isnan(level):
            return None
        price = self.instruments[guard.symbol].round_price(to_decimal(float(level)))
        return price, stops.KIND_NAMES[int(kind)]

    def keep_stop(self, key: tuple[str, str], level: Decimal) -> None:
        """The stop of position ``key`` already rests at ``level`` (a native stop an earlier
        session placed, carried on after a restart): the stop is never looser than it from now
        on, though the trail and the break-even may still tighten it. A looser ``level`` changes
        nothing (the rule from the entry is the floor)."""
        guard = self.guards.get(key)
        if guard is None:
            return
        value = float(level)
        tighter = math.isnan(guard.stop) or (
            value > guard.stop if guard.is_long else value < guard.stop
        )
        if tighter:
            guard.stop = value
            guard.event = None

    def failed(self, key: tuple[str, str]) -> None:
        """The protective order was denied or rejected: look again from the next bar.

        The state is not advanced through the failed bar (a trail is not raised by it): the
        cautious choice. A denied pyramiding add ends pyramiding for the position.
        """
        guard = self.guards.get(key)
        if guard is None or guard.event is None:
            return
        bar, kind = guard.event[0], guard.event[2]
        if kind == stops.PYRAMID_ADD:
            guard.add_price = NAN
        guard.extreme, guard.trail_on, guard.breakeven_on = guard.event[4:7]
        guard.scan_from = bar + 1
        guard.event = None
        guard.pending = False

    def drop(self, key: tuple[str, str]) -> None:
        """Forget the guard of ``key`` (kill switch: the position is being flattened)."""
        self.guards.pop(key, None)

    def _event_ts(
        self, guard: Guard, event: tuple[int, float, int, float, float, bool, bool]
    ) -> int:
        series = self.bars[guard.symbol]
        ts = int(series.ts[event[0]])
        if event[2] in (stops.TIME, stops.PYRAMID_ADD):
            return ts + series.timeframe.ms  # decided at the bar's close
        return ts

    def _scan(self, guard: Guard) -> tuple[int, float, int, float, float, bool, bool]:
        if guard.event is not None:
            return guard.event
        series = self.bars[guard.symbol]
        rules = guard.rules
        atr = (
            self.atr(guard.symbol, rules.atr_period)
            if rules.trailing_atr is not None
            else self._empty
        )
        event = stops.scan_exits(
            series.open,
            series.high,
            series.low,
            series.close,
            atr,
            guard.scan_from,
            guard.is_long,
            guard.entry,
            guard.stop,
            guard.take_profit,
            _f(rules.trailing_pct),
            _f(rules.trailing_atr),
            _f(rules.trailing_activation),
            _f(rules.breakeven_trigger),
            float(rules.breakeven_offset),
            guard.time_bar,
            guard.ladder,
            guard.ladder_next,
            guard.add_price,
            guard.extreme,
            guard.trail_on,
            guard.breakeven_on,
            float(self.instruments[guard.symbol].price_step),
            rules.adverse_first,
        )
        guard.event = (
            int(event[0]),
            float(event[1]),
            int(event[2]),
            float(event[3]),
            float(event[4]),
            bool(event[5]),
            bool(event[6]),
        )
        return guard.event
