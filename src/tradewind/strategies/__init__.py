"""Strategies: the base class, declared parameters, signals, the registry and the built-ins."""

from tradewind.strategies.base import Param, Signals, Strategy, StrategyContext
from tradewind.strategies.registry import get_strategy, load_strategy, register, registered_names

__all__ = [
    "Param",
    "Signals",
    "Strategy",
    "StrategyContext",
    "get_strategy",
    "load_strategy",
    "register",
    "registered_names",
]
