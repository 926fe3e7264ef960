"""The stream hub: public market streams and private user streams, fed by the matching engine.

Public streams (Binance raw-stream payloads; the stream name is ``<symbol lower-case>@<kind>``):

=====================  ==================================================================
stream                 payload
=====================  ==================================================================
``@depth``,            ``depthUpdate`` with ``U``/``u`` (USDT-M also ``pu`` and ``T``), sent
``@depth@100ms``       for every change of the published book (not batched per 100 ms)
``@trade``             ``trade`` (spot) for every replayed or simulated trade
``@aggTrade``          ``aggTrade``, one trade per aggregate
``@kline_<interval>``  ``kline``: for a market with recorded candles, the served candle (exact,
                       partial until it closes, see :mod:`.served_candles`) at every replay
                       step, and the closed candle once when the next one opens; otherwise
                       built from the trades since the subscription's first candle
``@bookTicker``        best bid/ask when either changes
``@markPrice``,        ``markPriceUpdate`` (USDT-M) with the live mark (book mid), the recorded
``@markPrice@1s``      funding rate and the next funding time, at most once a replay second
=====================  ==================================================================

Private streams: spot user data arrives on WebSocket-API connections that subscribed with
``userDataStream.subscribe.signature`` (``executionReport``, ``outboundAccountPosition``, wrapped
as ``{"subscriptionId", "event"}``); USDT-M user data on ``/private/ws?listenKey=``
(``ORDER_TRADE_UPDATE``, ``ACCOUNT_UPDATE``).

Faults drawn per message (see :mod:`.faults`): paths ``ws:<stream>`` for public messages and
``user:spot`` / ``user:futures`` for user events.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import orjson

from tradewind.exchange_sim.accounts import Account, fmt_dec
from tradewind.exchange_sim.connections import Connection, apply_stream_fault, text_frame
from tradewind.exchange_sim.faults import FaultKind, FaultPlan
from tradewind.exchange_sim.futures import position_json
from tradewind.exchange_sim.intervals import INTERVAL_MS
from tradewind.exchange_sim.ledgers import positions_of
from tradewind.exchange_sim.orders import SimOrder

if TYPE_CHECKING:
    from tradewind.exchange_sim.engine import Diff, LiveMarket
    from tradewind.exchange_sim.served_candles import CandleServer

_log = logging.getLogger(__name__)


def _dumps(payload: Any) -> str:
    return orjson.dumps(payload).decode()


@dataclass
class _Candle:
    open_ms: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    quote: Decimal
    trades: int
    first_id: int
    last_id: int


class StreamHub:
    """Subscriptions and fan-out of every stream; the matching engine's event sink.

    Parameters
    ----------
    clock
        Replay time in ms (event times ``E``).
    faults
        The fault plan, consulted per message when it has stream faults.
    funding
        Returns ``(rate, next_funding_ms)`` of a USDT-M symbol for ``markPrice``.
    candles
        Returns the served candles of a market (None when it has no recorded candles).
    """

    def __init__(
        self,
        clock: Callable[[], int],
        faults: Callable[[], FaultPlan],
        funding: Callable[[str], tuple[float, int]] | None = None,
        candles: Callable[[bool, str], CandleServer | None] | None = None,
    ) -> None:
        self.clock = clock
        self.candles = candles or (lambda futures, symbol: None)
        self._kline_sent: dict[tuple[bool, str, str], int] = {}
        self._faults = faults
        self.funding = funding or (lambda symbol: (0.0, 0))
        self.subs: dict[tuple[bool, str], set[Connection]] = {}
        self.spot_users: dict[int, list[tuple[Connection, int]]] = {}
        self.futures_users: dict[int, list[Connection]] = {}
        self._candles: dict[tuple[bool, str, str], _Candle] = {}
        self._mark_sent: dict[str, int] = {}
        self._best: dict[tuple[bool, str], tuple[Decimal | None, Decimal | None]] = {}
        self.connections: set[Connection] = set()
        self.gap_requests: dict[tuple[bool, str], int] = {}
        self.listeners: list[Any] = []
        """Other protocol adapters' user-event sinks (``order_update``/``account_update``), such
        as Bybit's private streams; told of every event after the Binance streams."""

    # --------------------------------------------------------------- subscriptions
    def subscribe(self, conn: Connection, futures: bool, stream: str) -> None:
        """Add ``conn`` to ``stream``."""
        self.subs.setdefault((futures, stream), set()).add(conn)
        conn.streams.add(stream)

    def unsubscribe(self, conn: Connection, futures: bool, stream: str) -> None:
        """Remove ``conn`` from ``stream``."""
        self.subs.get((futures, stream), set()).discard(conn)
        conn.streams.discard(stream)

    def drop(self, conn: Connection) -> None:
        """Forget a closed connection everywhere."""
        for subs in self.subs.values():
            subs.discard(conn)
        for users in self.spot_users.values():
            users[:] = [(c, i) for c, i in users if c is not conn]
        for conns in self.futures_users.values():
            if conn in conns:
                conns.remove(conn)
        self.connections.discard(conn)

    def watched(self, futures: bool, stream: str) -> bool:
        """Tell whether anyone subscribes to ``stream``."""
        return bool(self.subs.get((futures, stream)))

    # --------------------------------------------------------------- publishing
    def publish(self, futures: bool, stream: str, payload: Any) -> None:
        """Send ``payload`` to the subscribers of ``stream`` (faults drawn per message)."""
        subs = self.subs.get((futures, stream))
        if not subs:
            return
        plan = self._faults()
        if plan.has_stream_faults:
            fault = plan.draw_stream(f"ws:{stream}")
            if fault is not None:
                plan.log_fault(fault.kind, f"ws:{stream}", self.clock(), f"{len(subs)} subscribers")
                _log.info("injected %s into stream %s", fault.kind, stream)
                if apply_stream_fault(fault.kind, fault.delay_s, list(subs), self.close_all):
                    return
        frame = text_frame(orjson.dumps(payload))
        for conn in list(subs):
            conn.send_frame(frame)

    def depth_diff(self, market: LiveMarket, diff: Diff) -> None:
        """Publish a book change on ``@depth``/``@depth@100ms`` (and ``@bookTicker``)."""
        futures, low = market.futures, market.symbol.lower()
        first, last, prev, bids, asks = diff
        now = self.clock()
        for suffix in ("@depth", "@depth@100ms"):
            stream = low + suffix
            if not self.watched(futures, stream):
                continue
            payload: dict[str, Any] = {"e": "depthUpdate", "E": now}
            if futures:
                payload["T"] = now
            payload.update({
                "s": market.symbol, "U": first, "u": last,
                "b": [[fmt_dec(p), fmt_dec(q)] for p, q in bids],
                "a": [[fmt_dec(p), fmt_dec(q)] for p, q in asks],
            })  # fmt: skip
            if futures:
                payload["pu"] = prev
            self.publish(futures, stream, payload)
        self._book_ticker(market, last, now)
        if futures:
            self._mark_price(market, now)

    def _book_ticker(self, market: LiveMarket, update_id: int, now: int) -> None:
        stream = market.symbol.lower() + "@bookTicker"
        if not self.watched(market.futures, stream):
            return
        book = market.book
        bid, ask = book.bids.best(), book.asks.best()
        key = (market.futures, market.symbol)
        if self._best.get(key) == (bid, ask):
            return
        self._best[key] = (bid, ask)
        payload: dict[str, Any] = {
            "u": update_id, "s": market.symbol,
            "b": fmt_dec(bid) if bid else "0", "B": fmt_dec(book.bids.published(bid)) if bid else "0",
            "a": fmt_dec(ask) if ask else "0", "A": fmt_dec(book.asks.published(ask)) if ask else "0",
        }  # fmt: skip
        if market.futures:
            payload = {"e": "bookTicker", "E": now, "T": now, **payload}
        self.publish(market.futures, stream, payload)

    def _mark_price(self, market: LiveMarket, now: int) -> None:
        low = market.symbol.lower()
        if market.mark_price is None or now - self._mark_sent.get(market.symbol, 0) < 1000:
            return
        streams = [s for s in (low + "@markPrice", low + "@markPrice@1s") if self.watched(True, s)]
        if not streams:
            return
        self._mark_sent[market.symbol] = now
        rate, next_ms = self.funding(market.symbol)
        mark = fmt_dec(market.mark_price.quantize(market.listing.tick_size))
        payload = {"e": "markPriceUpdate", "E": now, "s": market.symbol, "p": mark, "i": mark,
                   "P": mark, "r": repr(rate), "T": next_ms}  # fmt: skip
        for stream in streams:
            self.publish(True, stream, payload)

    def public_trade(
        self,
        market: LiveMarket,
        trade_id: int,
        price: Decimal,
        qty: Decimal,
        buyer_maker: bool,
        time_ms: int | None = None,
    ) -> None:
        """Publish a trade on ``@trade``, ``@aggTrade`` and the kline streams.

        ``T`` is the trade's time (``time_ms``; the clock when None), ``E`` the event's.
        """
        futures, low = market.futures, market.symbol.lower()
        now = self.clock()
        traded = now if time_ms is None else time_ms
        p, q = fmt_dec(price), fmt_dec(qty)
        if self.watched(futures, low + "@trade"):
            self.publish(futures, low + "@trade", {
                "e": "trade", "E": now, "s": market.symbol, "t": trade_id, "p": p, "q": q,
                "T": traded, "m": buyer_maker, "M": True,
            })  # fmt: skip
        if self.watched(futures, low + "@aggTrade"):
            self.publish(futures, low + "@aggTrade", {
                "e": "aggTrade", "E": now, "s": market.symbol, "a": trade_id, "p": p, "q": q,
                "f": trade_id, "l": trade_id, "T": traded, "m": buyer_maker, "M": True,
            })  # fmt: skip
        if self.candles(futures, market.symbol) is not None:
            return
        for interval in INTERVAL_MS:
            stream = f"{low}@kline_{interval}"
            if self.watched(futures, stream):
                self._kline(market, interval, stream, trade_id, price, qty, now)

    def candle_tick(self, market: LiveMarket) -> None:
        """Publish the served candles of ``market`` on its watched kline streams (a replay step).

        When a stream's candle changed since its last message, the previous candle goes out
        once more, closed (``x`` true), before the new one.
        """
        served = self.candles(market.futures, market.symbol)
        if served is None:
            return
        futures, low = market.futures, market.symbol.lower()
        now = self.clock()
        as_of = now if market.replayed_ms is None else min(now, market.replayed_ms)
        for interval in INTERVAL_MS:
            stream = f"{low}@kline_{interval}"
            if not self.watched(futures, stream):
                continue
            row, before = served.latest(interval, as_of)
            if row is None:
                continue
            key = (futures, market.symbol, interval)
            sent = self._kline_sent.get(key)
            if sent is not None and sent != row[0] and before is not None and before[0] == sent:
                self.publish(
                    futures, stream, _kline_event(market.symbol, interval, before, True, now)
                )
            self._kline_sent[key] = row[0]
            # Closed only once the replay has served the candle's end: a replay running behind
            # its clock serves a candle still forming although the clock is past its close.
            closed = as_of > row[6]
            self.publish(futures, stream, _kline_event(market.symbol, interval, row, closed, now))

    def _kline(
        self,
        market: LiveMarket,
        interval: str,
        stream: str,
        trade_id: int,
        price: Decimal,
        qty: Decimal,
        now: int,
    ) -> None:
        length = INTERVAL_MS[interval]
        start = now - now % length
        key = (market.futures, market.symbol, interval)
        candle = self._candles.get(key)
        if candle is not None and candle.open_ms != start:
            self._send_kline(market, interval, stream, candle, closed=True, now=now)
            candle = None
        if candle is None:
            candle = _Candle(
                start, price, price, price, price, qty * 0, qty * 0, 0, trade_id, trade_id
            )
            self._candles[key] = candle
        candle.high = max(candle.high, price)
        candle.low = min(candle.low, price)
        candle.close = price
        candle.volume += qty
        candle.quote += qty * price
        candle.trades += 1
        candle.last_id = trade_id
        self._send_kline(market, interval, stream, candle, closed=False, now=now)

    def _send_kline(
        self, market: LiveMarket, interval: str, stream: str, c: _Candle, *, closed: bool, now: int
    ) -> None:
        length = INTERVAL_MS[interval]
        self.publish(market.futures, stream, {
            "e": "kline", "E": now, "s": market.symbol,
            "k": {
                "t": c.open_ms, "T": c.open_ms + length - 1, "s": market.symbol, "i": interval,
                "f": c.first_id, "L": c.last_id, "o": fmt_dec(c.open), "c": fmt_dec(c.close),
                "h": fmt_dec(c.high), "l": fmt_dec(c.low), "v": fmt_dec(c.volume),
                "n": c.trades, "x": closed, "q": fmt_dec(c.quote), "V": "0", "Q": "0", "B": "0",
            },
        })  # fmt: skip

    # --------------------------------------------------------------- user streams
    def _user_fault(self, futures: bool) -> FaultKind | None:
        plan = self._faults()
        if not plan.has_stream_faults:
            return None
        path = "user:futures" if futures else "user:spot"
        fault = plan.draw_stream(path)
        if fault is None:
            return None
        plan.log_fault(fault.kind, path, self.clock())
        _log.info("injected %s into %s", fault.kind, path)
        if fault.kind is FaultKind.WS_DISCONNECT or fault.kind is FaultKind.FORCED_DISCONNECT:
            self.close_all(1001)
        return fault.kind

    def _send_user(self, account: Account, futures: bool, event: dict[str, Any]) -> None:
        targets: list[tuple[Connection, int | None]]
        if futures:
            targets = [(c, None) for c in self.futures_users.get(id(account), [])]
        else:
            targets = [(c, i) for c, i in self.spot_users.get(id(account), [])]
        if not targets:
            return
        kind = self._user_fault(futures)
        if kind is FaultKind.USER_EVENT_DROP:
            return
        copies = 2 if kind is FaultKind.USER_EVENT_DUPLICATE else 1
        for conn, sub_id in targets:
            text = _dumps(event if sub_id is None else {"subscriptionId": sub_id, "event": event})
            for _ in range(copies):
                conn.send(text)

    def user_event(self, account: Account, futures: bool, event: dict[str, Any]) -> None:
        """Send ``event`` to the account's user-data streams (no-op without a listener)."""
        users = self.futures_users if futures else self.spot_users
        if id(account) in users:
            self._send_user(account, futures, event)

    def order_update(self, order: SimOrder, exec_type: str, fill: dict[str, Any] | None) -> None:
        """Send ``executionReport`` (spot) or ``ORDER_TRADE_UPDATE`` (USDT-M)."""
        for listener in self.listeners:
            listener.order_update(order, exec_type, fill)
        if order.futures:
            if id(order.account) in self.futures_users:
                self._send_user(
                    order.account, True, futures_order_event(order, exec_type, fill, self.clock())
                )
        elif id(order.account) in self.spot_users:
            self._send_user(
                order.account, False, execution_report(order, exec_type, fill, self.clock())
            )

    def account_update(self, account: Account, futures: bool, symbols: set[str]) -> None:
        """Send ``outboundAccountPosition`` (spot) or ``ACCOUNT_UPDATE`` (USDT-M)."""
        for listener in self.listeners:
            listener.account_update(account, futures, symbols)
        now = self.clock()
        if futures:
            if id(account) not in self.futures_users:
                return
            positions = positions_of(account)
            self._send_user(account, True, {
                "e": "ACCOUNT_UPDATE", "E": now, "T": now,
                "a": {
                    "m": "ORDER",
                    "B": [{"a": account.futures_asset, "wb": fmt_dec(account.futures_wallet),
                           "cw": fmt_dec(account.futures_wallet), "bc": "0"}],
                    "P": [position_event(positions[s], now) for s in sorted(symbols) if s in positions],
                },
            })  # fmt: skip
        elif id(account) in self.spot_users:
            self._send_user(account, False, {
                "e": "outboundAccountPosition", "E": now, "u": account.update_ms or now,
                "B": [{"a": b["asset"], "f": b["free"], "l": b["locked"]} for b in account.balances_json()],
            })  # fmt: skip

    def close_all(self, code: int = 1001) -> int:
        """Close every connection (maintenance, the 24-hour limit); return how many."""
        conns = list(self.connections)
        for conn in conns:
            conn.close(code)
        return len(conns)


def _kline_event(
    symbol: str, interval: str, row: list[Any], closed: bool, now: int
) -> dict[str, Any]:
    return {
        "e": "kline", "E": now, "s": symbol,
        "k": {
            "t": row[0], "T": row[6], "s": symbol, "i": interval, "f": -1, "L": -1,
            "o": row[1], "c": row[4], "h": row[2], "l": row[3], "v": row[5], "n": row[8],
            "x": closed, "q": row[7], "V": row[9], "Q": row[10], "B": "0",
        },
    }  # fmt: skip


def position_event(pos: Any, now: int) -> dict[str, Any]:
    """Render a position as the ``P`` rows of a USDT-M ``ACCOUNT_UPDATE``."""
    row = position_json(pos, None, now)
    return {"s": pos.symbol, "pa": row["positionAmt"], "ep": row["entryPrice"],
            "bep": row["breakEvenPrice"], "cr": "0", "up": row["unRealizedProfit"],
            "mt": row["marginType"], "iw": row["isolatedWallet"], "ps": "BOTH"}  # fmt: skip


def execution_report(
    order: SimOrder, exec_type: str, fill: dict[str, Any] | None, now: int
) -> dict[str, Any]:
    """Render a spot ``executionReport``."""
    return {
        "e": "executionReport", "E": now, "s": order.symbol, "c": order.client_id,
        "S": order.side, "o": order.type, "f": order.tif, "q": fmt_dec(order.qty),
        "p": fmt_dec(order.price or 0 * order.qty), "P": fmt_dec(order.stop_price or 0 * order.qty),
        "F": "0", "g": order.list_id, "C": order.client_id if exec_type == "CANCELED" else "",
        "x": exec_type, "X": order.status, "r": "NONE", "i": order.order_id,
        "l": fill["qty"] if fill else "0", "z": fmt_dec(order.filled),
        "L": fill["price"] if fill else "0", "n": fill["commission"] if fill else "0",
        "N": fill["commissionAsset"] if fill else None, "T": order.updated_ms,
        "t": fill["id"] if fill else -1, "I": order.order_id, "w": not order.waiting_trigger,
        "m": bool(fill["isMaker"]) if fill else False, "M": False, "O": order.created_ms,
        "Z": fmt_dec(order.cum_quote), "Y": fill["quoteQty"] if fill else "0",
        "Q": fmt_dec(order.quote_qty), "W": order.working_ms, "V": "EXPIRE_MAKER",
    }  # fmt: skip


def futures_order_event(
    order: SimOrder, exec_type: str, fill: dict[str, Any] | None, now: int
) -> dict[str, Any]:
    """Render a USDT-M ``ORDER_TRADE_UPDATE``."""
    return {
        "e": "ORDER_TRADE_UPDATE", "E": now, "T": now,
        "o": {
            "s": order.symbol, "c": order.client_id, "S": order.side, "o": order.type,
            "f": order.tif, "q": fmt_dec(order.qty), "p": fmt_dec(order.price or 0 * order.qty),
            "ap": fmt_dec(order.avg_price), "sp": fmt_dec(order.stop_price or 0 * order.qty),
            "x": exec_type if exec_type != "TRADE" or order.type != "LIQUIDATION" else "CALCULATED",
            "X": order.status, "i": order.order_id, "l": fill["qty"] if fill else "0",
            "z": fmt_dec(order.filled), "L": fill["price"] if fill else "0",
            "N": fill["commissionAsset"] if fill else "USDT",
            "n": fill["commission"] if fill else "0", "T": order.updated_ms,
            "t": fill["id"] if fill else 0, "b": "0", "a": "0",
            "m": bool(fill["maker"]) if fill else False, "R": order.reduce_only,
            "wt": order.working_type, "ot": order.type, "ps": "BOTH", "cp": order.close_position,
            "rp": fill["realizedPnl"] if fill else "0", "pP": False, "si": 0, "ss": 0,
            "V": "EXPIRE_MAKER", "pm": "NONE", "gtd": 0,
        },
    }  # fmt: skip
