"""A binding: one strategy trading one symbol, with its precomputed signal arrays.

The runner visits the bars a binding can act on (:meth:`Binding.signal_bars`); at such a bar the
Node turns the signals into intents (:meth:`Binding.signal_intents`), or calls the strategy's
per-bar hook through the strategy host.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from tradewind.core.intents import Intent, IntentAction
from tradewind.series.bars import BarSeries, BoolArray
from tradewind.strategies.base import Strategy


@dataclass(eq=False)
class Binding:
    """One strategy trading one symbol, with its precomputed signal arrays.

    ``start`` is the first bar on which it may act (warm-up and ``--from`` before it are history
    only). ``confidence`` (optional, floats in [0, 1], NaN for none) goes with each entry signal to
    the risk gate's confidence sizing.
    """

    strategy: Strategy
    strategy_id: str
    bars: BarSeries
    entry_long: BoolArray
    exit_long: BoolArray
    entry_short: BoolArray
    exit_short: BoolArray
    start: int = 0
    callback: bool = False
    confidence: npt.NDArray[np.float64] | None = None

    @property
    def symbol(self) -> str:
        """The symbol this binding trades."""
        return self.bars.symbol

    def signal_bars(self) -> np.ndarray:
        """Indices of the bars at which a signal can produce an intent (or every bar, for hooks)."""
        n = len(self.bars)
        if self.callback:
            return np.arange(self.start, n, dtype=np.int64)
        any_signal = self.entry_long | self.exit_long | self.entry_short | self.exit_short
        hits = np.flatnonzero(any_signal)
        return hits[hits >= self.start].astype(np.int64)

    def signal_intents(self, i: int, held: Decimal, ts: int) -> list[Intent]:
        """The intents the signals at bar ``i`` give, for a position of ``held`` (signed)."""
        exit_long = bool(self.exit_long[i])
        enter_long = bool(self.entry_long[i]) and not exit_long
        enter_short = bool(self.entry_short[i] and not self.exit_short[i])
        actions: list[IntentAction] = []
        if held > 0 and exit_long:
            actions.append(IntentAction.EXIT_LONG)
            if enter_short:
                actions.append(IntentAction.ENTER_SHORT)  # a reversal, after the exit fills
        elif held < 0 and self.exit_short[i]:
            actions.append(IntentAction.EXIT_SHORT)
            if enter_long:
                actions.append(IntentAction.ENTER_LONG)
        elif held == 0:
            if enter_long:
                actions.append(IntentAction.ENTER_LONG)
            elif enter_short:
                actions.append(IntentAction.ENTER_SHORT)
        confidence = None
        if self.confidence is not None:
            value = float(self.confidence[i])
            confidence = None if math.isnan(value) else value
        return [
            Intent(
                strategy_id=self.strategy_id,
                symbol=self.symbol,
                action=action,
                ts=ts,
                reason="signal",
                confidence=None if action.is_exit else confidence,
            )
            for action in actions
        ]


@dataclass
class DenialRecord:
    """An intent the gate denied, kept for the report."""

    ts: int
    strategy_id: str
    symbol: str
    action: IntentAction
    reason: str
    code: str = ""
