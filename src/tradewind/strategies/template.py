"""The strategy a user starts from: ``tradewind strategies new NAME`` writes it, commented.

The template is a complete, working strategy (indicators, signals, parameters with ranges,
warm-up, a parameter check and two event hooks), causal by construction, so it backtests and
passes ``tradewind lookahead`` as written; a test holds it to that.
"""

from __future__ import annotations

import keyword
import re
from string import Template

from tradewind.core.errors import UserError

_NAME = re.compile(r"[a-z][a-z0-9_]*")

_TEMPLATE = Template('''"""$name: an EMA trend follower with an RSI filter and an optional time stop.

Written by `tradewind strategies new $name`; edit it freely.

    tradewind backtest -s $file:$class_name                # the bundled BTC month
    tradewind backtest -s $file:$class_name -p fast=8 -p hold_hours=12
    tradewind lookahead -s $file:$class_name               # proves the signals are causal
"""

from __future__ import annotations

from tradewind.series.bars import BarSeries, FloatArray
from tradewind.core.intents import IntentAction
from tradewind.core.orders import Fill
from tradewind.indicators import ema, rsi
from tradewind.strategies import (
    Param,
    Signals,
    Strategy,
    StrategyContext,
    crossed_above,
    crossed_below,
    require,
)


class $class_name(Strategy):
    """Long when EMA(fast) crosses above EMA(slow) while RSI is below rsi_max; out when it
    crosses back below, or hold_hours after the entry fills."""

    # The name the strategy reports under (ids, reports). A file's strategy is run as
    # `-s path/to/file.py:ClassName`; built-ins and installed plugins by this name.
    name = "$name"

    # Parameters are class attributes of type Param. The default's type is the parameter's type;
    # low/high bound what a user may set (`-p fast=8`) and what `tradewind optimize` searches.
    # Read them as attributes: self.fast is an int here. Names the base class uses itself
    # (params, id, signals, warmup, ...) are refused with ReservedNameError.
    fast = Param(12, low=2, high=100, doc="fast EMA period, bars")
    slow = Param(48, low=3, high=400, doc="slow EMA period, bars")
    rsi_period = Param(14, low=2, high=100, doc="RSI period, bars")
    rsi_max = Param(70.0, low=50.0, high=95.0, doc="no new entry while RSI is above this")
    hold_hours = Param(0, low=0, high=720, doc="exit this many hours after the entry (0: off)")

    def validate(self) -> None:
        """Relations between parameters; require() raises a one-line error for the user."""
        require(self.fast < self.slow, f"fast ({self.fast}) must be below slow ({self.slow})")

    @property
    def warmup(self) -> int:
        """Bars of history before the signals mean anything. An EMA needs a few periods to
        forget its seed, RSI (Wilder's smoothing) about five; the backtest loads this much
        history before --from, and `tradewind recursive` measures whether it is enough."""
        return max(3 * int(self.slow), 6 * int(self.rsi_period))

    def indicators(self, bars: BarSeries) -> dict[str, FloatArray]:
        """Named indicator columns, one value per bar, each using only bars up to its own.

        `bars` holds NumPy arrays: bars.ts (open time, UTC ms), bars.open, bars.high, bars.low,
        bars.close, bars.volume. Warm-up values are NaN. `tradewind lookahead` checks every
        column returned here and names any that uses the future.
        """
        return {
            "ema_fast": ema(bars.close, self.fast),
            "ema_slow": ema(bars.close, self.slow),
            "rsi": rsi(bars.close, self.rsi_period),
        }

    def signals(self, bars: BarSeries) -> Signals:
        """Entry and exit flags for every bar, computed once over the whole history.

        Each flag is known at its bar's close; the engine acts on it then (by default it fills
        at the next bar's open). Return bool arrays as long as `bars` (None means never).
        """
        lines = self.indicators(bars)
        fast, slow, strength = lines["ema_fast"], lines["ema_slow"], lines["rsi"]
        # NaN compares False, so no entry is taken during the warm-up.
        calm = strength < self.rsi_max
        return Signals(
            entry_long=crossed_above(fast, slow) & calm,
            exit_long=crossed_below(fast, slow),
        )

    # Event hooks are optional. on_fill and on_timer run only when something happens; on_bar
    # (not used here) would run at every bar, which is slower. Stops, take-profits and sizing
    # come from risk rules (--stop, --trailing, --risk-config), not from hooks.

    def on_fill(self, ctx: StrategyContext, fill: Fill) -> None:
        """After an entry fills, set a timer to leave hold_hours later."""
        if self.hold_hours > 0 and ctx.position(fill.symbol) > 0:
            ctx.set_timer(fill.ts + int(self.hold_hours) * 3_600_000, fill.symbol)

    def on_timer(self, ctx: StrategyContext, name: str) -> None:
        """The timer's name is the symbol; exit if the position is still open.

        When the exit signal fires on the same bar, both exits go out and the venue refuses the
        second (reduce-only, nothing left to reduce): the position is closed once either way."""
        if ctx.position(name) > 0:
            ctx.emit(name, IntentAction.EXIT_LONG, reason="time stop")
''')


def class_name_for(name: str) -> str:
    """``my_trend`` -> ``MyTrend``: the class name a strategy called ``name`` gets."""
    return "".join(part.capitalize() for part in name.split("_") if part)


def render_template(name: str, file_name: str | None = None) -> str:
    """The source of a new strategy called ``name`` (snake_case), class ``class_name_for(name)``.

    Raises
    ------
    UserError
        If ``name`` is not a lower-case Python identifier (letters, digits, underscores).
    """
    if not _NAME.fullmatch(name) or keyword.iskeyword(name) or not class_name_for(name):
        raise UserError(
            f"strategy name {name!r} must be lower-case letters, digits and underscores, "
            "starting with a letter (e.g. my_trend)"
        )
    return _TEMPLATE.substitute(
        name=name, class_name=class_name_for(name), file=file_name or f"{name}.py"
    )
