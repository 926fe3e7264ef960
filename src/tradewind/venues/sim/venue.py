"""The simulated venue: working orders filled from bars, balances in ``Decimal``.

Spot markets behave as a spot exchange does: balances cannot go negative, and an order that the
account cannot pay for is refused with Binance's own message. Linear perpetuals trade on margin
(:mod:`tradewind.venues.sim.margin`: leverage, isolated margin, funding, liquidation). Prices
come from the bar arrays as floats (the shortest decimal that round-trips, which for recorded
data is the exchange's own price) and are rounded to the instrument's tick only where slippage
moves them off it.

Funds are checked when an order fills, not reserved when it is placed: two resting orders may
both count on the same cash, and the second expires when its turn comes, with Binance's
insufficient-balance message as the reason. Binance reserves at placement; strategies here send
one order at a time per symbol, where the two agree.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from tradewind.book.book import OrderBook
from tradewind.book.impact import vwap_to_size
from tradewind.core.errors import UserError
from tradewind.core.events import (
    DATA_ENDED,
    FundingPaid,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderTriggered,
    PositionLiquidated,
    VenueEvent,
)
from tradewind.core.instrument import Instrument, MarketType
from tradewind.core.money import ONE, ZERO, ceil_to_step, floor_to_step, to_decimal
from tradewind.core.orders import Fill, Liquidity, Order, OrderType, TimeInForce
from tradewind.core.records import Side
from tradewind.series.bars import BarSeries
from tradewind.series.funding import FundingSeries
from tradewind.sim import rules, search
from tradewind.venues.sim.fill_model import FillAt, FillModel
from tradewind.venues.sim.margin import MarginAccount

INSUFFICIENT = "Account has insufficient balance for requested action."
WOULD_TAKE = "Order would immediately match and take."


@dataclass(slots=True)
class _Working:
    """The venue's own record of a working order. The engine's ``Order`` object is never touched
    here: a venue only reports events, as a real exchange does."""

    order: Order
    symbol: str
    next_bar: int
    taker: bool
    quantity: Decimal
    filled: Decimal = ZERO
    triggered: bool = False
    live_at: int = 0
    """When the order reaches the venue (its send time plus latency, UTC ms)."""

    @property
    def remaining(self) -> Decimal:
        return self.quantity - self.filled


class SimVenue:
    """Fills orders from the bars of each symbol by the rules of :mod:`tradewind.sim.rules`.

    Parameters
    ----------
    instruments
        Instrument per symbol (steps, fees, fee currency).
    bars
        Bar arrays per symbol.
    balances
        Starting balances per asset (e.g. ``{"USDT": Decimal(100000)}``).
    fill_model
        Fill assumptions.
    leverage
        Leverage per perpetual symbol (1 where not given).
    funding
        Funding events per perpetual symbol.
    open_ended
        The bars are still coming (paper trading): an order sent after the last bar waits for the
        next one instead of being refused, and :meth:`extend` adds the bars as they close.
    trade_id_prefix
        Starts every trade id (a paper session's own, so that its restarts never repeat one).
    """

    def __init__(
        self,
        instruments: dict[str, Instrument],
        bars: dict[str, BarSeries],
        balances: dict[str, Decimal],
        fill_model: FillModel | None = None,
        *,
        leverage: Mapping[str, Decimal] | None = None,
        funding: Mapping[str, FundingSeries] | None = None,
        open_ended: bool = False,
        trade_id_prefix: str = "",
    ) -> None:
        missing = sorted(set(bars) - set(instruments))
        if missing:
            raise UserError(f"no instrument for {', '.join(missing)}")
        self.instruments = instruments
        self.bars = bars
        self.fill_model = fill_model or FillModel()
        self.open_ended = open_ended
        self._balances: dict[str, Decimal] = dict(balances)
        # Each perpetual's maintenance brackets come with its instrument.
        self.margin = MarginAccount(self._balances, instruments, leverage or {})
        # Only funding events inside the bars' time span can be charged: one after the last bar
        # closes (or before the first opens) is outside the data, not at its edge.
        self._funding = {s: _within(f, bars[s]) for s, f in (funding or {}).items() if s in bars}
        self._funding_bar = {s: self._bar_of_funding(s) for s in self._funding}
        self._funding_next: dict[str, int] = dict.fromkeys(self._funding, 0)
        self._working: dict[str, _Working] = {}
        self._by_symbol: dict[str, list[str]] = {s: [] for s in bars}
        self._trade_ids = 0
        # Trade ids are unique per bot in its database: a paper session's restart must not
        # reuse the ids of the venue it replaces.
        self._trade_id_prefix = trade_id_prefix
        self._position_from: dict[str, int] = {}
        self.revision = 0
        self.books: dict[str, OrderBook] = {}
        """L2 books fed for book-walk fills (``FillModel.book_walk``), kept current by the runner."""
        """Bumped by every call that can change what :meth:`next_bar` answers."""
        self._fee_currencies: dict[tuple[str, Side], tuple[Instrument, str]] = {}
        self._ticked: dict[tuple[float, bool], tuple[Decimal, Decimal]] = {}

    # -- the Venue port ---------------------------------------------------------------------------

    def balance(self, asset: str) -> Decimal:
        """Free balance of ``asset`` (for a perpetual's settle currency: not locked as margin)."""
        return self.margin.available(asset)

    @property
    def balances(self) -> dict[str, Decimal]:
        """A copy of every balance."""
        return dict(self._balances)

    def submit(self, order: Order, ts: int) -> list[VenueEvent]:
        """Accept or reject ``order`` at time ``ts``; with ``fill_at=close``, fill market orders now.

        The order is live from ``ts + latency``; it can fill on the first bar that opens then or
        later (a bar that opened earlier was already trading before the order existed).
        """
        self.revision += 1
        instrument = self.instruments.get(order.symbol)
        if instrument is None or order.symbol not in self.bars:
            return [OrderRejected(order.client_id, ts, "Invalid symbol.")]
        bars = self.bars[order.symbol]
        live_at = ts + self.fill_model.latency_ms
        first_bar = int(bars.ts.searchsorted(live_at, side="left"))
        signal_bar = first_bar - 1
        reference = float(bars.close[signal_bar]) if signal_bar >= 0 else math.nan
        taker = order.type in (OrderType.MARKET, OrderType.STOP_MARKET, OrderType.TAKE_PROFIT)
        if order.type is OrderType.LIMIT and not math.isnan(reference):
            price = float(order.price or 0)
            marketable = price >= reference if order.side is Side.BUY else price <= reference
            if marketable and order.post_only:
                return [OrderRejected(order.client_id, ts, WOULD_TAKE)]
            taker = marketable
        if order.price is not None or order.quantity > 0:
            problem = self._filter_problem(instrument, order, reference)
            if problem:
                return [OrderRejected(order.client_id, ts, problem)]
        if (
            self.fill_model.fill_at is FillAt.CLOSE
            and order.type is OrderType.MARKET
            and signal_bar >= 0
            and self.fill_model.latency_ms == 0
        ):
            # Optimistic mode: the order trades at the signal bar's close, the moment it was made.
            working = _Working(order, order.symbol, signal_bar, True, order.quantity)
            events: list[VenueEvent] = [OrderAccepted(order.client_id, ts, order.client_id)]
            price = rules.slipped_price(
                reference, order.side is Side.BUY, self.fill_model.slippage_bps
            )
            events += self._execute(working, signal_bar, price, ts, Liquidity.TAKER)
            if working.remaining != 0 and not isinstance(events[-1], OrderExpired):
                # Whatever the close could not fill (a participation cap) does not rest.
                events.append(OrderExpired(order.client_id, ts))
            return events
        if first_bar >= len(bars) and not self.open_ended:
            return [OrderRejected(order.client_id, ts, DATA_ENDED)]
        working = _Working(order, order.symbol, first_bar, taker, order.quantity, live_at=live_at)
        working.next_bar = self._search(working, first_bar)  # -1: not in the bars known yet
        self._working[order.client_id] = working
        self._by_symbol[order.symbol].append(order.client_id)
        return [OrderAccepted(order.client_id, ts, order.client_id)]

    def add_funding(self, symbol: str, ts: int, rate: float, mark: float) -> None:
        """A funding event of ``symbol`` learnt as it happened (an open-ended venue: paper
        trading): charged in the bar it falls in, as a backtest given the same event charges it.

        Raises
        ------
        UserError
            If the venue is not open-ended, or the event is not after the known ones.
        """
        if not self.open_ended:
            raise UserError("only an open-ended venue takes new funding events")
        known = self._funding.get(symbol)
        if known is None:
            empty = np.zeros(0)
            known = FundingSeries(empty.astype(np.int64), empty, empty)
            self._funding_next[symbol] = 0
        if len(known.ts) and ts <= int(known.ts[-1]):
            raise UserError(f"{symbol}: funding at {ts} is not after the last one")
        marks = known.mark if known.mark is not None else np.full(len(known.ts), np.nan)
        self._funding[symbol] = FundingSeries(
            np.append(known.ts, np.int64(ts)), np.append(known.rate, rate), np.append(marks, mark)
        )
        self._funding_bar[symbol] = self._bar_of_funding(symbol)
        self.revision += 1

    def _bar_of_funding(self, symbol: str) -> npt.NDArray[np.int64]:
        """The bar each funding event of ``symbol`` falls in; one after the known bars (paper
        trading learns funding before the bar it falls in has closed) waits at a bar index
        that no bar reaches until :meth:`extend` places it."""
        bars, funding = self.bars[symbol], self._funding[symbol]
        where = np.searchsorted(bars.ts, funding.ts, side="right").astype(np.int64) - 1
        if len(bars):
            where[funding.ts >= int(bars.ts[-1]) + bars.timeframe.ms] = _NOT_YET
        return where

    def arrival(self, client_id: str) -> int | None:
        """When a working order reached the venue (its send time plus latency, UTC ms); None
        for an order that is not working here (filled at once, finished or unknown)."""
        working = self._working.get(client_id)
        return None if working is None else working.live_at

    def cancel(self, client_id: str, ts: int) -> list[VenueEvent]:
        """Cancel a working order; an unknown or finished one is refused as Binance does."""
        self.revision += 1
        working = self._working.pop(client_id, None)
        if working is None:
            return [OrderRejected(client_id, ts, "Unknown order sent.")]
        self._by_symbol[working.symbol].remove(client_id)
        return [OrderCanceled(client_id, ts)]

    def extend(self, symbol: str, series: BarSeries) -> None:
        """Bars of ``symbol`` closed since the last call (an open-ended venue: paper trading).

        ``series`` is every bar so far: the known ones, unchanged, then the new ones. Each working
        order not yet due is searched again from the first new bar it can trade on (the bars
        before were searched already), so it fills exactly where a backtest over the whole
        series would fill it.

        Raises
        ------
        UserError
            If the venue is not open-ended, or ``series`` does not extend the known bars.
        """
        if not self.open_ended:
            raise UserError("only an open-ended venue takes new bars")
        old = self.bars[symbol]
        known = len(old)
        if len(series) < known or (known and int(series.ts[known - 1]) != int(old.ts[-1])):
            raise UserError(f"{symbol}: new bars must extend the known ones")
        self.bars[symbol] = series
        self.revision += 1
        if symbol in self._funding:
            self._funding_bar[symbol] = self._bar_of_funding(symbol)
        for client_id in self._by_symbol[symbol]:
            working = self._working[client_id]
            if working.next_bar < 0:
                first = int(series.ts.searchsorted(working.live_at, side="left"))
                working.next_bar = self._search(working, max(known, first))

    # -- driven by the backtest runner ------------------------------------------------------------

    def next_bar(self, symbol: str) -> int | None:
        """The earliest bar on which a working order of ``symbol`` can fill or, for an open
        perpetual position, funding is due or the price reaches liquidation; None if nothing can."""
        best: int | None = None
        for client_id in self._by_symbol.get(symbol, ()):
            candidate = self._working[client_id].next_bar
            if candidate >= 0 and (best is None or candidate < best):
                best = candidate
        if symbol not in self.margin.positions:
            return best  # spot: no funding or liquidation to wait for
        for candidate in self._account_bars(symbol):
            if best is None or candidate < best:
                best = candidate
        return best

    def _account_bars(self, symbol: str) -> list[int]:
        position = self.margin.positions.get(symbol)
        if position is None or not position.is_open:
            return []
        found = []
        pointer = self._funding_next.get(symbol)
        bars_of = self._funding_bar.get(symbol)
        if pointer is not None and bars_of is not None and pointer < len(bars_of):
            found.append(int(bars_of[pointer]))
        liquidation = self.margin.liquidation_price(symbol)
        start = self._position_from.get(symbol, 0)
        if liquidation is not None:
            bars = self.bars[symbol]
            hit = (
                search.first_at_or_below(bars.low, start, liquidation)
                if position.quantity > 0
                else search.first_at_or_above(bars.high, start, liquidation)
            )
            if hit >= 0:
                found.append(int(hit))
        return found

    def process_bar(self, symbol: str, index: int) -> list[VenueEvent]:
        """Fill what bar ``index`` of ``symbol`` reaches; IOC/FOK remainders expire."""
        self.revision += 1
        bars = self.bars[symbol]
        events: list[VenueEvent] = []
        ts = int(bars.ts[index])
        working_of = self._working
        due = [c for c in self._by_symbol[symbol] if working_of[c].next_bar == index]
        if len(due) > 1:
            # Market orders first (they trade at the open), then stops (adverse), then limits.
            due.sort(key=lambda c: _PRIORITY[working_of[c].order.type])
        for client_id in due:
            working = working_of[client_id]
            price, triggered = self._bar_price(working, index)
            if triggered:
                working.triggered = True
                events.append(OrderTriggered(client_id, ts))
            rejected = False
            if not math.isnan(price):
                liquidity = Liquidity.TAKER if working.taker else Liquidity.MAKER
                produced = self._execute(working, index, price, ts, liquidity)
                rejected = any(type(e) is OrderExpired for e in produced)
                events += produced
            if rejected or (working.quantity > 0 and working.remaining == 0):
                self._drop(client_id)
            elif working.order.time_in_force is not TimeInForce.GTC:
                events.append(OrderExpired(client_id, ts))
                self._drop(client_id)
            else:
                working.next_bar = self._search(working, index + 1)
        if symbol in self.margin.positions:
            events += self._settle_account(symbol, index, ts)
        return events

    def _settle_account(self, symbol: str, index: int, ts: int) -> list[VenueEvent]:
        """Funding due in bar ``index`` (on the position held after its opening fills), then a
        liquidation if the bar reaches the position's liquidation price."""
        events: list[VenueEvent] = []
        instrument = self.instruments[symbol]
        funding = self._funding.get(symbol)
        if funding is not None:
            bars_of = self._funding_bar[symbol]
            pointer = self._funding_next[symbol]
            while pointer < len(bars_of) and bars_of[pointer] <= index:
                if bars_of[pointer] == index and self.margin.positions[symbol].is_open:
                    mark = (
                        float(funding.mark[pointer])
                        if funding.mark is not None
                        else float(self.bars[symbol].open[index])
                    )
                    rate = float(funding.rate[pointer])
                    amount = self.margin.pay_funding(symbol, mark, rate)
                    events.append(
                        FundingPaid(
                            symbol,
                            int(funding.ts[pointer]),
                            amount,
                            instrument.settle_currency,
                            to_decimal(rate),
                        )
                    )
                pointer += 1
            self._funding_next[symbol] = pointer
        level = self.margin.liquidation_price(symbol)
        if level is not None and index >= self._position_from.get(symbol, 0):
            bars = self.bars[symbol]
            long = self.margin.positions[symbol].quantity > 0
            reached = bars.low[index] <= level if long else bars.high[index] >= level
            if reached:
                opened = float(bars.open[index])
                gapped = opened <= level if long else opened >= level
                price = _on_tick(
                    to_decimal(opened if gapped else level), instrument.price_step, up=not long
                )
                closed, lost = self.margin.liquidate(symbol)
                events.append(
                    PositionLiquidated(symbol, ts, price, closed, lost, instrument.settle_currency)
                )
        self._position_from[symbol] = index + 1
        return events

    # -- internals --------------------------------------------------------------------------------

    def _fee_currency(self, instrument: Instrument, side: Side) -> str:
        """``instrument.fee_currency(side)``, remembered per instrument and side."""
        key = (instrument.symbol, side)
        found = self._fee_currencies.get(key)
        if found is None or found[0] is not instrument:
            found = self._fee_currencies[key] = (instrument, instrument.fee_currency(side))
        return found[1]

    def _on_tick_cached(self, raw_price: float, tick: Decimal, up: bool) -> Decimal:
        """``_on_tick(to_decimal(raw_price), tick, up=up)``, remembered: fills repeat prices."""
        key = (raw_price, up)
        found = self._ticked.get(key)
        # The very tick object must match: 0.5 and 0.50 are equal but print differently.
        if found is None or found[0] is not tick:
            if len(self._ticked) >= _TICK_CACHE_SIZE:
                self._ticked.clear()  # a bound on memory; a miss only recomputes
            found = self._ticked[key] = (tick, _on_tick(to_decimal(raw_price), tick, up=up))
        return found[1]

    def _drop(self, client_id: str) -> None:
        working = self._working.pop(client_id)
        self._by_symbol[working.symbol].remove(client_id)

    def _search(self, working: _Working, start: int) -> int:
        """Next bar at or after ``start`` where the order can fill (-1: never, in this data)."""
        bars = self.bars[working.symbol]
        if start >= len(bars):
            return -1
        order = working.order
        kind = order.type
        is_buy = order.side is Side.BUY
        if kind is OrderType.MARKET or working.triggered:
            if kind is OrderType.STOP_LIMIT:
                level = float(order.price or 0)
                return self._touch(bars, start, level, reach_down=is_buy)
            return start
        if kind is OrderType.LIMIT:
            if order.time_in_force is not TimeInForce.GTC:
                # IOC/FOK: only the first bar the order is live in can fill it (the bar's range
                # reaching the limit, by the limit rule); what it does not fill there expires.
                return start
            return self._touch(bars, start, float(order.price or 0), reach_down=is_buy)
        trigger = float(order.trigger_price or 0)
        if kind is OrderType.TAKE_PROFIT:
            return self._touch(bars, start, trigger, reach_down=is_buy)
        # Stops trigger on an adverse move: a buy stop when the price rises to the trigger.
        return self._touch(bars, start, trigger, reach_down=not is_buy)

    @staticmethod
    def _touch(bars: BarSeries, start: int, level: float, *, reach_down: bool) -> int:
        if reach_down:
            return int(search.first_at_or_below(bars.low, start, level))
        return int(search.first_at_or_above(bars.high, start, level))

    def _bar_price(self, working: _Working, j: int) -> tuple[float, bool]:
        """Fill price (float, before rounding) of the order on bar ``j``; NaN if none. Also says
        whether the order triggered on this bar."""
        bars = self.bars[working.symbol]
        order = working.order
        is_buy = order.side is Side.BUY
        kind = order.type
        if kind is OrderType.MARKET:
            walked = self._walk(working) if self.fill_model.book_walk else None
            if walked is not None:
                return walked, False
            return self._slip(float(bars.open[j]), is_buy, bars, j), False
        o, h, lo = float(bars.open[j]), float(bars.high[j]), float(bars.low[j])
        if kind is OrderType.LIMIT:
            return rules.limit_fill_price(is_buy, float(order.price or 0), o, h, lo), False
        already = working.triggered
        if kind is OrderType.TAKE_PROFIT:
            price = rules.take_profit_fill_price(is_buy, float(order.trigger_price or 0), o, h, lo)
            # Triggered once: a remainder left by a participation cap fills on later bars
            # without a second trigger event.
            return (
                (math.nan, False)
                if math.isnan(price)
                else (self._slip(price, is_buy, bars, j), not already)
            )
        if kind is OrderType.STOP_MARKET:
            price = rules.stop_fill_price(is_buy, float(order.trigger_price or 0), o, h, lo)
            return (
                (math.nan, False)
                if math.isnan(price)
                else (self._slip(price, is_buy, bars, j), not already)
            )
        # Stop-limit: once triggered it is a limit order. On the trigger bar it can fill only at
        # the trigger price itself, and only if the limit allows it; later bars use limit rules.
        limit = float(order.price or 0)
        if already:
            return rules.limit_fill_price(is_buy, limit, o, h, lo), False
        stop_px = rules.stop_fill_price(is_buy, float(order.trigger_price or 0), o, h, lo)
        if math.isnan(stop_px):
            return math.nan, False
        within = stop_px <= limit if is_buy else stop_px >= limit
        return (stop_px if within else math.nan), True

    def _walk(self, working: _Working) -> float | None:
        """VWAP of a market order walking the fed book, or None when no usable book is there."""
        book = self.books.get(working.symbol)
        order = working.order
        if book is None or book.needs_resync:
            return None
        by_notional = working.quantity == 0 and order.quote_quantity is not None
        if by_notional:
            rate = self.instruments[working.symbol].taker_fee
            amount = float(order.quote_quantity or 0) / (1.0 + float(rate))
        else:
            amount = float(working.remaining)
        estimate = vwap_to_size(book, order.side, amount, by_notional=by_notional)
        if estimate.filled <= 0:
            return None
        if estimate.complete:
            return estimate.vwap
        # Beyond the visible depth the rest trades at the last visible level.
        worst = estimate.worst_price
        if by_notional:
            rest = (amount - estimate.notional) / worst
            return amount / (estimate.filled + rest)
        rest = amount - estimate.filled
        return (estimate.notional + rest * worst) / amount

    def _slip(self, price: float, is_buy: bool, bars: BarSeries, j: int) -> float:
        bps = self.fill_model.slippage_bps
        if self.fill_model.volatility_slippage > 0:
            bps += rules.volatility_slippage_bps(
                float(bars.high[j]),
                float(bars.low[j]),
                float(bars.close[j]),
                self.fill_model.volatility_slippage,
            )
        return rules.slipped_price(price, is_buy, bps) if bps > 0 else price

    def _filter_problem(self, instrument: Instrument, order: Order, reference: float) -> str | None:
        if order.quantity == 0:
            return None
        price = order.price or order.trigger_price
        if price is None:
            if math.isnan(reference):
                return None
            price = to_decimal(reference)
        if (order.quantity % instrument.amount_step) != 0:
            return "Filter failure: LOT_SIZE"
        if order.price is not None and (order.price % instrument.price_step) != 0:
            return "Filter failure: PRICE_FILTER"
        if instrument.min_amount is not None and order.quantity < instrument.min_amount:
            return "Filter failure: LOT_SIZE"
        notional = instrument.notional(order.quantity, price)
        if (
            instrument.min_notional is not None
            and not order.reduce_only
            and notional < instrument.min_notional
        ):
            return "Filter failure: NOTIONAL"
        return None

    def _execute(
        self, working: _Working, j: int, raw_price: float, ts: int, liquidity: Liquidity
    ) -> list[VenueEvent]:
        order = working.order
        instrument = self.instruments[working.symbol]
        bars = self.bars[working.symbol]
        is_buy = order.side is Side.BUY
        price = self._on_tick_cached(raw_price, instrument.price_step, is_buy)
        rate = instrument.maker_fee if liquidity is Liquidity.MAKER else instrument.taker_fee
        fee_currency = self._fee_currency(instrument, order.side)
        if working.quantity == 0 and order.quote_quantity is not None:
            # Sized by quote amount at the fill price, the fee included, as quoteOrderQty does.
            if instrument.is_derivative:
                # The quote amount is the margin to commit: each contract needs 1/leverage of
                # its notional as margin plus the fee on its notional.
                leverage = self.margin.leverage(working.symbol)
                divisor = price * instrument.contract_size * (1 / leverage + rate)
            else:
                divisor = price * (1 + rate) if fee_currency == instrument.quote else price
            quantity = floor_to_step(order.quote_quantity / divisor, instrument.amount_step)
            if quantity <= 0 or (
                instrument.min_amount is not None and quantity < instrument.min_amount
            ):
                return [OrderExpired(order.client_id, ts, "Filter failure: LOT_SIZE")]
            if instrument.min_notional is not None and quantity * price < instrument.min_notional:
                return [OrderExpired(order.client_id, ts, "Filter failure: NOTIONAL")]
            working.quantity = quantity
        quantity = working.remaining
        cap = self.fill_model.max_participation
        if cap > 0:
            allowed = rules.participation_cap(float(quantity), float(bars.volume[j]), cap)
            quantity = min(quantity, floor_to_step(to_decimal(allowed), instrument.amount_step))
            if quantity <= 0:
                return []
        notional = quantity * price * instrument.contract_size
        fee = notional * rate if fee_currency == instrument.quote else quantity * rate
        base, quote = instrument.base, instrument.quote
        if instrument.market_type is not MarketType.SPOT:  # a derivative
            refused = self.margin.fill(
                instrument, order.side, quantity, price, fee, reduce_only=order.reduce_only
            )
            if refused is not None:
                return [OrderExpired(order.client_id, ts, refused)] if working.filled == 0 else []
            if self.margin.positions[working.symbol].is_open:
                # Funding and liquidation are looked for from this bar on.
                self._position_from[working.symbol] = j
                funding_bars = self._funding_bar.get(working.symbol)
                if funding_bars is not None:
                    self._funding_next[working.symbol] = int(
                        np.searchsorted(self._funding[working.symbol].ts, ts, side="right")
                    )
        elif is_buy:
            cost = notional + (fee if fee_currency == quote else ZERO)
            available = self.balance(quote)
            if available < cost:
                return (
                    [OrderExpired(order.client_id, ts, INSUFFICIENT)] if working.filled == 0 else []
                )
            self._balances[quote] = available - cost
            received = quantity - (fee if fee_currency == base else ZERO)
            self._balances[base] = self.balance(base) + received
        else:
            needed = quantity + (fee if fee_currency == base else ZERO)
            available = self.balance(base)
            if available < needed:
                return (
                    [OrderExpired(order.client_id, ts, INSUFFICIENT)] if working.filled == 0 else []
                )
            self._balances[base] = available - needed
            self._balances[quote] = (
                self.balance(quote) + notional - (fee if fee_currency == quote else ZERO)
            )
        self._trade_ids += 1
        working.filled += quantity
        fill = Fill(
            order.client_id,
            working.symbol,
            order.side,
            ts,
            price,
            quantity,
            fee,
            fee_currency,
            liquidity,
            f"{self._trade_id_prefix}{self._trade_ids}",
        )
        return [OrderFilled(fill, working.quantity)]


_NOT_YET = np.iinfo(np.int64).max
"""The bar index of a funding event after the known bars (no bar reaches it)."""


def _within(funding: FundingSeries, bars: BarSeries) -> FundingSeries:
    if len(bars) == 0:
        return FundingSeries(funding.ts[:0], funding.rate[:0], None)
    keep = (funding.ts >= bars.ts[0]) & (funding.ts < bars.ts[-1] + bars.timeframe.ms)
    mark = None if funding.mark is None else funding.mark[keep]
    return FundingSeries(funding.ts[keep], funding.rate[keep], mark)


def _on_tick(price: Decimal, tick: Decimal, *, up: bool) -> Decimal:
    """Put a fill price on the tick grid.

    A price within float noise of a tick (slippage computed in float64, e.g. 5.0010000000000004e-05
    for 5.001e-05) is that tick; a price truly between ticks is rounded against the trader (up for
    a buy). The screening kernel applies the same rule, so both engines fill at the same price.
    """
    units = price / tick
    nearest = units.to_integral_value()
    if units == nearest:
        return price  # on the grid already (recorded prices, unslipped)
    if abs(units - nearest) <= _NOISE * max(ONE, abs(units)):
        return nearest * tick
    return ceil_to_step(price, tick) if up else floor_to_step(price, tick)


_NOISE = Decimal("1e-9")
"""How far (in ticks, relative) a float64 price may sit from a tick and still be that tick."""


_TICK_CACHE_SIZE = 1 << 16

_PRIORITY = {
    OrderType.MARKET: 0,
    OrderType.STOP_MARKET: 1,
    OrderType.STOP_LIMIT: 2,
    OrderType.TAKE_PROFIT: 3,
    OrderType.LIMIT: 4,
}
