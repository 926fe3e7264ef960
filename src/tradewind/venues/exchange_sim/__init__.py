"""A loopback exchange that speaks Binance's REST protocol and serves recorded market data.

The real ccxt client, pointed at it through ``exchange.rest_url``, downloads history exactly as it
would from Binance: same endpoints, parameters, paging, field shapes and error bodies. Tests use
it to prove pagination, resume and fault handling without any network; the exchange simulator of
issue 9 grows from here (order matching, WebSocket streams, signed endpoints).

Layout, one concept per module:

- :mod:`.listings`: markets and their filters, rendered as ``exchangeInfo``.
- :mod:`.tables`: recorded series as arrays, paged with Binance's window semantics.
- :mod:`.intervals`: kline interval names and grids.
- :mod:`.exchange`: :class:`SimExchange`, the listings and their series, clock and faults.
- :mod:`.market_data`: the public REST endpoints (spot ``/api/v3``, USDT-M ``/fapi/v1``).
- :mod:`.errors`: Binance's error bodies, word for word.
- :mod:`.faults`: scheduled faults (429 bursts, 418, 5xx, stalls) and the request log.
- :mod:`.server`: the aiohttp app and :class:`LoopbackServer` (thread or running loop).

The simulator never reads files (``venues`` may not import ``data``): callers load recordings and
hand pandas frames to :meth:`SimExchange.add_listing`.

Example
-------
>>> sim = SimExchange()                                                     # doctest: +SKIP
>>> sim.add_listing(Listing(symbol="ETHBTC", base="ETH", quote="BTC",
...                  tick_size=Decimal("0.000001"), step_size=Decimal("0.001")),
...          klines={"5m": frame})
>>> sim.faults.add(Fault(kind=FaultKind.RATE_LIMIT, at_request=2, times=3, path="/api/v3/klines"))
>>> with LoopbackServer(sim) as server:
...     ...  # point ExchangeConfig(rest_url=server.rest_url) at it
...     server.requests("/api/v3/klines")
"""

from tradewind.venues.exchange_sim.exchange import ListedMarket, SimExchange
from tradewind.venues.exchange_sim.faults import Fault, FaultKind, FaultPlan, RequestRecord
from tradewind.venues.exchange_sim.listings import Api, Listing
from tradewind.venues.exchange_sim.server import LoopbackServer, build_app

__all__ = [
    "Api",
    "Fault",
    "FaultKind",
    "FaultPlan",
    "ListedMarket",
    "Listing",
    "LoopbackServer",
    "RequestRecord",
    "SimExchange",
    "build_app",
]
