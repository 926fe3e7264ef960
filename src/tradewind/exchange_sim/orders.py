"""Orders of the simulated exchange and the store that finds them, with Binance's id semantics.

Client order ids behave as on Binance: a new order whose ``newClientOrderId`` equals the id of an
*open* order of the same account and symbol is refused (spot ``-2010`` "Duplicate order sent.",
USDT-M ``-4116``); once that order is closed the id may be used again, and a query by
``origClientOrderId`` then finds the newest order with it. A bot that resends after a lost
response can therefore place a second order; the simulator makes that mistake observable.

Each order is in exactly one state at a time (``NEW``, ``PARTIALLY_FILLED``, ``FILLED``,
``CANCELED``, ``EXPIRED``, ``EXPIRED_IN_MATCH``, ``REJECTED``; futures stop orders wait as ``NEW``
until triggered); :meth:`SimOrder.close` moves it out of the open set once. The store keeps at most
``keep_closed`` closed orders per account (oldest forgotten first) so memory stays bounded.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tradewind.exchange_sim.accounts import ZERO, Reservation, fmt_dec

if TYPE_CHECKING:
    from tradewind.exchange_sim.accounts import Account
    from tradewind.exchange_sim.order_params import OrderRequest

OPEN_STATES = frozenset({"NEW", "PARTIALLY_FILLED"})
STOP_TYPES = frozenset(
    {
        "STOP_LOSS",
        "STOP_LOSS_LIMIT",
        "TAKE_PROFIT",
        "TAKE_PROFIT_LIMIT",
        "STOP",
        "STOP_MARKET",
        "TAKE_PROFIT_MARKET",
    }
)
MARKET_LIKE = frozenset({"MARKET", "STOP_LOSS", "TAKE_PROFIT", "STOP_MARKET", "TAKE_PROFIT_MARKET"})


@dataclass(eq=False)
class SimOrder:
    """One order; prices and quantities in Decimal, times in replay ms."""

    order_id: int
    client_id: str
    account: Account
    symbol: str
    futures: bool
    side: str
    type: str
    tif: str
    qty: Decimal
    price: Decimal | None
    stop_price: Decimal | None
    created_ms: int
    quote_qty: Decimal = ZERO
    reduce_only: bool = False
    close_position: bool = False
    working_type: str = "CONTRACT_PRICE"
    list_id: int = -1
    status: str = "NEW"
    filled: Decimal = ZERO
    cum_quote: Decimal = ZERO
    updated_ms: int = 0
    working_ms: int = 0
    triggered: bool = False
    reservation: Reservation | None = None
    queue_ahead: Decimal = ZERO
    visible_from_ms: int = 0
    fills: list[dict[str, Any]] = field(default_factory=list)
    algo_id: int | None = None
    """Set for a USDT-M conditional order placed through the algo API (see :mod:`.algo_orders`)."""

    @classmethod
    def from_request(
        cls,
        req: OrderRequest,
        *,
        order_id: int,
        client_id: str,
        account: Account,
        futures: bool,
        now: int,
        list_id: int = -1,
    ) -> SimOrder:
        """Return the new order a checked request asks for (either protocol's), created ``now``."""
        return cls(
            order_id=order_id, client_id=client_id, account=account, symbol=req.symbol,
            futures=futures, side=req.side, type=req.type, tif=req.tif, qty=req.qty,
            price=req.price, stop_price=req.stop_price, created_ms=now, quote_qty=req.quote_qty,
            reduce_only=req.reduce_only, close_position=req.close_position,
            working_type=req.working_type, list_id=list_id, updated_ms=now, working_ms=now,
        )  # fmt: skip

    @property
    def is_waiting_algo(self) -> bool:
        """Tell whether it is an algo order not yet triggered (hidden from the order endpoints)."""
        return self.algo_id is not None and self.waiting_trigger

    @property
    def is_open(self) -> bool:
        """Tell whether the order still works (or waits for its trigger)."""
        return self.status in OPEN_STATES

    @property
    def remaining(self) -> Decimal:
        """Quantity not yet filled."""
        return self.qty - self.filled

    @property
    def is_buy(self) -> bool:
        """Tell whether it buys."""
        return self.side == "BUY"

    @property
    def waiting_trigger(self) -> bool:
        """Tell whether it is a stop order whose stop price has not been reached."""
        return self.type in STOP_TYPES and not self.triggered

    @property
    def avg_price(self) -> Decimal:
        """Average fill price (0 before any fill)."""
        return self.cum_quote / self.filled if self.filled else ZERO

    def spot_json(self, *, full: bool = True) -> dict[str, Any]:
        """Render the spot order as ``GET /api/v3/order`` does."""
        out: dict[str, Any] = {
            "symbol": self.symbol,
            "orderId": self.order_id,
            "orderListId": self.list_id,
            "clientOrderId": self.client_id,
            "price": fmt_dec(self.price or ZERO),
            "origQty": fmt_dec(self.qty),
            "executedQty": fmt_dec(self.filled),
            "cummulativeQuoteQty": fmt_dec(self.cum_quote),
            "status": self.status,
            "timeInForce": self.tif,
            "type": self.type,
            "side": self.side,
            "stopPrice": fmt_dec(self.stop_price or ZERO),
            "icebergQty": "0",
            "time": self.created_ms,
            "updateTime": self.updated_ms,
            "isWorking": not self.waiting_trigger,
            "workingTime": self.working_ms if not self.waiting_trigger else -1,
            "origQuoteOrderQty": fmt_dec(self.quote_qty),
            "selfTradePreventionMode": "EXPIRE_MAKER",
        }
        if not full:
            for name in ("time", "updateTime", "isWorking", "stopPrice", "icebergQty"):
                del out[name]
        return out

    def spot_ack_json(self, transact_ms: int) -> dict[str, Any]:
        """Render the ``newOrderRespType=FULL`` answer of ``POST /api/v3/order``."""
        out = self.spot_json(full=False)
        out["transactTime"] = transact_ms
        if self.stop_price is not None:
            out["stopPrice"] = fmt_dec(self.stop_price)
        out["fills"] = [
            {
                "price": f["price"],
                "qty": f["qty"],
                "commission": f["commission"],
                "commissionAsset": f["commissionAsset"],
                "tradeId": f["id"],
            }
            for f in self.fills
        ]
        return out

    def futures_json(self) -> dict[str, Any]:
        """Render the USDT-M order as ``GET /fapi/v1/order`` does."""
        orig_type = self.type
        return {
            "orderId": self.order_id,
            "symbol": self.symbol,
            "status": self.status,
            "clientOrderId": self.client_id,
            "price": fmt_dec(self.price or ZERO),
            "avgPrice": fmt_dec(self.avg_price),
            "origQty": fmt_dec(self.qty),
            "executedQty": fmt_dec(self.filled),
            "cumQty": fmt_dec(self.filled),
            "cumQuote": fmt_dec(self.cum_quote),
            "timeInForce": self.tif,
            "type": self.type,
            "reduceOnly": self.reduce_only,
            "closePosition": self.close_position,
            "side": self.side,
            "positionSide": "BOTH",
            "stopPrice": fmt_dec(self.stop_price or ZERO),
            "workingType": self.working_type,
            "priceProtect": False,
            "origType": orig_type,
            "priceMatch": "NONE",
            "selfTradePreventionMode": "EXPIRE_MAKER",
            "goodTillDate": 0,
            "time": self.created_ms,
            "updateTime": self.updated_ms,
        }


class OrderStore:
    """Every order by id, the open ones by account, and client ids with Binance's reuse rule.

    Parameters
    ----------
    keep_closed
        Closed orders kept per account for queries; older ones are forgotten.
    """

    def __init__(self, keep_closed: int = 100_000) -> None:
        self.keep_closed = keep_closed
        self._ids = itertools.count(1)
        self._list_ids = itertools.count(1)
        self.by_id: dict[int, SimOrder] = {}
        self.open: dict[int, OrderedDict[int, SimOrder]] = {}
        self._closed: dict[int, OrderedDict[int, SimOrder]] = {}
        self._by_client: dict[tuple[int, bool, str, str], SimOrder] = {}
        self.lists: dict[int, list[SimOrder]] = {}
        self.algo: dict[int, SimOrder] = {}

    def next_id(self) -> int:
        """Return a fresh order id."""
        return next(self._ids)

    def next_list_id(self) -> int:
        """Return a fresh order-list id."""
        return next(self._list_ids)

    def open_with_client_id(
        self, account: Account, futures: bool, symbol: str, client_id: str
    ) -> SimOrder | None:
        """Return the open order of ``account`` with ``client_id`` on ``symbol``, if any."""
        found = self._by_client.get((id(account), futures, symbol, client_id))
        return found if found is not None and found.is_open else None

    def add(self, order: SimOrder) -> None:
        """Store a new order (open or already closed)."""
        self.by_id[order.order_id] = order
        if order.algo_id is not None:
            self.algo[order.algo_id] = order
        self._by_client[(id(order.account), order.futures, order.symbol, order.client_id)] = order
        if order.is_open:
            self.open.setdefault(id(order.account), OrderedDict())[order.order_id] = order
        else:
            self._remember_closed(order)

    def closed(self, order: SimOrder) -> None:
        """Move ``order`` (now closed) out of the open set; call once per order."""
        if order.is_open:
            raise RuntimeError(f"order {order.order_id} is still {order.status}")
        book = self.open.get(id(order.account))
        if book is not None and book.pop(order.order_id, None) is not None:
            self._remember_closed(order)

    def _remember_closed(self, order: SimOrder) -> None:
        kept = self._closed.setdefault(id(order.account), OrderedDict())
        kept[order.order_id] = order
        while len(kept) > self.keep_closed:
            _, old = kept.popitem(last=False)
            self.by_id.pop(old.order_id, None)
            if old.algo_id is not None:
                self.algo.pop(old.algo_id, None)
            key = (id(old.account), old.futures, old.symbol, old.client_id)
            if self._by_client.get(key) is old:
                del self._by_client[key]
            if old.list_id != -1:
                self.lists.pop(old.list_id, None)

    def find(
        self,
        account: Account,
        futures: bool,
        symbol: str,
        order_id: int | None,
        client_id: str | None,
    ) -> SimOrder | None:
        """Return the account's order by id or by client id (the newest with it), or None."""
        if order_id is not None:
            order = self.by_id.get(order_id)
            if order is None or order.account is not account or order.symbol != symbol:
                return None
            if order.futures != futures:
                return None
            return order
        if client_id is not None:
            return self._by_client.get((id(account), futures, symbol, client_id))
        return None

    def open_orders(self, account: Account, futures: bool, symbol: str | None) -> list[SimOrder]:
        """Return the account's open orders, oldest first, optionally of one symbol."""
        book = self.open.get(id(account), {})
        return [
            o
            for o in book.values()
            if o.futures == futures and (symbol is None or o.symbol == symbol)
        ]

    def all_orders(self, account: Account, futures: bool, symbol: str) -> list[SimOrder]:
        """Return the account's known orders on ``symbol`` (open and kept closed), by id."""
        found = [
            o
            for table in (self.open.get(id(account), {}), self._closed.get(id(account), {}))
            for o in table.values()
            if o.futures == futures and o.symbol == symbol
        ]
        return sorted(found, key=lambda o: o.order_id)

    def size(self) -> int:
        """Number of orders held (for the memory bound)."""
        return len(self.by_id)
