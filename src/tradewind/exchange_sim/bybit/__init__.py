"""Bybit v5 served by the simulator's shared exchange core.

A protocol adapter: the same :class:`~..exchange.SimExchange` (listings, replay, matching,
accounts, faults) as the Binance side, answered in Bybit's v5 shapes. Point unmodified
``ccxt.bybit`` / ``ccxt.async_support.bybit`` / ``ccxt.pro.bybit`` (recipe:
:func:`tradewind.connectors.client.bybit_urls`) or the official ``pybit`` SDK at a
:class:`~..server.LoopbackServer` built with ``app_factory=build_bybit_app``.

- :mod:`.common`: the answer envelope, ``X-BAPI-*`` signatures and the recv window.
- :mod:`.errors`: ``retCode``/``retMsg`` as Bybit sends them, and the core's refusals translated.
- :mod:`.market`: public REST (time, instruments with filters, kline, orderbook, tickers,
  recent trades, funding history).
- :mod:`.orders`, :mod:`.trade`: order parameters and rendering; create, amend, cancel,
  cancel-all, realtime, history, executions.
- :mod:`.account`: wallet balance, positions, leverage, position TP/SL, account info.
- :mod:`.ws`: public topics (orderbook snapshot/delta, publicTrade, tickers, kline) and the
  private stream (order, execution, position, wallet), with auth and ping/pong.
- :mod:`.app`: the aiohttp application and its fault middleware.
"""

from tradewind.exchange_sim.bybit.app import build_bybit_app

__all__ = ["build_bybit_app"]
