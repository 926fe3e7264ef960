"""What a backtest runs: one frozen, keyword-only :class:`BacktestSpec` of small frozen configs.

:func:`tradewind.backtest.api.run` takes a spec; the ``tradewind.backtest(...)`` convenience call
builds one from its keyword arguments. Each config holds one concern (the account, the fill model,
the costs, the risk rules, the extra feeds, the market and the trading window), so a caller varies
one of them with :func:`dataclasses.replace` and keeps the rest.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Literal

import pandas as pd

from tradewind.book.stream import DecodedBookStream
from tradewind.book.tape import QuoteTape, TradeTape
from tradewind.core.algo_spec import AlgoSpec
from tradewind.core.errors import UserError
from tradewind.core.instrument import Instrument
from tradewind.engine.node import StrategyErrorPolicy
from tradewind.risk.config import RiskConfig
from tradewind.venues.sim import FillModel

Engine = Literal["event", "kernel"]


@dataclass(frozen=True, kw_only=True)
class Account:
    """The account: starting cash in the quote currency, the stake per entry (``"all"``, a
    percent of equity such as ``"25%"``, or a quote amount) and the perpetuals' leverage (one
    number, or per symbol; 1 when None)."""

    cash: float | Decimal | str = 100_000
    stake: str | float | Decimal = "all"
    leverage: float | Mapping[str, float] | None = None


@dataclass(frozen=True, kw_only=True)
class Costs:
    """Costs beyond the fill model: the fee per side as a fraction (None keeps each
    instrument's own fees) and the funding-rate series per perpetual (a DataFrame with a UTC
    ``date`` column or index and a ``rate`` column, optionally ``mark``)."""

    fee: float | Decimal | str | None = None
    funding: Mapping[str, pd.DataFrame] | None = None


@dataclass(frozen=True, kw_only=True)
class Feeds:
    """Feeds beside the bars: public trades per symbol (shown to ``on_trade``) and L2 depth per
    symbol (kept as a live book, shown to ``on_book``, walked by market orders when the fill
    model's ``book_walk`` is set)."""

    trades: Mapping[str, TradeTape] | None = None
    books: Mapping[str, DecodedBookStream | QuoteTape] | None = None


@dataclass(frozen=True, kw_only=True)
class MarketSpec:
    """Which market the data is: the symbol of a single DataFrame (``ASSET/USD`` by default), the
    bar length (inferred from the timestamps when None) and the instrument per symbol (by default
    a spot instrument with the tick inferred from the prices)."""

    symbol: str | None = None
    timeframe: str | None = None
    instruments: Mapping[str, Instrument] | None = None


@dataclass(frozen=True, kw_only=True)
class Window:
    """Trade only between ``start`` and ``end`` (UTC); earlier data stays as indicator warm-up,
    and nothing after ``end`` is known to the run."""

    start: str | datetime | None = None
    end: str | datetime | None = None


@dataclass(frozen=True, kw_only=True)
class BacktestSpec:
    """Everything a backtest runs with, apart from the strategy and the data.

    ``engine`` is ``"event"`` (the full engine, the truth) or ``"kernel"`` (the compiled
    screening kernel, which refuses by name what it cannot express); ``risk`` None keeps the
    plain stake gate; ``on_strategy_error`` says what follows a strategy's exception in a hook
    (event engine: ``"keep"``, ``"flatten"`` or ``"halt_all"``); ``execution`` is the algorithm
    that carries out every market intent naming none (event engine; None: plain orders).
    """

    account: Account = field(default_factory=Account)
    fill: FillModel = field(default_factory=FillModel)
    costs: Costs = field(default_factory=Costs)
    risk: RiskConfig | None = None
    feeds: Feeds = field(default_factory=Feeds)
    market: MarketSpec = field(default_factory=MarketSpec)
    window: Window = field(default_factory=Window)
    engine: Engine = "event"
    on_strategy_error: StrategyErrorPolicy = "keep"
    execution: AlgoSpec | None = None

    def __post_init__(self) -> None:
        if self.engine not in ("event", "kernel"):
            raise UserError(f"unknown engine {self.engine!r}: use 'event' or 'kernel'")
        if self.engine == "kernel" and self.execution is not None:
            raise UserError(
                "engine 'kernel' fills whole orders at bar prices: execution algorithms "
                "(--execution) run in the event engine"
            )
