"""Backtests: the API, the spec, the inputs, the results and the kernel path.

``tradewind.backtest(...)`` is the convenience call for notebooks and scripts
(:func:`tradewind.backtest.api.backtest`): this package is callable as that function, so the name
means the same whether or not a submodule was imported. For many runs on the same data, build a
:class:`BacktestSpec`, :func:`prepare` it once and :func:`run` each strategy or parameter set.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from tradewind.backtest.api import PreparedRun, backtest, prepare, run
from tradewind.backtest.result import BacktestResult
from tradewind.backtest.spec import Account, BacktestSpec, Costs, Feeds, MarketSpec, Window

__all__ = [
    "Account",
    "BacktestSpec",
    "Costs",
    "Feeds",
    "MarketSpec",
    "PreparedRun",
    "Window",
    "backtest",
    "prepare",
    "run",
]


class _CallablePackage(types.ModuleType):
    """Importing a submodule sets ``tradewind.backtest`` to this package (Python's import
    system does), so the package itself answers the convenience call."""

    def __call__(self, *args: Any, **kwargs: Any) -> BacktestResult:
        return backtest(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
