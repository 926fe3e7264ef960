"""Property: random intent streams on random windows of real prices, through the risk engine, the
Node and the simulated venue.

- no approved entry breaks a limit at the moment it is approved;
- an entry within every limit is approved at its full size (a gate that denies everything fails);
- while HALTED no new exposure gets through, and exits (signal and protective) still pass;
- the kill switch always ends flat with no open orders.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tradewind.core.instrument import FeeSide, Instrument
from tradewind.core.intents import Decision, Intent, IntentAction
from tradewind.core.money import floor_to_step
from tradewind.core.orders import ClientIdFactory
from tradewind.core.ports import AccountView
from tradewind.core.timeframe import Timeframe
from tradewind.engine.account import AccountState
from tradewind.engine.node import Binding, Node
from tradewind.engine.portfolio import Portfolio
from tradewind.engine.runner import BacktestRunner
from tradewind.risk.breakers import BreakerState
from tradewind.risk.config import RiskConfig, build_risk
from tradewind.risk.engine import RiskEngine
from tradewind.risk.stake import Stake
from tradewind.series.bars import BarSeries
from tradewind.strategies.base import Strategy, StrategyContext
from tradewind.venues.sim import SimVenue, SimVenuePort

SYMBOLS = ("ETH/BTC", "LTC/BTC")
WINDOW = 400
FRACTION, ASSET_CAP, LEVERAGE_CAP, MAX_POSITIONS, BUFFER = 0.2, 0.25, 0.35, 2, 0.01
STEP = Decimal("0.00000001")


@pytest.fixture(scope="module")
def frames(shared_data: Path) -> dict[str, pd.DataFrame]:
    return {
        s: pd.read_feather(shared_data / "candles" / f"{s.split('/')[0]}_BTC-5m.feather")
        for s in SYMBOLS
    }


def _instrument(symbol: str) -> Instrument:
    base, quote = symbol.split("/")
    return Instrument(
        symbol=symbol, base=base, quote=quote, price_step=Decimal("0.00000001"), amount_step=STEP,
        maker_fee=Decimal("0.001"), taker_fee=Decimal("0.001"), fee_side=FeeSide.QUOTE,
    )  # fmt: skip


@dataclass
class Recorder:
    """Passes every intent to the engine and notes what the account looked like at that moment."""

    engine: RiskEngine
    log: list[tuple[Intent, Decision, dict[str, Any]]] = field(default_factory=list)

    def decide(self, intent: Intent, account: AccountView) -> Decision:
        node = account
        assert isinstance(node, AccountState)
        seen = {
            "equity": node.equity(),
            "free": node.free("BTC"),
            "positions": {(s, y): q for s, y, q in node.open_positions()},
            "prices": {y: node.last_price(y) for y in SYMBOLS},
            "state": self.engine.board.state(node.clock()),
        }
        decision = self.engine.decide(intent, account)
        self.log.append((intent, decision, seen))
        return decision

    def __getattr__(self, name: str) -> Any:
        return getattr(self.engine, name)


class Scripted(Strategy):
    """Emits the drawn intents at their bars; halts and pulls the kill switch when told to."""

    name = "scripted"

    def setup(
        self, script: list[tuple[int, int, bool, float]], halt: int | None, kill: int | None
    ) -> None:
        self.script, self.halt_bar, self.kill_bar = script, halt, kill
        self.node: Node | None = None  # the operator's handle (the context has none)

    def on_bar(self, ctx: StrategyContext, bars: BarSeries, i: int) -> None:
        node = self.node
        assert node is not None
        if bars.symbol == SYMBOLS[0] and i == self.halt_bar:
            node.gate.board.trip(
                "manual", BreakerState.HALTED, None, ts=node.now, bar=i, reason="test"
            )  # type: ignore[attr-defined]
        if bars.symbol == SYMBOLS[0] and i == self.kill_bar:
            node.kill_switch("test kill")
            return
        for bar, which, enter, hint in self.script:
            if bar == i and SYMBOLS[which] == bars.symbol:
                action = IntentAction.ENTER_LONG if enter else IntentAction.EXIT_LONG
                ctx.emit(bars.symbol, action, size_hint=Decimal(str(hint)), reason="scripted")


def _run(
    frames: dict[str, pd.DataFrame], offset: int, strategy: Scripted, stop: float | None
) -> tuple[Node, Recorder]:
    bars = {
        s: BarSeries.from_frame(f.iloc[offset : offset + WINDOW], s, Timeframe(300_000))
        for s, f in frames.items()
    }
    instruments = {s: _instrument(s) for s in SYMBOLS}
    starting = {"BTC": Decimal(1)}
    config = RiskConfig.model_validate(
        {
            "sizing": {"model": "fixed_fraction", "fraction": FRACTION},
            "exits": {"stop_pct": stop},
            "limits": {
                "max_positions": MAX_POSITIONS,
                "max_asset_exposure": ASSET_CAP,
                "max_leverage": LEVERAGE_CAP,
            },
            "breakers": {"daily_loss": None, "max_drawdown": None},
            "cash_buffer": BUFFER,
        }
    )
    engine, book = build_risk(
        config, strategy_ids={strategy.id: strategy.name}, stake=Stake.parse("all"),
        instruments=instruments, bars=bars, initial_equity=1.0,
    )  # fmt: skip
    recorder = Recorder(engine)
    venue = SimVenuePort(SimVenue(instruments, bars, starting))
    never = [pd.Series(False, index=range(WINDOW)).to_numpy() for _ in range(4)]
    bindings = [
        Binding(strategy, strategy.id, series, *never, start=30, callback=True)
        for series in bars.values()
    ]
    node = Node(
        bindings=bindings, gate=recorder, venue=venue, portfolio=Portfolio(instruments, cash=dict(starting)),
        instruments=instruments, ids=ClientIdFactory("p"), protection=book,
    )  # fmt: skip
    strategy.node = node
    BacktestRunner(node, venue).run()
    return node, recorder


scripts = st.lists(
    st.tuples(
        st.integers(30, WINDOW - 3),
        st.integers(0, 1),
        st.booleans(),
        st.sampled_from([0.5, 0.8, 1.0]),
    ),
    min_size=1,
    max_size=25,
)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    offset=st.integers(0, 5000),
    script=scripts,
    halt=st.one_of(st.none(), st.integers(30, WINDOW - 3)),
    kill=st.one_of(st.none(), st.integers(30, WINDOW - 3)),
    stop=st.sampled_from([None, 0.01, 0.03]),
)
def test_gate_limits_halts_and_kill_switch(
    frames: dict[str, pd.DataFrame],
    offset: int,
    script: list[tuple[int, int, bool, float]],
    halt: int | None,
    kill: int | None,
    stop: float | None,
) -> None:
    strategy = Scripted()
    strategy.setup(script, halt, kill)
    node, recorder = _run(frames, offset, strategy, stop)

    for intent, decision, seen in recorder.log:
        held = seen["positions"].get((intent.strategy_id, intent.symbol), Decimal(0))
        if intent.action.is_exit:
            # Exits pass whenever there is a long to close, HALTED or not.
            assert decision.approved == (held > 0)
            continue
        equity, free, prices = seen["equity"], seen["free"], seen["prices"]
        price = prices[intent.symbol]
        gross = sum(abs(q) * prices[sym] for (_, sym), q in seen["positions"].items())
        count = len(seen["positions"])
        if seen["state"] is not BreakerState.ACTIVE:
            assert not decision.approved  # no new exposure while HALTED
            continue
        wanted = equity * Decimal(str(FRACTION)) * (intent.size_hint or Decimal(1))
        affordable = free / Decimal("1.001") * (1 - Decimal(str(BUFFER)))
        within = (
            held == 0
            and count < MAX_POSITIONS
            and wanted <= equity * Decimal(str(ASSET_CAP))
            and gross + wanted <= equity * Decimal(str(LEVERAGE_CAP))
            and wanted <= affordable
        )
        event(
            f"entry: {'full size' if within else 'outside a limit'}, approved={decision.approved}"
        )
        if within:
            assert decision.approved, decision.reason
            assert decision.quantity == floor_to_step(wanted / price, STEP)
        if decision.approved:
            assert decision.quantity is not None
            value = decision.quantity * price
            assert held == 0
            assert count < MAX_POSITIONS
            assert value <= equity * Decimal(str(ASSET_CAP))
            assert gross + value <= equity * Decimal(str(LEVERAGE_CAP))
            assert value * Decimal("1.001") <= free
    if kill is not None:
        assert all(p.quantity == 0 for p in node.portfolio.positions.values())
        assert not any(o.status.is_open for o in node.orders.values())
        after = [d for i, d, _ in recorder.log if i.ts > node.bindings[0].bars.close_time[kill]]
        assert not any(d.approved and not d.intent.action.is_exit for d in after)
