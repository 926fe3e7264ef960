"""A loopback exchange that speaks Binance's protocol, replays recorded markets, matches orders
and injects faults, so the real ccxt client runs the whole live path on this machine.

Point the unmodified ``ccxt.binance`` / ``ccxt.async_support.binance`` / ``ccxt.pro.binance`` at
``LoopbackServer.rest_url`` and ``ws_url`` (recipe: ``tradewind.connectors.client.binance_urls``).
Served: spot ``/api/v3`` and USDT-M ``/fapi/v1|v2|v3`` REST (market data, signed trading, account,
positions, leverage, margin type, listen keys), ``/sapi/v1/account/apiRestrictions``, public streams
(diff depth with continuous ``U``/``u``/``pu``, trade, aggTrade, kline, bookTicker, markPrice), the
spot WebSocket API (orders and user data) and the USDT-M listen-key user stream, and ``/health``.

Layout, one concept per module:

- :mod:`.listings`, :mod:`.tables`, :mod:`.intervals`, :mod:`.market_data`: markets, recorded
  series and the public history endpoints (the download seed).
- :mod:`.clock`: the replay clock and its speed factor (``/api/v3/time``).
- :mod:`.timeline`: each recording on the server clock (the offset, published in the header
  ``X-TW-Replay-Offset-Ms`` and at ``GET /tradewind/v1/replay``), looped pass after pass.
- :mod:`.candle_walk`, :mod:`.served_candles`: the walk through a candle (prices within [low,
  high], volumes summing to the candle's) and the candles served exactly, on the instrument's
  grid, up to the replay clock with the current one partial.
- :mod:`.replay`, :mod:`.candle_flow`, :mod:`.driver`: recorded books and trades looped with
  continuous update ids, a seeded book and trade flow derived from candles (the walk), and the
  task that applies them as the replay clock reaches them.
- :mod:`.sim_book`, :mod:`.engine`, :mod:`.ledgers`, :mod:`.futures`, :mod:`.orders`,
  :mod:`.order_params`: the live book (replayed liquidity plus resting orders; what happens when
  the replay moves after a fill consumed liquidity), price-time matching, spot balances and USDT-M
  positions, liquidation, Binance's client-order-id rules and order checks.
- :mod:`.accounts`, :mod:`.auth`, :mod:`.limits`: accounts and keys with permissions, HMAC and
  recvWindow checks, request weight and order counts with 429 then 418 bans.
- :mod:`.streams`, :mod:`.connections`, :mod:`.ws_handlers`: stream fan-out, user-data events and
  the WebSocket endpoints.
- :mod:`.rest_common`, :mod:`.rest_spot`, :mod:`.rest_futures`: the trading REST endpoints.
- :mod:`.faults`: faults by schedule or seeded probability, the fault log and the request log,
  and the fault middleware both protocols serve them through.
- :mod:`.server`: the aiohttp app and :class:`LoopbackServer` (thread or running loop).
- :mod:`.recordings`: lists the shared recordings (the simulator itself is handed frames).

Example
-------
>>> sim = list_shared_recordings(SimExchange(clock=SimClock(speed=10)), root)  # doctest: +SKIP
>>> key = sim.open_account("bot", balances={"USDT": 10_000})
>>> sim.faults.add(Fault(kind=FaultKind.GHOST_ORDER, path="/api/v3/order", delay_s=2))
>>> with LoopbackServer(sim) as server:
...     ...  # ccxt client with key.key / key.secret and binance_urls(server.rest_url)
...     server.requests("/api/v3/order"), server.faults.injected()
"""

from tradewind.exchange_sim.accounts import Account, ApiKey, Permissions
from tradewind.exchange_sim.clock import SimClock
from tradewind.exchange_sim.exchange import ListedMarket, SimExchange
from tradewind.exchange_sim.faults import (
    Fault,
    FaultKind,
    FaultPlan,
    FaultRecord,
    RequestRecord,
)
from tradewind.exchange_sim.limits import LimitConfig
from tradewind.exchange_sim.listings import Api, Listing
from tradewind.exchange_sim.server import LoopbackServer, build_app

__all__ = [
    "Account",
    "Api",
    "ApiKey",
    "Fault",
    "FaultKind",
    "FaultPlan",
    "FaultRecord",
    "LimitConfig",
    "ListedMarket",
    "Listing",
    "LoopbackServer",
    "Permissions",
    "RequestRecord",
    "SimClock",
    "SimExchange",
    "build_app",
]
