"""A live bot for the parent kill -9 tests: one algorithm entry, every child written ahead.

Usage: ``python twap_child.py REST_URL API_KEY SECRET BOTS_DIR RUN_DIR MAX_BARS ENTER [ALGO]``.
With ``ENTER`` = 1 the strategy enters once, at its first bar, as a TWAP it names itself (or
``ALGO``, in the one-line form ``iceberg:visible=100,limit=0.001``); with 0 it never acts (a
restarted bot: only the resumed parent trades). Crash points fire from ``TRADEWIND_CRASH_AT``.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from decimal import Decimal
from pathlib import Path

from tradewind.backtest.spec import Account, BacktestSpec
from tradewind.config import AppConfig
from tradewind.connectors.config import ExchangeConfig
from tradewind.core.algo_spec import Algo, AlgoSpec, parse_algo
from tradewind.core.intents import IntentAction
from tradewind.persistence.config import DatabaseConfig
from tradewind.series.bars import BarSeries
from tradewind.session.live import LiveConfig, LiveSession
from tradewind.session.operate import SessionOps
from tradewind.strategies.base import Strategy, StrategyContext

SYMBOL = "XRP/ETH"
TWAP = AlgoSpec(algo=Algo.TWAP, horizon_ms=30 * 60_000, slices=6, guard_bps=Decimal(80))


class OneTwap(Strategy):
    """Buys once, at its first bar, as a 30-minute TWAP of six slices (when told to)."""

    name = "one_twap"

    def __init__(self, enter: bool, algo: AlgoSpec = TWAP) -> None:
        super().__init__()
        self.enter = enter
        self.algo = algo

    def on_bar(self, ctx: StrategyContext, bars: BarSeries, i: int) -> None:
        if self.enter:
            self.enter = False
            ctx.emit(SYMBOL, IntentAction.ENTER_LONG, algo=self.algo)


async def main(rest_url: str, key: str, secret: str, bots: str, run_dir: str, max_bars: int,
               enter: bool, algo: AlgoSpec) -> None:  # fmt: skip
    exchange = ExchangeConfig(rest_url=rest_url, api_key=key, secret=secret, rate_limit=False,
                              timeout_ms=15_000)  # fmt: skip
    config = LiveConfig(
        exchange=exchange, strategies=[OneTwap(enter, algo)], symbols=(SYMBOL,), timeframe="1m",
        spec=BacktestSpec(account=Account(cash="1", stake="50%")), run_dir=Path(run_dir),
        warmup_bars=20, max_bars=max_bars, max_capital=Decimal("0.5"), confirmed=True,
        poll_s=0.05, max_orders_per_minute=1000,
    )  # fmt: skip
    ops = SessionOps(AppConfig(database=DatabaseConfig(bots_dir=bots)), "twapkill", mode="live")
    await LiveSession(config, ops=ops).run()
    print("done", flush=True)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    url, api_key, api_secret, bots_dir, run, bars, entering = sys.argv[1:8]
    chosen = parse_algo(sys.argv[8]) if len(sys.argv) > 8 else TWAP
    asyncio.run(main(url, api_key, api_secret, bots_dir, run, int(bars), entering == "1", chosen))
