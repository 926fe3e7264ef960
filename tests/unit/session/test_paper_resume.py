"""A paper bot killed mid-session and started again continues its account exactly.

Session A trades the recorded bars into a SQLite bot database and "dies" right after sending an
order, with its last two checkpoints lost (as a kill between recording a fill and writing the next
checkpoint leaves them). Session B starts on the bars the exchange has by then (one more bar: the
bot was down for it): the account it resumes equals A's at the kill, the order A left working fills
at the bar it would have filled on, and from there B trades exactly as an uninterrupted session.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from tradewind.backtest.api import prepare
from tradewind.backtest.inputs import strategies_from
from tradewind.backtest.spec import Account, BacktestSpec
from tradewind.core.orders import ClientIdFactory, OrderStatus
from tradewind.core.timeframe import Timeframe
from tradewind.data.recorded import bundled_recorded_dir
from tradewind.engine.bus import MessageBus
from tradewind.engine.recording import RepositoryRecorder
from tradewind.engine.resume import resume_account
from tradewind.persistence.bots import open_bot
from tradewind.series.bars import BarSeries
from tradewind.session.driver import PaperDriver

WARMUP = 300
LIVE = 500
SYMBOL = "ETH/BTC"
SPEC = BacktestSpec(account=Account(cash=1, stake="50%"))
PARAMS = {"fast": 5, "slow": 20}


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    data = pd.read_feather(bundled_recorded_dir() / "candles" / "ETH_BTC-5m.feather")
    return data.iloc[: WARMUP + LIVE].reset_index(drop=True)


def _driver(frame: pd.DataFrame, upto: int, session: str, **kw: object) -> PaperDriver:
    prepared = prepare({SYMBOL: frame.iloc[:upto]}, SPEC)
    return PaperDriver(prepared, strategies_from("sma_cross", PARAMS),
                       ids=ClientIdFactory("pp", session=session), **kw)  # type: ignore[arg-type]  # fmt: skip


def _feed(driver: PaperDriver, series: BarSeries, start: int, stop: int) -> None:
    for i in range(start, stop):
        driver.add(SYMBOL, series.bar(i))
        driver.flush()


def _state(portfolio: object) -> tuple[dict[str, Decimal], dict[tuple[str, str], tuple]]:
    cash = {k: v for k, v in portfolio.cash.items() if v}  # type: ignore[attr-defined]
    positions = {
        key: (p.quantity, p.average_price, p.entry_ts, p.open_fees, p.realized_pnl, p.dust)
        for key, p in portfolio.positions.items()  # type: ignore[attr-defined]
        if p.quantity or p.dust
    }
    return cash, positions


def test_a_killed_paper_bot_resumes_its_account_and_trades_on_as_if_uninterrupted(
    frame: pd.DataFrame, tmp_path: Path
) -> None:
    series = BarSeries.from_frame(frame, SYMBOL, Timeframe.parse("5m"))
    close = {int(series.ts[i]) + series.timeframe.ms: i for i in range(len(series))}
    whole = _driver(frame, WARMUP, "c")
    _feed(whole, series, WARMUP, WARMUP + LIVE)
    made = sorted(close[o.created_ts] for o in whole.node.orders.values())
    # The kill: right after an order is sent at bar k's close, where the uninterrupted session
    # does nothing at bar k + 1's close (the decision the restarted bot cannot take: it is down).
    kill = next(k for k in made if k >= WARMUP + 100 and k + 1 not in made and k - 1 in made[:-1])
    assert len([k for k in made if k > kill + 1]) >= 4, "too few trades after the kill to compare"

    bot = open_bot("paper", bots_dir=tmp_path)
    bus = MessageBus()
    first = _driver(frame, WARMUP, "a", bus=bus)
    recorder = RepositoryRecorder(bot.repository(_session(bot)), first.engine.portfolio)
    recorder.attach(bus)
    for i in range(WARMUP, kill + 1):
        first.add(SYMBOL, series.bar(i))
        first.flush()
        if i < kill - 1:  # the last two checkpoints never made it to the disk
            recorder.checkpoint(int(series.ts[i]) + series.timeframe.ms)
    working = {c for c, o in first.node.orders.items() if o.is_open}
    assert len(working) == 1
    before_kill = _state(first.engine.portfolio)
    recorder.repository.close()
    bot.engine.dispose()

    # The restart: a new database connection, the bars the exchange has now (one more).
    bot = open_bot("paper", bots_dir=tmp_path, create=False)
    with bot.repository() as repository:
        resumed = resume_account(repository, first.prepared.instruments)
    assert resumed is not None
    assert _state(resumed.portfolio) == before_kill
    assert set(resumed.orders) == working
    assert resumed.fills == len(first.engine.portfolio.fills)

    bus = MessageBus()
    second = _driver(frame, kill + 2, "b", bus=bus, balances=resumed.portfolio.cash)
    recorder = RepositoryRecorder(bot.repository(_session(bot)), second.engine.portfolio,
                                  fills_before=resumed.fills)  # fmt: skip
    recorder.adopt(resumed.orders.values())
    recorder.attach(bus)
    assert second.carry_on(resumed) == []
    [order_id] = working
    carried = second.node.orders[order_id]
    assert carried.status is OrderStatus.FILLED
    twin = whole.node.orders[_twin(whole, carried)]
    assert [(f.ts, f.price, f.quantity, f.fee) for f in carried.fills] == [
        (f.ts, f.price, f.quantity, f.fee) for f in twin.fills
    ]
    _feed(second, series, kill + 2, WARMUP + LIVE)

    after = int(series.ts[kill + 1])
    reference = whole.result().trades
    reference = reference[reference["exit_time"] > pd.Timestamp(after, unit="ms", tz="UTC")]
    columns = ["side", "entry_time", "exit_time", "entry_price", "exit_price", "quantity", "fees",
               "pnl"]  # fmt: skip
    pd.testing.assert_frame_equal(
        second.result().trades[columns].reset_index(drop=True),
        reference[columns].reset_index(drop=True),
    )
    assert _state(second.engine.portfolio) == _state(whole.engine.portfolio)
    # Every order in the database ended as the engine saw it; the carried one filled once.
    with bot.repository() as repository:
        stored = {o.client_id: o for o in repository.load_orders()}
        assert stored[order_id].status is OrderStatus.FILLED
        assert len(stored[order_id].fills) == 1
        for client_id, order in second.node.orders.items():
            assert stored[client_id].status is order.status


def _session(bot: object) -> int:
    return bot.start_session(mode="paper", strategies=["sma_cross"], parameters=PARAMS,  # type: ignore[attr-defined]
                             config_hash="", code_version="")  # fmt: skip


def _twin(whole: PaperDriver, carried: object) -> str:
    """The uninterrupted session's order made at the same time for the same side."""
    return next(
        c for c, o in whole.node.orders.items()
        if o.created_ts == carried.created_ts and o.side is carried.side  # type: ignore[attr-defined]
    )  # fmt: skip
