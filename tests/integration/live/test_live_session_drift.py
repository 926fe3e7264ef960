"""A live session against the exchange simulator and its drift report: the only differences are
those the live venue's matching explains (the exchange's book filled the orders, the backtest
fills at the next bar's open).

The session trades the recorded XRP/ETH minutes replayed at 120 times real speed, through the real
ccxt client; the report replays the recorded bars through the backtest with the session's
settings.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from tradewind.backtest.inputs import strategies_from
from tradewind.backtest.spec import Account, BacktestSpec
from tradewind.config import AppConfig
from tradewind.connectors.config import ExchangeConfig
from tradewind.exchange_sim import LoopbackServer, SimClock, SimExchange
from tradewind.exchange_sim.accounts import Permissions
from tradewind.exchange_sim.recordings import shared_listings
from tradewind.persistence.config import DatabaseConfig
from tradewind.session.drift import drift_report
from tradewind.session.live import LiveConfig, LiveSession
from tradewind.session.operate import SessionOps

SYMBOL = "XRP/ETH"


@pytest.mark.slow
async def test_a_live_session_drifts_only_where_the_book_filled_it(
    shared_data: Path, tmp_path: Path
) -> None:
    sim = SimExchange(seed=59, clock=SimClock(speed=120), history=0.5)
    frame = pd.read_feather(shared_data / "candles" / "XRP_ETH-1m.feather")
    sim.add_listing(shared_listings()["spot:XRPETH"], klines={"1m": frame})
    async with LoopbackServer(sim) as server:
        key = server.call(
            lambda: server.sim.open_account(
                "drifting", balances={"ETH": 10, "XRP": 5000},
                permissions=Permissions(ip_restrict=True),
            )
        )  # fmt: skip
        exchange = ExchangeConfig(rest_url=server.rest_url, api_key=key.key, secret=key.secret,
                                  rate_limit=False, timeout_ms=15_000)  # fmt: skip
        config = LiveConfig(
            exchange=exchange, strategies=strategies_from("sma_cross", {"fast": 2, "slow": 5}),
            symbols=(SYMBOL,), timeframe="1m",
            spec=BacktestSpec(account=Account(cash="1", stake="50%")), run_dir=tmp_path / "run",
            warmup_bars=20, max_capital=Decimal("0.5"), confirmed=True, poll_s=0.05,
            max_bars=40,
        )  # fmt: skip
        ops = SessionOps(AppConfig(database=DatabaseConfig(bots_dir=str(tmp_path / "bots"))),
                         "drifting", mode="live")  # fmt: skip
        await LiveSession(config, ops=ops).run()
    report = drift_report(tmp_path / "run")
    assert report.session_trades >= 3, "too few round trips to compare"
    causes = {d.cause.split(" (")[0].split(" at ")[0] for d in report.differences}
    # Prices, quantities and fees differ because the exchange's book filled the orders; a trade
    # or an exit bar differs only where a market order ran out of depth and expired part-filled
    # (the simulator's matching, named from the session's own journal). Nothing is unexplained.
    assert "filled by the exchange's book" in causes, report.as_dict()
    assert causes <= {"filled by the exchange's book", "order expired in the exchange's book"}, (
        report.as_dict()
    )
    for difference in report.differences:
        if difference.what in ("missing", "extra", "exit_time"):
            assert difference.cause.startswith("order expired in the exchange's book")
    matched = report.session_trades - sum(d.what == "extra" for d in report.differences)
    assert matched >= 3
