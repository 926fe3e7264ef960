"""The facade's live changes through the REST API on a live session trading on the exchange
simulator, each effect checked on the simulator's own ledger for the account:

- a strategy's parameters set through the API change what reaches the simulator (a parameter that
  turns entries off: no new entry order there for several bars, while the exit still fills; on
  again: entries come); an unknown parameter or a value out of range is refused, naming it;
- a config reload applies a reloadable key (the log level) and refuses a changed key that is not
  reloadable by name, applying nothing of that file, while the bot goes on trading;
- risk limits set through the API gate the next decision: with at most 0 positions no new entry
  reaches the simulator, while the exit fills; a limit that cannot change while the bot runs is
  refused by name.

Uses the live operator harness of ``test_live_ops`` (the simulator at 120 times real speed).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from tests.integration.session.test_live_ops import (
    SYMBOL,
    Live,
    _entries,
    _filled_sells,
    _operate,
)

from tradewind.config import load_config
from tradewind.core.intents import IntentAction
from tradewind.risk.config import parse_risk
from tradewind.series.bars import BarSeries
from tradewind.strategies.base import Strategy, StrategyContext
from tradewind.strategies.params import Param


class Tunable(Strategy):
    """Enters long at a bar's close while flat (when ``entries`` is 1) and exits ``hold`` bars
    later: a hook strategy whose parameters an operator can change while it runs."""

    name = "tunable_live"
    hold = Param(3, low=1, high=1000, doc="bars to hold a position")
    entries = Param(1, low=0, high=1, doc="1 enters while flat, 0 sends no entry")

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.entered_at: int | None = None

    def on_bar(self, ctx: StrategyContext, bars: BarSeries, i: int) -> None:
        if ctx.position(SYMBOL) == 0:
            if self.entries:
                self.entered_at = i
                ctx.emit(SYMBOL, IntentAction.ENTER_LONG)
        elif self.entered_at is None or i - self.entered_at >= self.hold:
            self.entered_at = None
            ctx.emit(SYMBOL, IntentAction.EXIT_LONG)


def _strategy_id(live: Live) -> str:
    driver = live.session.driver
    assert driver is not None
    [binding] = driver.node.bindings
    return binding.strategy_id


async def _no_entry_for(live: Live, bars: int) -> set[str]:
    """Wait for the open position's exit to fill on the simulator, then ``bars`` more bars; the
    entry orders that reached the simulator meanwhile."""
    before = await live.ledger()
    await live.until_ledger(lambda led: _filled_sells(led) - _filled_sells(before), "the exit")
    await live.bars_pass(bars)
    return {o.client_id for o in _entries(await live.ledger())} - {
        o.client_id for o in _entries(before)
    }


@pytest.mark.slow
async def test_set_params_through_the_api_changes_what_reaches_the_venue(
    shared_data: Path, tmp_path: Path
) -> None:
    seen: dict[str, Any] = {}

    async def operator(live: Live) -> None:
        await live.connect(scopes=("admin",))
        await live.until_long()
        path = f"strategies/{_strategy_id(live)}/params"
        unknown = await live.answer(path, params={"nope": 1})
        out_of_range = await live.answer(path, params={"entries": 5, "hold": 2})
        seen["refused"] = [(r.status_code, r.json()["detail"]) for r in (unknown, out_of_range)]
        seen["off"] = await live.post(path, params={"entries": 0})
        seen["new_entries"] = await _no_entry_for(live, 6)
        seen["positions_off"] = await live.flat()
        count = len(_entries(await live.ledger()))
        seen["on"] = await live.post(path, params={"entries": 1})
        await live.until_ledger(lambda led: len(_entries(led)) > count, "an entry after 'on'")

    live = await _operate(shared_data, tmp_path, 3, operator, strategy=Tunable())
    [(unknown_status, unknown), (range_status, out_of_range)] = seen["refused"]
    assert unknown_status == 400
    assert "nope" in unknown
    assert range_status == 400
    assert "entries" in out_of_range
    # The refusals changed nothing: the first accepted change starts from the declared values.
    assert seen["off"]["values"] == {"hold": 3, "entries": 0}
    assert seen["new_entries"] == set(), "an entry reached the venue with entries off"
    assert seen["positions_off"] == []  # the exit still went out and filled
    assert seen["on"]["values"] == {"hold": 3, "entries": 1}
    actions = [(r["action"], r["outcome"][:7])
               for r in reversed(live.ops.facade.operator_actions(10))]  # type: ignore[union-attr]  # fmt: skip
    assert actions == [("set_params", "refused"), ("set_params", "refused"),
                       ("set_params", "paramet"), ("set_params", "paramet")]  # fmt: skip


@pytest.mark.slow
async def test_reload_applies_reloadable_keys_and_refuses_others_by_name(
    shared_data: Path, tmp_path: Path
) -> None:
    bots = (tmp_path / "bots").as_posix()
    path = tmp_path / "tradewind.toml"

    def write(level: str, bots_dir: str = bots, extra: str = "") -> None:
        path.write_text(f'[database]\nbots_dir = "{bots_dir}"\n\n[log]\nlevel = "{level}"\n{extra}')

    write("INFO")
    logger = logging.getLogger("tradewind")
    level_before = logger.level
    seen: dict[str, Any] = {}

    async def operator(live: Live) -> None:
        await live.connect(scopes=("admin",))
        await live.until_long()
        write("DEBUG")
        seen["applied"] = await live.post("config/reload")
        seen["level_applied"] = logger.level
        write("WARNING", bots_dir=(tmp_path / "elsewhere").as_posix())
        seen["not_reloadable"] = await live.answer("config/reload")
        write("WARNING", extra="bogus_key = 1\n")
        seen["invalid"] = await live.answer("config/reload")
        seen["level_after"] = logger.level
        assert live.ops.facade is not None
        seen["config"] = live.ops.facade.config
        # The bot trades on: the position's exit and the next entry reach the simulator.
        count = len(_entries(await live.ledger()))
        await live.until_ledger(lambda led: len(_entries(led)) > count, "the next entry")

    try:
        live = await _operate(shared_data, tmp_path, 3, operator,
                              app_config=load_config(path), config_path=path)  # fmt: skip
    finally:
        logger.setLevel(level_before)
    assert seen["applied"]["applied"] == ["log.level"]
    assert seen["level_applied"] == logging.DEBUG
    refused = seen["not_reloadable"]
    assert refused.status_code == 400
    assert "database.bots_dir" in refused.json()["detail"]
    assert "log.level" not in refused.json()["detail"].split(";")[0]  # only the refused keys named
    invalid = seen["invalid"]
    assert invalid.status_code == 400
    assert "bogus_key" in invalid.json()["detail"]
    # Neither refused file applied anything: the level stays the reloaded one, the config too.
    assert seen["level_after"] == logging.DEBUG
    assert seen["config"].log.level == "DEBUG"
    assert seen["config"].database.bots_dir == bots
    actions = [(r["action"], r["outcome"][:7])
               for r in reversed(live.ops.facade.operator_actions(10))]  # type: ignore[union-attr]  # fmt: skip
    assert actions == [("reload_config", "applied"), ("reload_config", "refused"),
                       ("reload_config", "refused")]  # fmt: skip


@pytest.mark.slow
async def test_risk_limits_set_through_the_api_gate_entries_at_the_venue(
    shared_data: Path, tmp_path: Path
) -> None:
    seen: dict[str, Any] = {}

    async def operator(live: Live) -> None:
        await live.connect(scopes=("admin",))
        await live.until_long()
        fixed = await live.answer("risk/limits", limits={"correlation_window": 50})
        seen["fixed"] = (fixed.status_code, fixed.json()["detail"])
        seen["closed"] = await live.post("risk/limits", limits={"max_positions": 0})
        seen["new_entries"] = await _no_entry_for(live, 6)
        seen["positions_closed"] = await live.flat()
        count = len(_entries(await live.ledger()))
        seen["open"] = await live.post("risk/limits", limits={"max_positions": 1})
        await live.until_ledger(lambda led: len(_entries(led)) > count, "an entry after reopening")

    risk = parse_risk({"limits": {"max_positions": 1}})
    live = await _operate(shared_data, tmp_path, 3, operator, risk=risk)
    status, detail = seen["fixed"]
    assert status == 400
    assert "correlation_window" in detail
    assert seen["closed"]["applied"] == {"max_positions": 0}
    assert seen["new_entries"] == set(), "an entry reached the venue with max_positions 0"
    assert seen["positions_closed"] == []  # the exit is not an entry: it went out and filled
    assert seen["open"]["applied"] == {"max_positions": 1}
    actions = [(r["action"], r["outcome"][:7])
               for r in reversed(live.ops.facade.operator_actions(10))]  # type: ignore[union-attr]  # fmt: skip
    assert actions == [("set_risk_limits", "refused"), ("set_risk_limits", "limits "),
                       ("set_risk_limits", "limits ")]  # fmt: skip
