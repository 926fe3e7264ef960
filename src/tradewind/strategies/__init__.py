"""Strategies: the base class, declared parameters, signals, the registry and the built-ins."""

from tradewind.strategies.base import (
    ReservedNameError,
    Signals,
    Strategy,
    StrategyContext,
    crossed_above,
    crossed_below,
    require,
)
from tradewind.strategies.params import Param
from tradewind.strategies.registry import get_strategy, load_strategy, register, registered_names

__all__ = [
    "Param",
    "ReservedNameError",
    "Signals",
    "Strategy",
    "StrategyContext",
    "crossed_above",
    "crossed_below",
    "get_strategy",
    "load_strategy",
    "register",
    "registered_names",
    "require",
]
