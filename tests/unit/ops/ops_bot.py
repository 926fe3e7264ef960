"""A bot for the operator tests: a Node trading the real BTC minutes on the simulated venue, its
SQLite database (orders and fills recorded from the bus), a control facade and API tokens."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tradewind.backtest.inputs import instruments_for
from tradewind.core.algo_spec import AlgoSpec
from tradewind.core.intents import IntentAction
from tradewind.core.orders import ClientIdFactory, Order
from tradewind.core.ports import RiskGate
from tradewind.core.timeframe import Timeframe
from tradewind.engine.binding import Binding
from tradewind.engine.node import Node
from tradewind.engine.portfolio import Portfolio
from tradewind.engine.recording import RepositoryRecorder
from tradewind.engine.runner import BacktestRunner
from tradewind.ops.events import EventHub
from tradewind.ops.facade import ControlFacade
from tradewind.persistence.api_tokens import issue_token
from tradewind.persistence.bots import BotDatabase, open_bot
from tradewind.risk.config import BreakerConfig, ExitConfig, RiskConfig, build_risk
from tradewind.risk.gate import StakeGate
from tradewind.risk.stake import Stake
from tradewind.series.bars import BarSeries
from tradewind.strategies import Param, Strategy, StrategyContext
from tradewind.venues.sim import SimVenue, SimVenuePort

SYMBOL = "BTC/USDT"
AUDIT_KEY = b"operator-test-audit-key-32-bytes"


class LoggedPort(SimVenuePort):
    """The simulated venue's port with a request log: what the exchange was asked to do."""

    def __init__(self, venue: SimVenue) -> None:
        super().__init__(venue)
        self.requests: list[tuple[str, int, Order | str]] = []

    def submit(self, order: Order, ts: int) -> None:
        self.requests.append(("submit", ts, order))
        super().submit(order, ts)

    def cancel(self, client_id: str, ts: int) -> None:
        self.requests.append(("cancel", ts, client_id))
        super().cancel(client_id, ts)


class EveryFifty(Strategy):
    """Enters long and exits on alternate multiples of ``every`` bars; ``operator(i)`` runs at each bar
    first, as an operator acting on the running bot between bars."""

    name = "every_fifty"
    every = Param(50, low=10, high=500)

    def __init__(self) -> None:
        super().__init__()
        self.operator: Callable[[int, StrategyContext], None] | None = None

    def on_bar(self, ctx: StrategyContext, bars: BarSeries, i: int) -> None:
        if self.operator is not None:
            self.operator(i, ctx)
        if i % self.every == 0:
            held = ctx.position(SYMBOL)
            action = IntentAction.EXIT_LONG if held > 0 else IntentAction.ENTER_LONG
            ctx.emit(SYMBOL, action, reason="every 50")


@dataclass
class Bot:
    """Everything a test needs to drive and inspect one bot."""

    node: Node
    port: LoggedPort
    venue: SimVenue
    bars: BarSeries
    strategy: EveryFifty
    database: BotDatabase
    facade: ControlFacade
    tokens: dict[str, str] = field(default_factory=dict)

    def run(self) -> None:
        BacktestRunner(self.node, self.port).run()

    def entries(self) -> list[tuple[int, Order]]:
        """Entry orders the venue received, with when."""
        return [(ts, o) for kind, ts, o in self.port.requests
                if kind == "submit" and isinstance(o, Order) and not o.reduce_only]  # fmt: skip

    def bar_close(self, i: int) -> int:
        return int(self.bars.ts[i]) + 60_000


@pytest.fixture(scope="module")
def minutes(shared_data: Path) -> pd.DataFrame:
    frame = pd.read_csv(shared_data / "candles" / "btc-perp-20211231-20220201_1m.csv", nrows=5000)
    frame["date"] = pd.to_datetime(frame.pop("timestamp"), utc=True)
    return frame


@pytest.fixture
def bot(minutes: pd.DataFrame, tmp_path: Path) -> Bot:
    return make_bot(minutes, tmp_path)


def make_bot(
    minutes: pd.DataFrame,
    tmp_path: Path,
    *,
    stop_pct: float | None = None,
    take_profit_pct: float | None = None,
    breakers: BreakerConfig | None = None,
    name: str = "ops-test",
    execution: AlgoSpec | None = None,
) -> Bot:
    """The bot (called ``name``); with ``stop_pct``, ``take_profit_pct`` or ``breakers``, under
    the risk engine (with a protective stop and a take-profit that far away, and those circuit
    breakers); ``execution`` carries its orders out with that algorithm."""
    bars = BarSeries.from_frame(minutes.set_index("date"), SYMBOL, Timeframe(60_000))
    instruments = instruments_for({SYMBOL: bars}, None, Decimal("0.001"))
    never = np.zeros(len(bars), dtype=np.bool_)
    strategy = EveryFifty()
    binding = Binding(strategy, strategy.id, bars, never, never, never, never, callback=True)
    venue = SimVenue(instruments, {SYMBOL: bars}, {"USDT": Decimal(10_000)})
    port = LoggedPort(venue)
    gate: RiskGate = StakeGate(Stake.parse("50%"), instruments)
    protection = None
    config = None
    if stop_pct is not None or take_profit_pct is not None or breakers is not None:
        exits = ExitConfig(stop_pct=stop_pct, take_profit_pct=take_profit_pct)
        config = RiskConfig(exits=exits, breakers=breakers or BreakerConfig())
        gate, protection = build_risk(
            config, strategy_ids={strategy.id: strategy.name},
            stake=Stake.parse("50%"), instruments=instruments, bars={SYMBOL: bars},
            initial_equity=10_000.0,
        )  # fmt: skip
    node = Node(
        bindings=[binding], gate=gate, venue=port, protection=protection,
        portfolio=Portfolio(instruments, cash={"USDT": Decimal(10_000)}), instruments=instruments,
        ids=ClientIdFactory("op", session="0"), execution=execution,
    )  # fmt: skip
    database = open_bot(name, bots_dir=tmp_path / "bots")
    session = database.start_session(
        mode="paper", strategies=[strategy.id], parameters={}, config_hash="test",
        code_version="test",
    )  # fmt: skip
    RepositoryRecorder(database.repository(session), node.portfolio).attach(node.bus)
    events = EventHub()
    events.attach(node.bus)
    facade = ControlFacade(node, database, AUDIT_KEY, mode="paper", events=events,
                           risk_config=config)  # fmt: skip
    tokens = {
        scope: issue_token(database.engine, name=f"{scope}-holder", scopes=[scope],
                           bot_id=database.bot_id)
        for scope in ("read", "trade", "admin")
    }  # fmt: skip
    return Bot(node, port, venue, bars, strategy, database, facade, tokens)
