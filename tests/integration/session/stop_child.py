"""A live bot for the restart tests of native stops: one entry protected by a stop on the exchange.

Usage: ``python stop_child.py REST_URL API_KEY SECRET BOTS_DIR RUN_DIR MAX_BARS ENTER RISK``.
With ``ENTER`` = 1 the strategy buys once, at its first bar; with 0 it never acts (a restarted
bot: only what the earlier session left trades). ``RISK`` is the risk section as JSON (the exit
rules under test). Crash points fire from ``TRADEWIND_CRASH_AT``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from decimal import Decimal
from pathlib import Path

from tradewind.backtest.spec import Account, BacktestSpec
from tradewind.config import AppConfig
from tradewind.connectors.config import ExchangeConfig
from tradewind.core.intents import IntentAction
from tradewind.persistence.config import DatabaseConfig
from tradewind.risk.config import parse_risk
from tradewind.series.bars import BarSeries
from tradewind.session.live import LiveConfig, LiveSession
from tradewind.session.operate import SessionOps
from tradewind.strategies.base import Strategy, StrategyContext

SYMBOL = "XRP/ETH"


class EnterOnce(Strategy):
    """Buys once, at its first bar (when told to), and never exits by itself."""

    name = "enter_once"

    def __init__(self, enter: bool) -> None:
        super().__init__()
        self.enter = enter

    def on_bar(self, ctx: StrategyContext, bars: BarSeries, i: int) -> None:
        if self.enter and ctx.position(SYMBOL) == 0:
            self.enter = False
            ctx.emit(SYMBOL, IntentAction.ENTER_LONG)


async def main(rest_url: str, key: str, secret: str, bots: str, run_dir: str, max_bars: int,
               enter: bool, risk: dict[str, object]) -> None:  # fmt: skip
    exchange = ExchangeConfig(rest_url=rest_url, api_key=key, secret=secret, rate_limit=False,
                              timeout_ms=15_000)  # fmt: skip
    config = LiveConfig(
        exchange=exchange, strategies=[EnterOnce(enter)], symbols=(SYMBOL,), timeframe="1m",
        spec=BacktestSpec(account=Account(cash="1", stake="50%"), risk=parse_risk(risk)),
        run_dir=Path(run_dir), warmup_bars=20, max_bars=max_bars, max_capital=Decimal("0.5"),
        confirmed=True, poll_s=0.05, max_orders_per_minute=1000,
    )  # fmt: skip
    ops = SessionOps(AppConfig(database=DatabaseConfig(bots_dir=bots)), "stopkill", mode="live")
    await LiveSession(config, ops=ops).run()
    print("done", flush=True)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    url, api_key, api_secret, bots_dir, run, bars, entering, rules = sys.argv[1:9]
    asyncio.run(main(url, api_key, api_secret, bots_dir, run, int(bars), entering == "1",
                     json.loads(rules)))  # fmt: skip
