"""Bybit v5 WebSockets: public streams (``/v5/public/spot``, ``/v5/public/linear``) and the
private stream (``/v5/private``).

Public topics, each pushed when it changes (checked every :data:`TICK_S`, Bybit's 20 ms
``orderbook.50`` cadence):

=========================  ==========================================================
topic                      messages
=========================  ==========================================================
``orderbook.{d}.{SYM}``    a ``snapshot`` of the top ``d`` levels on subscribe, then
                           ``delta`` messages (absolute sizes, ``"0"`` deletes) with
                           ``u`` (the topic's update id: one more per delta pushed, as
                           on Bybit, so a lost delta is a gap in ``u``) and ``seq``
                           (the book's own update id, rising); when the replay loops,
                           a new ``snapshot`` (Bybit's reset)
``publicTrade.{SYM}``      every trade of the live market
``tickers.{SYM}``          the ``/v5/market/tickers`` row when it changes
``kline.{i}.{SYM}``        the served candle (:mod:`..served_candles`), ``confirm``
                           true once closed
=========================  ==========================================================

Depths served: 1, 25, 50, 100, 200, 500 and 1000 (ccxt asks linear books for 1000; the recorded
book has 500 levels). The private stream needs ``{"op": "auth", "args": [key, expires, sign]}``
with ``sign`` the hex HMAC-SHA256 of ``"GET/realtime" + expires`` and ``expires`` in the future;
then ``order``, ``execution``, ``position`` and ``wallet`` (also ``order.spot`` ...) push what the
shared core reports. Both answer ``{"op": "ping"}`` with a pong, as Bybit does.

Faults (paths ``ws:bybit:<topic>`` and ``user:bybit``): disconnect, stall, dropped message and
``ws_latency`` (every subscriber's frames are held ``delay_s``, in order).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import itertools
import logging
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import orjson
from aiohttp import WSMsgType, web

from tradewind.exchange_sim.accounts import Account, ApiKey, fmt_dec
from tradewind.exchange_sim.bybit.account import position_json, wallet_json
from tradewind.exchange_sim.bybit.market import BYBIT_INTERVALS, ticker_json
from tradewind.exchange_sim.bybit.orders import order_json
from tradewind.exchange_sim.bybit.trade import (
    OrderNotes,
    apply_attached_tpsl,
    execution_json,
)
from tradewind.exchange_sim.clock import wall_ms
from tradewind.exchange_sim.connections import Connection, apply_stream_fault, text_frame
from tradewind.exchange_sim.engine import LiveMarket
from tradewind.exchange_sim.exchange import SimExchange
from tradewind.exchange_sim.faults import FaultKind
from tradewind.exchange_sim.ledgers import Position, positions_of
from tradewind.exchange_sim.listings import Api
from tradewind.exchange_sim.market_data import SIM_KEY
from tradewind.exchange_sim.orders import SimOrder

_log = logging.getLogger(__name__)
TICK_S = 0.02
DEPTHS = frozenset({1, 25, 50, 100, 200, 500, 1000})
_PRIVATE_TOPICS = frozenset({"order", "execution", "position", "wallet"})
Level = tuple[str, str]


@dataclass
class _Topic:
    """One public topic: its subscribers and what they were last sent."""

    api: Api
    kind: str
    symbol: str
    arg: str = ""
    subs: set[Connection] = field(default_factory=set)
    bids: dict[str, str] = field(default_factory=dict)
    asks: dict[str, str] = field(default_factory=dict)
    update_id: int = 0
    pushed: int = 0
    """Deltas (and resets) built for this topic: the ``u`` of the last one; a snapshot sent to
    a new subscriber carries it, so that subscriber's next delta is ``u + 1``."""
    last: Any = None


class BybitStreams:
    """Bybit's stream fan-out for one :class:`SimExchange` (a listener of its stream hub)."""

    def __init__(self, sim: SimExchange, notes: OrderNotes) -> None:
        self.sim = sim
        self.notes = notes
        self.topics: dict[str, _Topic] = {}
        self.users: dict[int, list[tuple[Connection, set[str]]]] = {}
        self.connections: set[Connection] = set()
        self._ids = itertools.count(1)
        self._task: asyncio.Task[None] | None = None
        self._initial: dict[Connection, list[_Topic]] = {}
        sim.hub.listeners.append(self)

    # ------------------------------------------------------------------ public
    def subscribe(self, conn: Connection, api: Api, name: str) -> str | None:
        """Subscribe ``conn`` to topic ``name``; return an error text when it is not served.

        The topic's first message (a book snapshot, the current ticker) is held until
        :meth:`send_initial`, so it follows the subscription's acknowledgement as on Bybit.
        """
        parts = name.split(".")
        kind = parts[0]
        symbol = parts[-1]
        market = self.sim.live(api, symbol)
        if market is None or kind not in ("orderbook", "publicTrade", "tickers", "kline"):
            return f"Invalid topic: {name}"
        arg = parts[1] if len(parts) == 3 else ""
        if kind == "orderbook" and (not arg.isdigit() or int(arg) not in DEPTHS):
            return f"Invalid topic: {name}"
        if kind == "kline" and arg not in BYBIT_INTERVALS:
            return f"Invalid topic: {name}"
        key = f"{api}:{name}"
        topic = self.topics.get(key)
        if topic is None:
            topic = self.topics[key] = _Topic(api, kind, symbol, arg)
            self._refresh(topic, market, send=False)
        topic.subs.add(conn)
        conn.streams.add(key)
        self._initial.setdefault(conn, []).append(topic)
        return None

    def send_initial(self, conn: Connection) -> None:
        """Send the first messages of the topics ``conn`` just subscribed to."""
        for topic in self._initial.pop(conn, []):
            if topic.kind == "orderbook":
                conn.send(self._book_message(topic, "snapshot", topic.bids, topic.asks))
            elif topic.kind == "tickers" and topic.last is not None:
                conn.send(_dumps(self._ticker_message(topic, topic.last)))

    def unsubscribe(self, conn: Connection, api: Api, name: str) -> None:
        """Remove ``conn`` from topic ``name``."""
        topic = self.topics.get(f"{api}:{name}")
        if topic is not None:
            topic.subs.discard(conn)
            conn.streams.discard(f"{api}:{name}")

    def drop(self, conn: Connection) -> None:
        """Forget a closed connection."""
        for topic in self.topics.values():
            topic.subs.discard(conn)
        for entries in self.users.values():
            entries[:] = [(c, t) for c, t in entries if c is not conn]
        self.connections.discard(conn)
        self._initial.pop(conn, None)

    def tick(self) -> None:
        """Push what changed on every watched topic."""
        for topic in list(self.topics.values()):
            if not topic.subs:
                continue
            market = self.sim.live(topic.api, topic.symbol)
            if market is not None:
                self._refresh(topic, market, send=True)

    def _refresh(self, topic: _Topic, market: LiveMarket, *, send: bool) -> None:
        if topic.kind == "orderbook":
            self._refresh_book(topic, market, send)
        elif topic.kind == "publicTrade":
            trades = [t for t in market.recent_trades if t[0] > (topic.last or 0)]
            if not send:
                topic.last = market.recent_trades[-1][0] if market.recent_trades else 0
            elif trades:
                topic.last = trades[-1][0]
                self._publish(topic, {
                    "topic": f"publicTrade.{topic.symbol}", "type": "snapshot", "ts": self.sim.clock(),
                    "data": [{"T": t, "s": topic.symbol, "S": "Sell" if m else "Buy",
                              "v": fmt_dec(q), "p": fmt_dec(p), "L": "ZeroPlusTick",
                              "i": str(tid), "BT": False, "seq": tid}
                             for tid, p, q, m, t in trades],
                })  # fmt: skip
        elif topic.kind == "tickers":
            row = ticker_json(self.sim, topic.api, topic.symbol)
            if row != topic.last:
                topic.last = row
                if send:
                    self._publish(topic, self._ticker_message(topic, row))
        else:
            self._refresh_kline(topic, market, send)

    def _ticker_message(self, topic: _Topic, row: dict[str, Any]) -> dict[str, Any]:
        now = self.sim.clock()
        return {"topic": f"tickers.{topic.symbol}", "type": "snapshot", "data": row,
                "cs": topic.update_id, "ts": now}  # fmt: skip

    def _refresh_kline(self, topic: _Topic, market: LiveMarket, send: bool) -> None:
        listed = self.sim.market(topic.api, topic.symbol)
        if listed is None or self.sim.timeline(listed) is None or listed.served is None:
            return
        now = self.sim.replayed_until(listed, self.sim.clock())
        last, _ = listed.served.latest(BYBIT_INTERVALS[topic.arg], now)
        if last is None or last == topic.last:
            return
        closed = topic.last is not None and topic.last[0] != last[0]
        previous = topic.last
        topic.last = last
        if not send:
            return
        rows = ([previous] if closed else []) + [last]
        self._publish(topic, {
            "topic": f"kline.{topic.arg}.{topic.symbol}", "type": "snapshot", "ts": self.sim.clock(),
            "data": [{"start": r[0], "end": r[6], "interval": topic.arg, "open": r[1],
                      "close": r[4], "high": r[2], "low": r[3], "volume": r[5], "turnover": r[7],
                      "confirm": r is previous, "timestamp": self.sim.clock()} for r in rows],
        })  # fmt: skip

    def _refresh_book(self, topic: _Topic, market: LiveMarket, send: bool) -> None:
        depth = int(topic.arg)
        self.sim.engine.finish(market)
        update_id, bid_rows, ask_rows = market.book.snapshot(depth)
        bids = dict(bid_rows)
        asks = dict(ask_rows)
        if update_id < topic.update_id:
            # The book was rebuilt (a new replay): Bybit's reset is a fresh snapshot.
            topic.bids, topic.asks, topic.update_id = bids, asks, update_id
            if send:
                topic.pushed += 1
                self._publish(topic, self._book_message(topic, "snapshot", bids, asks), raw=True)
            return
        if update_id == topic.update_id and send:
            return
        bid_delta = _delta(topic.bids, bids)
        ask_delta = _delta(topic.asks, asks)
        topic.bids, topic.asks, topic.update_id = bids, asks, update_id
        if send and (bid_delta or ask_delta):
            # Counted before the fault draw: a dropped delta leaves a gap in ``u``, as on Bybit.
            topic.pushed += 1
            self._publish(topic, self._book_message(topic, "delta", dict(bid_delta),
                                                    dict(ask_delta)), raw=True)  # fmt: skip

    def _book_message(
        self, topic: _Topic, kind: str, bids: dict[str, str], asks: dict[str, str]
    ) -> str:
        now = self.sim.clock()
        return _dumps({
            "topic": f"orderbook.{topic.arg}.{topic.symbol}", "type": kind, "ts": now,
            "data": {"s": topic.symbol, "b": [[p, q] for p, q in _sorted(bids, True)],
                     "a": [[p, q] for p, q in _sorted(asks, False)], "u": topic.pushed,
                     "seq": topic.update_id},
            "cts": now,
        })  # fmt: skip

    def _publish(self, topic: _Topic, payload: Any, *, raw: bool = False) -> None:
        path = f"ws:bybit:{topic.kind}.{topic.symbol}"
        subs = list(topic.subs)
        plan = self.sim.faults
        if plan.has_stream_faults:
            fault = plan.draw_stream(path)
            if fault is not None:
                plan.log_fault(fault.kind, path, self.sim.clock(), f"{len(subs)} subscribers")
                if apply_stream_fault(fault.kind, fault.delay_s, subs, self.close_all):
                    return
        data = payload.encode() if raw else orjson.dumps(payload)
        frame = text_frame(data)
        for conn in subs:
            conn.send_frame(frame)

    # ------------------------------------------------------------------ private
    def add_user(self, conn: Connection, account: Account) -> list[tuple[Connection, set[str]]]:
        """Register an authenticated private connection of ``account``."""
        entries = self.users.setdefault(id(account), [])
        entries.append((conn, set()))
        return entries

    def _send_user(self, account: Account, topic: str, category: str, data: list[Any]) -> None:
        entries = self.users.get(id(account))
        if not entries or not data:
            return
        wanted = [c for c, topics in entries if topic in topics or f"{topic}.{category}" in topics]
        if not wanted:
            return
        plan = self.sim.faults
        copies = 1
        if plan.has_stream_faults:
            fault = plan.draw_stream("user:bybit")
            if fault is not None:
                plan.log_fault(fault.kind, "user:bybit", self.sim.clock(), topic)
                if apply_stream_fault(fault.kind, fault.delay_s, wanted, self.close_all):
                    return
                if fault.kind is FaultKind.USER_EVENT_DUPLICATE:
                    copies = 2
        frame = text_frame(orjson.dumps({"id": f"{next(self._ids)}", "topic": topic,
                                         "creationTime": wall_ms(), "data": data}))  # fmt: skip
        for conn in wanted:
            for _ in range(copies):
                conn.send_frame(frame)

    def order_update(self, order: SimOrder, exec_type: str, fill: dict[str, Any] | None) -> None:
        """Push ``order`` (and ``execution`` for a fill) to the owner's private streams."""
        if fill is not None and order.futures and "tpsl" in self.notes.of(order):
            # Placing the TP/SL orders inside the matching loop would reenter it: next tick.
            loop = asyncio.get_running_loop()
            loop.call_soon(apply_attached_tpsl, self.sim, self.notes, order)
        if id(order.account) not in self.users:
            return
        category = "linear" if order.futures else "spot"
        row = {"category": category, **order_json(order, self.notes.of(order))}
        self._send_user(order.account, "order", category, [row])
        if fill is not None:
            execution = {"category": category, **execution_json(order, fill)}
            self._send_user(order.account, "execution", category, [execution])

    def account_update(self, account: Account, futures: bool, symbols: set[str]) -> None:
        """Push ``wallet`` (and ``position`` for USDT-M) to the owner's private streams."""
        if id(account) not in self.users:
            return
        if futures:
            held = positions_of(account)
            rows = [{"category": "linear",
                     **position_json(self.sim, self.notes, account, held.get(s) or Position(s))}
                    for s in sorted(symbols)]  # fmt: skip
            self._send_user(account, "position", "linear", rows)
        self._send_user(account, "wallet", "", [wallet_json(self.sim, account, "UNIFIED")])

    async def run(self) -> None:
        """Push changes every :data:`TICK_S` until cancelled."""
        while True:
            await asyncio.sleep(TICK_S)
            try:
                self.tick()
            except Exception:
                _log.exception("bybit stream tick failed")

    def close_all(self, code: int = 1001) -> None:
        """Close every Bybit WebSocket."""
        for conn in list(self.connections):
            conn.close(code)


def _delta(old: dict[str, str], new: dict[str, str]) -> list[Level]:
    out = [(p, q) for p, q in new.items() if old.get(p) != q]
    out += [(p, "0") for p in old if p not in new]
    return out


def _sorted(levels: dict[str, str], descending: bool) -> list[Level]:
    return sorted(levels.items(), key=lambda kv: Decimal(kv[0]), reverse=descending)


def _dumps(payload: Any) -> str:
    return orjson.dumps(payload).decode()


BYBIT_WS_KEY: web.AppKey[BybitStreams] = web.AppKey("bybit_streams", BybitStreams)


def routes() -> list[web.RouteDef]:
    """Return the WebSocket routes."""
    return [
        web.get("/v5/public/spot", _public_spot),
        web.get("/v5/public/linear", _public_linear),
        web.get("/v5/private", _private),
    ]


async def start_streams(app: web.Application) -> None:
    """Start the push task (``on_startup``)."""
    streams = app[BYBIT_WS_KEY]
    streams._task = asyncio.get_running_loop().create_task(streams.run())


async def stop_streams(app: web.Application) -> None:
    """Stop the push task and close the sockets (``on_cleanup``)."""
    streams = app[BYBIT_WS_KEY]
    if streams._task is not None:
        streams._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await streams._task
    for conn in list(streams.connections):
        with contextlib.suppress(Exception):
            await conn.ws.close(code=1001)
    if streams in streams.sim.hub.listeners:
        streams.sim.hub.listeners.remove(streams)


async def _open(request: web.Request, kind: str) -> tuple[web.WebSocketResponse, Connection]:
    ws = web.WebSocketResponse(compress=False, heartbeat=None)
    await ws.prepare(request)
    conn = Connection(ws, request.transport, kind, latency_s=request.app[SIM_KEY].latency_s)
    request.app[BYBIT_WS_KEY].connections.add(conn)
    request.app[SIM_KEY].hub.connections.add(conn)
    return ws, conn


def _ack(conn_id: str, op: str, req_id: Any, ok: bool = True, msg: str = "") -> str:
    return _dumps({"success": ok, "ret_msg": msg, "conn_id": conn_id, "req_id": req_id or "",
                   "op": op})  # fmt: skip


def _pong(conn_id: str, message: dict[str, Any], public: bool) -> str:
    if public:
        return _ack(conn_id, "ping", message.get("req_id"), msg="pong")
    return _dumps({"req_id": message.get("req_id", ""), "op": "pong",
                   "args": [str(wall_ms())], "conn_id": conn_id})  # fmt: skip


async def _public(request: web.Request, api: Api) -> web.WebSocketResponse:
    streams = request.app[BYBIT_WS_KEY]
    ws, conn = await _open(request, f"bybit-{api}")
    conn_id = f"sim-{id(conn):x}"
    try:
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                continue
            message = _loads(msg.data)
            op = message.get("op")
            if op == "ping":
                conn.send(_pong(conn_id, message, True))
            elif op in ("subscribe", "unsubscribe"):
                errors = []
                for name in message.get("args") or []:
                    if op == "unsubscribe":
                        streams.unsubscribe(conn, api, str(name))
                        continue
                    error = streams.subscribe(conn, api, str(name))
                    if error is not None:
                        errors.append(error)
                conn.send(_ack(conn_id, op, message.get("req_id"), not errors, ", ".join(errors)))
                streams.send_initial(conn)
            else:
                conn.send(_ack(conn_id, str(op), message.get("req_id"), False,
                               f"Invalid op: {op}"))  # fmt: skip
    finally:
        streams.drop(conn)
        request.app[SIM_KEY].hub.connections.discard(conn)
        await conn.finished()
    return ws


async def _public_spot(request: web.Request) -> web.WebSocketResponse:
    return await _public(request, Api.SPOT)


async def _public_linear(request: web.Request) -> web.WebSocketResponse:
    return await _public(request, Api.USDM)


def _authenticate(sim: SimExchange, args: list[Any]) -> ApiKey | str:
    if len(args) != 3:
        return "Params Error"
    api_key, expires, signature = (str(a) for a in args)
    key = sim.keys.get(api_key)
    if key is None:
        return "Invalid apikey"
    try:
        expires_ms = int(expires)
    except ValueError:
        return "Params Error"
    if expires_ms <= wall_ms():
        return "Request expired"
    expected = hmac.new(key.secret.encode(), f"GET/realtime{expires}".encode(), hashlib.sha256)
    if not hmac.compare_digest(expected.hexdigest(), signature.lower()):
        return "Invalid sign"
    return key


async def _private(request: web.Request) -> web.WebSocketResponse:
    streams = request.app[BYBIT_WS_KEY]
    ws, conn = await _open(request, "bybit-private")
    conn_id = f"sim-{id(conn):x}"
    topics: set[str] | None = None
    try:
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                continue
            message = _loads(msg.data)
            op = message.get("op")
            req_id = message.get("req_id")
            if op == "ping":
                conn.send(_pong(conn_id, message, False))
            elif op == "auth":
                found = _authenticate(request.app[SIM_KEY], list(message.get("args") or []))
                if isinstance(found, str):
                    conn.send(_ack(conn_id, "auth", req_id, False, found))
                    continue
                entries = streams.add_user(conn, found.account)
                topics = entries[-1][1]
                conn.send(_ack(conn_id, "auth", req_id))
            elif op in ("subscribe", "unsubscribe"):
                if topics is None:
                    conn.send(_ack(conn_id, op, req_id, False, "Request not authorized"))
                    continue
                names = [str(a) for a in message.get("args") or []]
                bad = [n for n in names if n.split(".")[0] not in _PRIVATE_TOPICS]
                if bad:
                    conn.send(_ack(conn_id, op, req_id, False, f"Invalid topic: {bad[0]}"))
                    continue
                if op == "subscribe":
                    topics.update(names)
                else:
                    topics.difference_update(names)
                conn.send(_ack(conn_id, op, req_id))
            else:
                conn.send(_ack(conn_id, str(op), req_id, False, f"Invalid op: {op}"))
    finally:
        streams.drop(conn)
        request.app[SIM_KEY].hub.connections.discard(conn)
        await conn.finished()
    return ws


def _loads(data: str) -> dict[str, Any]:
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}
