"""Turn long-only entry/exit flags into signals, optionally mirrored for shorts."""

from __future__ import annotations

from tradewind.strategies.base import BoolArray, Signals


def long_short(entry: BoolArray, exit_: BoolArray, *, short: bool) -> Signals:
    """Long on ``entry``, flat on ``exit_``; with ``short``, also short on ``exit_`` and cover on ``entry``."""
    if not short:
        return Signals(entry_long=entry, exit_long=exit_)
    return Signals(entry_long=entry, exit_long=exit_, entry_short=exit_, exit_short=entry)
