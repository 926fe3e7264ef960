"""Strategy parameters, the registry, user strategy files, and causality of every built-in."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tradewind.core.errors import UserError
from tradewind.core.timeframe import Timeframe
from tradewind.series.bars import BarSeries
from tradewind.strategies import (
    Param,
    ReservedNameError,
    Signals,
    Strategy,
    get_strategy,
    load_strategy,
    registered_names,
)

BUILTINS = [
    "bb_rsi_meanrev",
    "donchian_breakout",
    "ema_cross",
    "macd_adx_trend",
    "sma_cross",
    "supertrend_follow",
]


@pytest.fixture(scope="module")
def bars(shared_data: Path) -> BarSeries:
    frame = pd.read_csv(shared_data / "candles" / "btc-perp-20211231-20220201_1m.csv", nrows=4000)
    frame["date"] = pd.to_datetime(frame.pop("timestamp"), utc=True)
    return BarSeries.from_frame(frame, "BTC/USD", Timeframe.parse("1m"))


def test_every_builtin_is_registered() -> None:
    assert set(BUILTINS) <= set(registered_names())


def test_parameters_are_declared_typed_and_checked() -> None:
    cls = get_strategy("sma_cross")
    assert cls.parameters()["fast"].default == 10
    assert cls(fast="5", slow=20).fast == 5
    with pytest.raises(UserError, match=r"no parameter 'fsat' \(did you mean 'fast'\?\)"):
        cls(fsat=5)
    with pytest.raises(UserError, match="parameter 'fast' must be int, got 'x'"):
        cls(fast="x")
    with pytest.raises(UserError, match="parameter 'slow' must be <= 500, got 900"):
        cls(slow=900)
    with pytest.raises(UserError, match=r"fast \(40\) must be below slow \(30\)"):
        cls(fast=40)


def test_unknown_strategy_name_suggests_the_closest() -> None:
    with pytest.raises(UserError, match="did you mean 'sma_cross'"):
        get_strategy("sma_crss")


def test_user_strategy_file_loads_and_broken_files_name_file_and_line(tmp_path: Path) -> None:
    good = tmp_path / "mine.py"
    good.write_text(
        "from tradewind.strategies import Signals, Strategy, Param\n"
        "class Mine(Strategy):\n"
        "    name = 'mine'\n"
        "    period = Param(5, low=2, high=50)\n"
        "    def signals(self, bars):\n"
        "        return Signals(entry_long=bars.close > bars.open, exit_long=bars.close < bars.open)\n"
    )
    assert load_strategy(f"{good}:Mine")(period=7).period == 7
    broken = tmp_path / "broken.py"
    broken.write_text("x = 1\ndef f(:\n    pass\n")
    with pytest.raises(UserError, match=rf"{broken}:2: syntax error"):
        load_strategy(f"{broken}:Mine")
    failing = tmp_path / "failing.py"
    failing.write_text("import math\n\nvalue = math.sqrt(-1)\n")
    with pytest.raises(
        UserError, match=rf"{failing}:3: strategy file failed to import: ValueError"
    ):
        load_strategy(f"{failing}:Mine")
    with pytest.raises(UserError, match="has no Strategy subclass named 'Nope'; found: Mine"):
        load_strategy(f"{good}:Nope")


PARAMS_AS_DICT = """
from tradewind.strategies import Signals, Strategy

class DictParams(Strategy):
    name = "dict_params"
    params = {"fast": 10, "slow": 30}

    def signals(self, bars):
        return Signals(entry_long=bars.close > bars.open)
"""


def test_a_params_dict_is_refused_by_name_with_file_and_line(tmp_path: Path) -> None:
    # Before: the dict replaced the `params` property and the strategy ran with no parameters.
    script = tmp_path / "dict_params.py"
    script.write_text(PARAMS_AS_DICT)
    with pytest.raises(ReservedNameError) as caught:
        load_strategy(f"{script}:DictParams")
    message = str(caught.value)
    assert message.startswith(f"{script}:4: strategy class DictParams sets 'params' to a dict")
    assert "declare each parameter as a class attribute" in message
    assert "Param(10" in message


@pytest.mark.parametrize("reserved", ["id", "params", "signals", "warmup", "name", "validate"])
def test_a_parameter_under_a_reserved_name_is_refused(reserved: str) -> None:
    with pytest.raises(ReservedNameError, match=f"parameter named '{reserved}'"):
        type("Clash", (Strategy,), {reserved: Param(3, low=1, high=9)})


def test_reserved_values_of_the_wrong_kind_are_refused_and_overrides_still_work() -> None:
    with pytest.raises(ReservedNameError, match="'name' to int; it must be a str"):
        type("BadName", (Strategy,), {"name": 5})
    with pytest.raises(ReservedNameError, match="'indicators' to a list"):
        type("BadIndicators", (Strategy,), {"indicators": []})

    class Fine(Strategy):
        """Overrides hooks and properties, and sets the warm-up as a plain number."""

        name = "fine"
        warmup = 12
        period = Param(4, low=2, high=9)

        def signals(self, bars: BarSeries) -> Signals:
            return Signals(entry_long=bars.close > bars.open)

    assert Fine(period=5).params == {"period": 5}
    assert Fine().warmup == 12


@pytest.mark.parametrize("name", BUILTINS)
def test_builtin_signals_are_causal(name: str, bars: BarSeries) -> None:
    """Signals at t from bars[:t+1] equal signals at t from the whole series."""
    strategy = get_strategy(name)(short=True)
    full = strategy.signals(bars).arrays(len(bars))
    fired = np.flatnonzero(full[0] | full[1] | full[2] | full[3])
    assert fired.size > 5, f"{name} never fires on 4,000 real bars"
    rng = np.random.default_rng(7)
    sample = sorted(
        {int(t) for t in rng.choice(np.arange(strategy.warmup, len(bars)), 25)}
        | set(fired[:5].tolist())
    )
    for t in sample:
        head = strategy.signals(bars.head(t + 1)).arrays(t + 1)
        for k in range(4):
            assert head[k][t] == full[k][t], f"{name}: signal {k} at bar {t} depends on later bars"
