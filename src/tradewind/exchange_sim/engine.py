"""The matching engine: orders against the replayed book, each other, and the replayed flow.

Price-time priority. An incoming order takes the best price first; within a level, replayed
liquidity first (see :mod:`.sim_book`), then resting simulated orders oldest first. A simulated
order that would trade with another order of the same account expires that resting order instead
(Binance's default self-trade prevention, ``EXPIRE_MAKER``).

Resting simulated orders fill from the replay in two ways, at their own limit price (as makers):

- a replayed book change that moves the opposite side through the order (the replayed best ask
  falls to or below a resting bid) fills it against that replayed liquidity, which is consumed;
- a replayed trade at a price through the order fills it up to the trade's size; a trade exactly
  at the order's price first uses up the replayed size that was queued ahead of it.

Order types: ``MARKET`` (by quantity, or spot by ``quoteOrderQty``), ``LIMIT`` with ``GTC``, ``IOC``,
``FOK`` (and futures ``GTX`` post-only), spot ``LIMIT_MAKER``, stop-loss and take-profit as stop-limit
and stop-market (they wait for the last trade price, or USDT-M's mark price with
``workingType=MARK_PRICE``, to reach ``stopPrice``), spot OCO lists and USDT-M reduce-only. A stop
that would trigger at once is refused, as on Binance. An ``IOC`` or market remainder expires; a
``FOK`` that cannot fill completely expires without a fill.

USDT-M positions are liquidated when their margin falls below maintenance (see :mod:`.futures`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from tradewind.exchange_sim import errors
from tradewind.exchange_sim.accounts import ZERO, Account, InsufficientBalance, Reservation
from tradewind.exchange_sim.errors import BinanceError
from tradewind.exchange_sim.ledgers import FuturesLedger, SpotLedger, positions_of
from tradewind.exchange_sim.listings import Listing
from tradewind.exchange_sim.order_params import OrderRequest
from tradewind.exchange_sim.orders import MARKET_LIKE, STOP_TYPES, OrderStore, SimOrder
from tradewind.exchange_sim.replay import ReplayStep
from tradewind.exchange_sim.sim_book import MarketBook

Diff = tuple[int, int, int, list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]


class Sink(Protocol):
    """Where the engine sends what happened (the stream hub; a null sink in unit use)."""

    def order_update(self, order: SimOrder, exec_type: str, fill: dict[str, Any] | None) -> None:
        """An order changed (``NEW``, ``TRADE``, ``CANCELED``, ``EXPIRED``, ``REJECTED``)."""

    def account_update(self, account: Account, futures: bool, symbols: set[str]) -> None:
        """An account's balances (or positions on ``symbols``) changed."""

    def public_trade(
        self,
        market: LiveMarket,
        trade_id: int,
        price: Decimal,
        qty: Decimal,
        buyer_maker: bool,
        time_ms: int | None = None,
    ) -> None:
        """A public trade happened (at ``time_ms``, the clock when None)."""

    def depth_diff(self, market: LiveMarket, diff: Diff) -> None:
        """The published book changed."""


class NullSink:
    """A sink that drops everything."""

    def order_update(self, order: SimOrder, exec_type: str, fill: dict[str, Any] | None) -> None:
        """Drop."""

    def account_update(self, account: Account, futures: bool, symbols: set[str]) -> None:
        """Drop."""

    def public_trade(
        self,
        market: LiveMarket,
        trade_id: int,
        price: Decimal,
        qty: Decimal,
        buyer_maker: bool,
        time_ms: int | None = None,
    ) -> None:
        """Drop."""

    def depth_diff(self, market: LiveMarket, diff: Diff) -> None:
        """Drop."""


@dataclass(eq=False)
class LiveMarket:
    """One tradable market: its listing, live book, waiting stops and last prices."""

    listing: Listing
    futures: bool
    book: MarketBook = field(default_factory=MarketBook)
    stops: list[SimOrder] = field(default_factory=list)
    last_price: Decimal | None = None
    mark_price: Decimal | None = None
    trade_ids: int = 0
    recent_trades: deque[tuple[int, Decimal, Decimal, bool, int]] = field(
        default_factory=lambda: deque(maxlen=1000)
    )
    stale_snapshot: tuple[int, list[list[str]], list[list[str]]] | None = None
    replayed_ms: int | None = None
    """Server time the last applied replay step was due (None before the replay runs)."""

    @property
    def symbol(self) -> str:
        """The Binance symbol."""
        return self.listing.symbol

    def next_trade_id(self) -> int:
        """Return a fresh public trade id."""
        self.trade_ids += 1
        return self.trade_ids

    def best_opposite(self, buy: bool) -> Decimal | None:
        """Best price a market order on ``buy``'s side would take."""
        return (self.book.asks if buy else self.book.bids).best()


_TRIGGER_UP = frozenset({("STOP_LOSS", "BUY"), ("STOP_LOSS_LIMIT", "BUY"), ("STOP", "BUY"),
                         ("STOP_MARKET", "BUY"), ("TAKE_PROFIT", "SELL"),
                         ("TAKE_PROFIT_LIMIT", "SELL"), ("TAKE_PROFIT_MARKET", "SELL")})  # fmt: skip


def stop_reached(order: SimOrder, price: Decimal) -> bool:
    """Tell whether ``price`` reaches the stop of ``order`` (direction by type and side)."""
    assert order.stop_price is not None
    if (order.type, order.side) in _TRIGGER_UP:
        return price >= order.stop_price
    return price <= order.stop_price


class MatchingEngine:
    """Orders, fills and the books of every tradable market.

    Parameters
    ----------
    clock
        Replay time in ms.
    store
        The order store.
    sink
        Receives order, account, trade and depth events.
    """

    def __init__(
        self, clock: Callable[[], int], store: OrderStore, sink: Sink | None = None
    ) -> None:
        self.clock = clock
        self.store = store
        self.sink: Sink = sink or NullSink()
        self.markets: dict[tuple[bool, str], LiveMarket] = {}
        self.spot = SpotLedger()
        self.futures = FuturesLedger()
        self._touched: dict[int, tuple[Account, bool, set[str]]] = {}
        self._trigger_queue: list[LiveMarket] = []
        self.liquidations = 0
        self.accounts: list[Account] = []
        """Accounts that may hold positions (the key ring's, set by the exchange)."""

    # ----------------------------------------------------------------- markets and the replay
    def add_market(self, listing: Listing, futures: bool) -> LiveMarket:
        """Make ``listing`` tradable and return its live market."""
        market = LiveMarket(listing, futures)
        self.markets[(futures, listing.symbol)] = market
        return market

    def market(self, futures: bool, symbol: str) -> LiveMarket | None:
        """Return the live market, or None."""
        return self.markets.get((futures, symbol))

    def apply_step(self, market: LiveMarket, step: ReplayStep, at_ms: int | None = None) -> None:
        """Apply one replay step: book change, crossing fills, replayed trades, stops, events.

        ``at_ms`` is the server time the step was due: its trades are stamped with it (a driver
        that wakes a little late does not move a trade into the next candle); the clock when None.
        """
        book = market.book
        if step.snapshot:
            book.replace_replay(step.bids, step.asks)
        else:
            for price, size in step.bids.items():
                book.set_replay(True, price, size)
            for price, size in step.asks.items():
                book.set_replay(False, price, size)
        self._fill_crossed(market)
        trade_ms = at_ms if at_ms is not None else self.clock()
        for trade in step.trades:
            tid = market.next_trade_id()
            market.last_price = trade.price
            market.recent_trades.append((tid, trade.price, trade.qty, trade.buyer_maker, trade_ms))
            self.sink.public_trade(market, tid, trade.price, trade.qty, trade.buyer_maker, trade_ms)
            self._fill_from_trade(market, trade.price, trade.qty, trade.buyer_maker)
        if market.futures:
            bid, ask = book.bids.best(), book.asks.best()
            if bid is not None and ask is not None:
                market.mark_price = (bid + ask) / 2
        self._run_triggers(market)
        self.finish(market)

    def finish(self, market: LiveMarket | None = None) -> None:
        """Flush book diffs and account events collected by an operation."""
        targets = [market] if market is not None else list(self.markets.values())
        for m in targets:
            diff = m.book.flush()
            if diff is not None:
                self.sink.depth_diff(m, diff)
        for account, futures, symbols in self._touched.values():
            self.sink.account_update(account, futures, symbols)
        self._touched.clear()

    # ----------------------------------------------------------------- placing and cancelling
    def place(
        self,
        account: Account,
        market: LiveMarket,
        req: OrderRequest,
        *,
        list_id: int = -1,
        reservation: Reservation | None = None,
    ) -> SimOrder:
        """Place a new order; return it (already matched as far as it goes).

        Raises
        ------
        BinanceError
            Duplicate client id, would-take post-only, would-trigger stop, insufficient balance or
            margin, reduce-only refused.
        """
        now = self.clock()
        futures = market.futures
        client_id = req.client_id or f"sim-{self.store.next_id()}"
        if self.store.open_with_client_id(account, futures, market.symbol, client_id) is not None:
            raise BinanceError(errors.FUTURES_DUPLICATE if futures else errors.DUPLICATE_ORDER)
        order = SimOrder.from_request(
            req, order_id=self.store.next_id(), client_id=client_id, account=account,
            futures=futures, now=now, list_id=list_id,
        )  # fmt: skip
        if req.algo:
            order.algo_id = self.store.next_id()
        if order.type in STOP_TYPES:
            ref = market.mark_price if order.working_type == "MARK_PRICE" else market.last_price
            if ref is None:
                ref = market.mark_price or market.last_price
            if ref is not None and stop_reached(order, ref):
                raise BinanceError(
                    errors.FUTURES_WOULD_TRIGGER if futures else errors.WOULD_TRIGGER
                )
        if self._would_take(market, order):
            raise BinanceError(errors.FUTURES_POST_ONLY if futures else errors.WOULD_TAKE)
        if futures:
            self._check_futures(account, market, order)
        else:
            order.reservation = reservation or self._reserve_spot(account, market, order)
        self.store.add(order)
        self.sink.order_update(order, "NEW", None)
        self._touch(account, futures, market.symbol)
        if order.type in STOP_TYPES:
            market.stops.append(order)
        else:
            self._execute(market, order)
        self._run_triggers(market)
        self.finish(market)
        return order

    def cancel(self, order: SimOrder, status: str = "CANCELED") -> None:
        """Cancel an open order (and its OCO sibling); events are sent."""
        market = self.markets[(order.futures, order.symbol)]
        if not order.is_open:
            raise BinanceError(errors.UNKNOWN_ORDER)
        self._close(market, order, status, "CANCELED" if status == "CANCELED" else "EXPIRED")
        if order.list_id != -1:
            for sibling in self.store.lists.get(order.list_id, []):
                if sibling.is_open:
                    self._close(market, sibling, status, "CANCELED")
        self.finish(market)

    def force_fill(self, order: SimOrder) -> None:
        """Fill what is left of an open order at its limit price, as if the market traded through.

        Used by the ``GHOST_FILLED`` fault: the order fills while the client never hears of it.
        """
        market = self.markets[(order.futures, order.symbol)]
        if order.waiting_trigger:
            market.stops.remove(order)
            order.triggered = True
        price = order.price or order.stop_price or market.best_opposite(order.is_buy)
        if price is None or not order.is_open:
            return
        in_book = order.price is not None and order in market.book.side(order.is_buy).own.get(
            price, ()
        )
        qty = self._qty_at(market, order, price, order.remaining)
        if qty > 0:
            if in_book:
                self._fill(market, None, order, price, qty)
            else:
                self._fill(market, order, None, price, qty)
        if order.is_open:
            self._close(market, order, "EXPIRED", "EXPIRED")
        self.finish(market)

    def trade_through(self, order: SimOrder, quantity: Decimal) -> Decimal:
        """Fill up to ``quantity`` of a resting limit order at its price, as if a trade of that
        size reached it (a test's way to fill a resting order in parts, on demand); returns
        what filled. The order keeps resting while anything is left."""
        market = self.markets[(order.futures, order.symbol)]
        if order.price is None or not order.is_open or order.waiting_trigger:
            return ZERO
        qty = self._qty_at(market, order, order.price, min(quantity, order.remaining))
        if qty > 0:
            self._fill(market, None, order, order.price, qty)
        self.finish(market)
        return qty

    # ----------------------------------------------------------------- internals
    def _would_take(self, market: LiveMarket, order: SimOrder) -> bool:
        post_only = order.type == "LIMIT_MAKER" or (order.futures and order.tif == "GTX")
        if not post_only or order.price is None:
            return False
        best = market.best_opposite(order.is_buy)
        return best is not None and (order.price >= best if order.is_buy else order.price <= best)

    def _reserve_spot(self, account: Account, market: LiveMarket, order: SimOrder) -> Reservation:
        listing = market.listing
        try:
            if not order.is_buy:
                return account.lock(listing.base, order.qty)
            if order.type == "MARKET":
                if order.quote_qty > 0:
                    return account.lock(listing.quote, order.quote_qty)
                return account.lock(listing.quote, self._walk_cost(market, order))
            price = order.price if order.price is not None else order.stop_price
            assert price is not None
            return account.lock(listing.quote, price * order.qty)
        except InsufficientBalance:
            raise BinanceError(errors.INSUFFICIENT) from None

    def _walk_cost(self, market: LiveMarket, order: SimOrder) -> Decimal:
        left, cost = order.qty, ZERO
        side = market.book.asks
        for price in side.walk():
            if left <= 0:
                break
            q = min(left, side.published(price))
            cost += q * price
            left -= q
        return cost

    def _check_futures(self, account: Account, market: LiveMarket, order: SimOrder) -> None:
        pos = positions_of(account).get(market.symbol)
        pos_qty = pos.qty if pos is not None else ZERO
        if order.reduce_only:
            reduces = (pos_qty > 0 and not order.is_buy) or (pos_qty < 0 and order.is_buy)
            if not reduces:
                raise BinanceError(errors.FUTURES_REDUCE_ONLY)
            return
        if order.close_position:
            return
        ref = order.price or order.stop_price or market.best_opposite(order.is_buy)
        ref = ref or market.mark_price or ZERO
        opening = order.qty
        if (pos_qty > 0 and not order.is_buy) or (pos_qty < 0 and order.is_buy):
            opening = max(ZERO, order.qty - abs(pos_qty))
        leverage = pos.leverage if pos is not None else 20
        need = opening * ref / leverage
        marks = {s: m.mark_price for (f, s), m in self.markets.items() if f and m.mark_price}
        open_orders = self.store.open_orders(account, True, None)
        if need > 0 and need > self.futures.available(account, marks, open_orders):  # type: ignore[arg-type]
            raise BinanceError(errors.FUTURES_MARGIN)

    def _fillable(self, market: LiveMarket, order: SimOrder) -> Decimal:
        side = market.book.asks if order.is_buy else market.book.bids
        total = ZERO
        for price in side.walk():
            if order.price is not None and (
                price > order.price if order.is_buy else price < order.price
            ):
                break
            total += side.replay.get(price, ZERO)
            total += sum(
                (o.remaining for o in side.own.get(price, ()) if o.account is not order.account),
                ZERO,
            )
            if total >= order.qty:
                break
        return total

    def _execute(self, market: LiveMarket, order: SimOrder) -> None:
        """Match a working (non-stop or triggered) order, then rest or expire what is left."""
        if order.futures and order.close_position:
            pos = positions_of(order.account).get(order.symbol)
            order.qty = abs(pos.qty) if pos is not None else ZERO
        if order.tif == "FOK" and self._fillable(market, order) < order.qty:
            self._close(market, order, "EXPIRED", "EXPIRED")
            return
        self._take(market, order)
        if not order.is_open:
            return
        if order.type in MARKET_LIKE or order.tif in ("IOC", "FOK") or order.price is None:
            self._close(market, order, "EXPIRED", "EXPIRED")
            return
        market.book.add_own(order)

    def _take(self, market: LiveMarket, order: SimOrder) -> None:
        book = market.book
        side = book.asks if order.is_buy else book.bids
        for price in side.walk():
            if not order.is_open or not self._wants_more(order):
                break
            if order.price is not None and (
                price > order.price if order.is_buy else price < order.price
            ):
                break
            replay = side.replay.get(price, ZERO)
            if replay > 0:
                q = self._qty_at(market, order, price, replay)
                if q > 0:
                    book.take_replay(not order.is_buy, price, q)
                    self._fill(market, order, None, price, q)
            for maker in list(side.own.get(price, ())):
                if not order.is_open or not self._wants_more(order):
                    break
                if maker.account is order.account:
                    self._close(market, maker, "EXPIRED_IN_MATCH", "EXPIRED")
                    continue
                q = self._qty_at(market, order, price, maker.remaining)
                if maker.futures:
                    q = min(q, self._reduce_cap(maker, q))
                if q <= 0:
                    break
                self._fill(market, order, maker, price, q)

    def _wants_more(self, order: SimOrder) -> bool:
        if order.quote_qty > 0:
            return order.cum_quote < order.quote_qty
        return order.remaining > 0

    def _qty_at(
        self, market: LiveMarket, order: SimOrder, price: Decimal, available: Decimal
    ) -> Decimal:
        listing = market.listing
        if order.quote_qty > 0:
            budget = order.quote_qty - order.cum_quote
            steps = (budget / price / listing.step_size).to_integral_value(rounding="ROUND_DOWN")
            want = steps * listing.step_size
        else:
            want = order.remaining
        q = min(want, available)
        q = (
            self._reduce_cap(order, q)
            if order.futures
            else self.spot.affordable(order, listing, price, q)
        )
        return q

    def _reduce_cap(self, order: SimOrder, q: Decimal) -> Decimal:
        if not order.reduce_only and not order.close_position:
            return q
        pos = positions_of(order.account).get(order.symbol)
        if pos is None or pos.qty == 0 or (pos.qty > 0) == order.is_buy:
            return ZERO
        return min(q, abs(pos.qty))

    def _fill(
        self,
        market: LiveMarket,
        taker: SimOrder | None,
        maker: SimOrder | None,
        price: Decimal,
        qty: Decimal,
    ) -> None:
        tid = market.next_trade_id()
        now = self.clock()
        for order, is_maker in ((maker, True), (taker, False)):
            if order is None:
                continue
            ledger = self.futures if order.futures else self.spot
            record = ledger.settle(order, market.listing, price, qty, is_maker, tid, now)
            order.filled += qty
            order.cum_quote += price * qty
            order.updated_ms = now
            order.fills.append(record)
            if order.quote_qty > 0:
                complete = not self._can_buy_more(market, order)
                order.qty = order.filled
            else:
                complete = order.remaining <= 0
            if complete:
                order.status = "FILLED"
            else:
                order.status = "PARTIALLY_FILLED"
            if is_maker:
                market.book.own_reduced(order, qty)
            self.sink.order_update(order, "TRADE", record)
            self._touch(order.account, order.futures, order.symbol)
            if order.status == "FILLED":
                if is_maker:
                    market.book.remove_own(order)
                self._finish_closed(market, order)
            if order.list_id != -1:
                for sibling in self.store.lists.get(order.list_id, []):
                    if sibling is not order and sibling.is_open:
                        self._close(market, sibling, "EXPIRED", "EXPIRED")
        buyer_maker = maker.is_buy if maker is not None else taker is not None and not taker.is_buy
        market.last_price = price
        market.recent_trades.append((tid, price, qty, buyer_maker, now))
        self.sink.public_trade(market, tid, price, qty, buyer_maker)
        if market not in self._trigger_queue:
            self._trigger_queue.append(market)

    def _can_buy_more(self, market: LiveMarket, order: SimOrder) -> bool:
        best = market.best_opposite(order.is_buy)
        if best is None:
            return False
        return order.quote_qty - order.cum_quote >= best * market.listing.step_size

    def _close(self, market: LiveMarket, order: SimOrder, status: str, exec_type: str) -> None:
        if not order.is_open:
            return
        if order in market.stops:
            market.stops.remove(order)
        market.book.remove_own(order)
        order.status = status
        order.updated_ms = self.clock()
        self.sink.order_update(order, exec_type, None)
        self._touch(order.account, order.futures, order.symbol)
        self._finish_closed(market, order)

    def _finish_closed(self, market: LiveMarket, order: SimOrder) -> None:
        self.store.closed(order)
        res = order.reservation
        if res is not None:
            res.holders -= 1
            if res.holders <= 0 and res.remaining > 0:
                order.account.release(res)

    def _touch(self, account: Account, futures: bool, symbol: str) -> None:
        entry = self._touched.get(id(account) * 2 + futures)
        if entry is None:
            self._touched[id(account) * 2 + futures] = (account, futures, {symbol})
        else:
            entry[2].add(symbol)

    def _fill_crossed(self, market: LiveMarket) -> None:
        book = market.book
        for own_side, replay_side in ((book.bids, book.asks), (book.asks, book.bids)):
            if not own_side.own:
                continue
            while True:
                best = replay_side.best_replay()
                if best is None:
                    break
                crossing = [
                    p for p in own_side.own
                    if (p >= best if own_side.is_bid else p <= best)
                ]  # fmt: skip
                if not crossing:
                    break
                price = max(crossing) if own_side.is_bid else min(crossing)
                maker = own_side.own[price][0]
                avail = replay_side.replay.get(best, ZERO)
                q = min(maker.remaining, avail)
                if maker.futures:
                    q = self._reduce_cap(maker, q)
                if q <= 0:
                    self._close(market, maker, "EXPIRED", "EXPIRED")
                    continue
                book.take_replay(replay_side.is_bid, best, q)
                self._fill(market, None, maker, price, q)

    def _fill_from_trade(
        self, market: LiveMarket, price: Decimal, qty: Decimal, buyer_maker: bool
    ) -> None:
        # A replayed sell (buyer was maker) trades through resting bids at or above its price.
        side = market.book.bids if buyer_maker else market.book.asks
        left = qty
        for level in list(side.walk()):
            if left <= 0 or level not in side.own:
                continue
            through = level > price if side.is_bid else level < price
            if not through and level != price:
                break
            for maker in list(side.own.get(level, ())):
                if left <= 0:
                    break
                if not through:
                    used = min(maker.queue_ahead, left)
                    maker.queue_ahead -= used
                    left -= used
                    if left <= 0:
                        break
                # A derived trade's size may be off the lot grid (a volume that is); fills stay on it.
                step = market.listing.step_size
                q = (min(maker.remaining, left) // step) * step
                if maker.futures:
                    q = self._reduce_cap(maker, q)
                if q <= 0:
                    continue
                self._fill(market, None, maker, level, q)
                left -= q

    def _run_triggers(self, market: LiveMarket) -> None:
        queue = self._trigger_queue
        if market not in queue:
            queue.append(market)
        guard = 0
        while queue and guard < 1000:
            guard += 1
            m = queue.pop(0)
            for order in list(m.stops):
                if not order.is_open:
                    continue
                ref = m.mark_price if order.working_type == "MARK_PRICE" else m.last_price
                if ref is None or not stop_reached(order, ref):
                    continue
                m.stops.remove(order)
                order.triggered = True
                order.working_ms = self.clock()
                if order.type in MARKET_LIKE:
                    order.price = None
                self._execute(m, order)
            self.check_liquidations(m)

    def check_liquidations(self, market: LiveMarket) -> None:
        """Liquidate positions on ``market`` whose margin fell below maintenance."""
        from tradewind.exchange_sim.futures import liquidate_if_needed

        if market.futures and market.mark_price is not None:
            liquidate_if_needed(self, market)
