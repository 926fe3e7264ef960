"""Sessions on live market data: the Node driven bar by bar as the exchange closes bars.

:mod:`.driver` is the synchronous heart (the backtest's engine fed one closed instant at a time);
:mod:`.paper` the asyncio shell around it (exchange client, market feed, recording, status);
:mod:`.drift` replays a session's recording through the backtest and lists every difference.
"""
