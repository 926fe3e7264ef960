"""Pick a built-in strategy by market regime: one for trends, one for ranges, and so on.

At every bar the regime classifier (:func:`~tradewind.indicators.regime.classify_regime`, causal)
names the market's condition; the strategy chosen for that condition is the one whose entries
and exits count at that bar. When the regime hands over to a different strategy, every position
is closed at that bar: a position opened by one strategy's rules is not left to another's exits.
``flat`` trades nothing in its regimes; while the classifier warms up nothing is traded.

The choice is by the classifier's rules, so it is the same in every run and mode; the ML study's
strategy-selection model (``tradewind ml evaluate --target strategy``) is judged there first.
"""

from __future__ import annotations

import numpy as np

from tradewind.indicators.regime import Regime, classify_regime
from tradewind.series.bars import BarSeries, BoolArray, FloatArray
from tradewind.strategies.base import Signals, Strategy
from tradewind.strategies.params import Param
from tradewind.strategies.registry import get_strategy, register

CHOICES = (
    "flat", "sma_cross", "ema_cross", "macd_adx_trend", "supertrend_follow", "donchian_breakout",
    "bb_rsi_meanrev",
)  # fmt: skip
REGIME_WARMUP = 520
"""Bars the classifier needs with its default periods (its 500-bar percentiles after a 20-bar
Bollinger band)."""


def _doc(regime: str) -> str:
    return f"built-in traded while the market is {regime} (or flat)"


@register
class RegimeSwitch(Strategy):
    """Trade the built-in chosen for the current market regime; close on every hand-over."""

    name = "regime_switch"
    description = "regime classifier picks among the built-ins (trend, range, volatile, quiet)"
    trending = Param("supertrend_follow", choices=CHOICES, doc=_doc("trending up or down"))
    ranging = Param("bb_rsi_meanrev", choices=CHOICES, doc=_doc("ranging"))
    volatile = Param("flat", choices=CHOICES, doc=_doc("volatile"))
    quiet = Param("flat", choices=CHOICES, doc=_doc("quiet"))
    short = Param(False, doc="let the chosen built-ins trade short too", shorts_only=True)

    def _chosen(self) -> dict[int, str]:
        return {
            Regime.TRENDING_UP: str(self.trending), Regime.TRENDING_DOWN: str(self.trending),
            Regime.RANGING: str(self.ranging), Regime.VOLATILE: str(self.volatile),
            Regime.QUIET: str(self.quiet),
        }  # fmt: skip

    def _members(self) -> dict[str, Strategy]:
        out: dict[str, Strategy] = {}
        for name in set(self._chosen().values()) - {"flat"}:
            cls = get_strategy(name)
            out[name] = cls(short=self.short) if "short" in cls.parameters() else cls()
        return out

    @property
    def warmup(self) -> int:
        """The classifier's warm-up or the slowest chosen built-in's, whichever is longer."""
        return max([REGIME_WARMUP, *(m.warmup for m in self._members().values())])

    def indicators(self, bars: BarSeries) -> dict[str, FloatArray]:
        """The regime code per bar (-1 while undefined) and which choice is active (-1 flat)."""
        regime = classify_regime(bars.high, bars.low, bars.close).astype(np.float64)
        active = np.full(len(bars), -1.0)
        for code, name in self._chosen().items():
            if name != "flat":
                active[regime == code] = CHOICES.index(name)
        return {"regime": regime, "active": active}

    def signals(self, bars: BarSeries) -> Signals:
        """The active built-in's signals; every position closed when the active one changes."""
        n = len(bars)
        active = self.indicators(bars)["active"]
        handover = np.zeros(n, dtype=np.bool_)
        handover[1:] = active[1:] != active[:-1]
        flags: list[BoolArray] = [np.zeros(n, dtype=np.bool_) for _ in range(4)]
        for name, member in self._members().items():
            mine = active == CHOICES.index(name)
            for k, values in enumerate(member.signals(bars).arrays(n)):
                flags[k] |= values & mine
        entry_long, exit_long, entry_short, exit_short = flags
        return Signals(
            entry_long=entry_long, exit_long=exit_long | handover,
            entry_short=entry_short if self.short else None,
            exit_short=(exit_short | handover) if self.short else None,
        )  # fmt: skip
