"""Tradewind: one engine for backtest, paper and live crypto trading.

``tradewind.backtest(...)`` is the Python API for notebooks and scripts (see
:func:`tradewind.backtest.api.backtest`; the :mod:`tradewind.backtest` package is callable as
that function); it is imported on first use so that ``import tradewind`` stays light.
"""

from __future__ import annotations

from typing import Any

from tradewind._jit_cache import refresh_stale_kernel_caches

# Before any kernel loads its cache: a cache compiled against older sources must not run.
refresh_stale_kernel_caches()

__version__ = "0.1.0"
__all__ = ["__version__", "backtest"]


def __getattr__(name: str) -> Any:
    if name == "backtest":
        # Importing the package sets this attribute: the next lookup does not come here.
        import tradewind.backtest as package

        return package
    raise AttributeError(f"module 'tradewind' has no attribute {name!r}")
