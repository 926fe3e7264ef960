"""The demo's paper session: the exchange simulator in this process replaying the bundled XRP/ETH
minutes, the real ccxt client streaming them, a paper session trading them into a SQLite bot
database, and the drift report comparing the session with its backtest. No account, no network.

The operator API and web dashboard are served while the session trades, on 127.0.0.1, and their
URL and a login token are printed as soon as they are up (the token of ``TRADEWIND__API__TOKEN``
when it is set, else a new one). The replay runs as fast as the session takes the bars (a paced
replay lets the simulator revise a bar after its close, as a venue does, and the drift report then
names those revisions); with ``serve`` it runs at 60x (a bar a second) until Ctrl-C, for watching.
"""

from __future__ import annotations

import asyncio
import math
import shutil
import signal
from collections.abc import Callable
from pathlib import Path

import pandas as pd
from pydantic import SecretStr
from rich.table import Table

from tradewind.backtest.inputs import strategies_from
from tradewind.backtest.result import BacktestResult
from tradewind.backtest.spec import Account, BacktestSpec
from tradewind.cli.context import STATE
from tradewind.config import AppConfig
from tradewind.connectors.client import create_client
from tradewind.connectors.config import ExchangeConfig
from tradewind.data.recorded import bundled_recorded_dir
from tradewind.exchange_sim import LoopbackServer, SimClock, SimExchange
from tradewind.exchange_sim.recordings import shared_listings
from tradewind.persistence.api_tokens import check_token, issue_token
from tradewind.persistence.config import DatabaseConfig
from tradewind.reporting.numbers import format_metric
from tradewind.session.drift import DriftReport, drift_report, final_bars_from_exchange
from tradewind.session.operate import ServeOptions, SessionOps
from tradewind.session.paper import PaperConfig, PaperSession, SessionStatus

SYMBOL = "XRP/ETH"
STRATEGY = "sma_cross"
PARAMS = {"fast": 5, "slow": 15}
_SERVE_SPEED = 60.0  # one recorded minute a second


def paper_demo(
    run_dir: Path, bars: int, *, serve: bool, port: int, token: SecretStr | None = None
) -> None:
    """Run the demo's paper session and print its result, drift report and where they are.

    ``port`` 0 serves the API on any free port; ``token`` is the operator's own API token
    (``TRADEWIND__API__TOKEN``), else a new one is printed.
    """
    result, report, folder, database = asyncio.run(
        _session(run_dir, bars, serve=serve, port=port, token=token)
    )
    table = Table(title=f"Paper session: {STRATEGY} on {SYMBOL} 1m (exchange simulator)",
                  show_header=False)  # fmt: skip
    table.add_column("")
    table.add_column("", justify="right")
    table.add_row("bars traded", str(result.meta.get("bars_traded", 0)))
    for key in ("initial_equity", "final_equity", "total_return", "trade_count", "win_rate",
                "total_fees"):  # fmt: skip
        table.add_row(key, format_metric(key, result.metrics.get(key)))
    pnl = result.metrics.get("final_equity", 0) - result.metrics.get("initial_equity", 0)
    table.add_row("pnl (ETH)", f"{pnl:+.6f}")
    orders = result.orders
    table.add_row("orders (filled)", f"{len(orders)} ({int((orders['status'] == 'filled').sum())})"
                  if len(orders) else "0")  # fmt: skip
    STATE.console.print(table)
    verdict = "no differences" if report.ok else f"{len(report.differences)} differences"
    STATE.console.print(
        f"drift report (session vs the backtest of the exchange's bars): {verdict}; "
        f"{report.session_trades} trades vs {report.backtest_trades}",
        highlight=False,
    )
    STATE.console.print(
        f"database: {database} (orders, fills, operator actions)\n"
        f"session: {folder} (result.json; the drift report compares it with the exchange's bars)",
        highlight=False,
    )


async def _session(
    run_dir: Path, bars: int, *, serve: bool, port: int, token: SecretStr | None
) -> tuple[BacktestResult, DriftReport, Path, str]:
    sim = SimExchange(
        seed=1, clock=SimClock(speed=_SERVE_SPEED if serve else math.inf), history=0.5
    )
    frame = pd.read_feather(bundled_recorded_dir() / "candles" / "XRP_ETH-1m.feather")
    sim.add_listing(shared_listings()["spot:XRPETH"], klines={"1m": frame})
    folder = run_dir / "paper"
    # The demo starts from scratch every time: its bot would otherwise resume the last demo's
    # account, and its run folder refuses a second session.
    for earlier in (folder, run_dir / "bots" / "demo"):
        shutil.rmtree(earlier, ignore_errors=True)
    # The [api] settings (its failed-login limit) are the environment's, as the token is.
    app = AppConfig(database=DatabaseConfig(bots_dir=str(run_dir / "bots")), api=STATE.config().api)
    ops = SessionOps(app, "demo", serve=ServeOptions(port=port))
    async with LoopbackServer(sim) as server:
        exchange = ExchangeConfig(rest_url=server.rest_url, rate_limit=False, timeout_ms=15_000)
        config = PaperConfig(
            exchange=exchange, strategies=strategies_from(STRATEGY, PARAMS), symbols=(SYMBOL,),
            timeframe="1m", spec=BacktestSpec(account=Account(cash="2", stake="50%")),
            run_dir=folder, warmup_bars=60, max_bars=None if serve else bars,
        )  # fmt: skip
        session = PaperSession(config, ops=ops, on_update=_announce(ops, token, serve=serve))
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, session.stop, f"stopped by {sig.name}")
        try:
            result = await session.run()
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
        client = create_client(exchange)
        final = await asyncio.to_thread(final_bars_from_exchange, folder, client)
    assert ops.database is not None  # opened when the session's Node started
    database = ops.database.engine.url.database or str(ops.database.engine.url)
    return result, drift_report(folder, final), folder, database


def _announce(
    ops: SessionOps, token: SecretStr | None, *, serve: bool
) -> Callable[[SessionStatus], None]:
    """Print the API's URL and a login token once the API is up (at the first status update)."""
    shown = [False]

    def update(status: SessionStatus) -> None:
        if ops.url is None or shown[0] or ops.database is None:
            return
        shown[0] = True
        engine = ops.database.engine
        if token is None:
            login = issue_token(engine, name="demo", scopes=["read", "trade"],
                                bot_id=ops.database.bot_id)  # fmt: skip
            told = f"token {login}"
        else:
            # The operator's own token: stored (hashed) once per database, never printed.
            if check_token(engine, token.get_secret_value()) is None:
                issue_token(engine, name="operator", scopes=["read", "trade"],
                            bot_id=ops.database.bot_id, token=token.get_secret_value())  # fmt: skip
            told = "the token of TRADEWIND__API__TOKEN"
        pace = ("a bar a second; Ctrl-C stops and prints the summary" if serve
                else "as fast as it goes; the summary follows the last bar")  # fmt: skip
        STATE.console.print(
            f"API: {ops.url}/api/v1 (schema {ops.url}/openapi.json), dashboard: {ops.url}/dashboard\n"
            f"log in with {told}; trading {pace}",
            highlight=False,
            soft_wrap=True,
        )
        del status

    return update
