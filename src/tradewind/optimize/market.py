"""One symbol's candles with the account settings of a search: what every trial runs on.

The kernel and the event engine must see the same instrument (tick, lot, fees), cash, stake and
fill rule, or the top-N check would compare two different backtests. :func:`prepare_market`
resolves them once, the way :func:`tradewind.backtest.api.backtest` does, and hands the resolved
instrument back to the event engine on every re-run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from tradewind.backtest.inputs import (
    bar_series,
    funding_series,
    instruments_for,
    leverage_map,
    on_price_grid,
    parse_fraction,
    parse_positive,
)
from tradewind.backtest.kernel import funding_arrays, kernel_settings
from tradewind.backtest.spec import Account, BacktestSpec, Costs, MarketSpec, Window
from tradewind.core.errors import UserError
from tradewind.core.instrument import Instrument, MarketType
from tradewind.core.timeframe import Timeframe
from tradewind.risk.stake import Stake
from tradewind.series.bars import BarSeries
from tradewind.venues.sim.fill_model import FillAt, FillModel

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class Market:
    """Candles of one symbol and the account settings every trial of a search shares.

    Attributes
    ----------
    frame
        The candles as given (rows aligned with ``series``).
    series
        The same candles as arrays.
    instrument
        The resolved instrument (spot, fees applied), passed unchanged to the event engine.
    settings
        The screening kernel's settings vector for this instrument and account.
    cash, stake, fill, slippage_bps, volatility_slippage
        The account and fill settings, as :func:`tradewind.backtest.api.backtest` takes them.
    leverage
        The perpetual's leverage (1 on spot).
    funding
        The perpetual's funding-rate series (``date``, ``rate``), or None.
    """

    frame: pd.DataFrame
    series: BarSeries
    instrument: Instrument
    settings: FloatArray
    cash: Decimal
    stake: str
    fill: str
    slippage_bps: float
    volatility_slippage: float = 0.0
    leverage: Decimal = Decimal(1)
    funding: pd.DataFrame | None = None

    @property
    def symbol(self) -> str:
        """The traded symbol."""
        return self.series.symbol

    def __len__(self) -> int:
        return len(self.series)

    @property
    def two_sided(self) -> bool:
        """Whether trials need the margin kernel: leverage, volatility slippage or funding, which
        the long-only sweep (spot, or a 1x perpetual without funding) does not express."""
        return self.leverage != 1 or self.volatility_slippage != 0 or self.funding is not None

    def funding_arrays(
        self,
    ) -> tuple[FloatArray, FloatArray, FloatArray, IntArray]:
        """The kernel's funding arrays for these bars (empty without funding)."""
        found = None
        if self.funding is not None:
            found = funding_series({self.symbol: self.funding}, {self.symbol: self.series})
        return funding_arrays(self.series, (found or {}).get(self.symbol))

    def window(self, start: int, stop: int) -> Market:
        """Bars ``start`` to ``stop - 1`` with the same instrument and settings."""
        if not 0 <= start < stop <= len(self):
            raise UserError(f"window [{start}, {stop}) is outside the {len(self)} bars")
        return replace(
            self, frame=self.frame.iloc[start:stop], series=self.series.slice(start, stop)
        )

    def backtest_kwargs(self) -> dict[str, Any]:
        """Keyword arguments that make :func:`tradewind.backtest.api.backtest` run this market."""
        return {
            "cash": self.cash,
            "fee": None,  # the instrument already carries the fee
            "stake": self.stake,
            "fill": self.fill,
            "timeframe": str(self.series.timeframe),
            "instruments": {self.symbol: self.instrument},
            "slippage_bps": self.slippage_bps,
            "volatility_slippage": self.volatility_slippage,
            "leverage": self._leverage(),
            "funding": self._funding(),
        }

    def spec(self, *, start: pd.Timestamp | None = None) -> BacktestSpec:
        """The backtest spec that runs this market on the event engine, trading from ``start``."""
        return BacktestSpec(
            account=Account(cash=self.cash, stake=self.stake, leverage=self._leverage()),
            fill=self._fill_model(),
            costs=Costs(funding=self._funding()),
            market=MarketSpec(
                timeframe=str(self.series.timeframe), instruments={self.symbol: self.instrument}
            ),
            window=Window(start=start),
        )

    def _fill_model(self) -> FillModel:
        return FillModel(
            fill_at=FillAt(self.fill),
            slippage_bps=self.slippage_bps,
            volatility_slippage=self.volatility_slippage,
        )

    def _leverage(self) -> float | None:
        return None if self.instrument.is_spot else float(self.leverage)

    def _funding(self) -> dict[str, pd.DataFrame] | None:
        return None if self.funding is None else {self.symbol: self.funding}

    def period_ends(self, period: str, start: int = 0) -> IntArray:
        """Index of the last bar of every ``period`` (e.g. ``"1h"``) from bar ``start`` on.

        The per-period returns of a trial are taken between consecutive ends, the first from the
        close of bar ``start``. A period shorter than the bar length falls back to every bar.
        """
        step = max(Timeframe.parse(period).ms, self.series.timeframe.ms)
        bucket = self.series.ts[start:] // step
        ends = np.flatnonzero(bucket[1:] != bucket[:-1]) + start
        ends = np.append(ends, len(self) - 1).astype(np.int64)
        return ends[ends > start]


def prepare_market(
    frame: pd.DataFrame,
    *,
    symbol: str,
    timeframe: str | None = None,
    instruments: Mapping[str, Instrument] | None = None,
    cash: float | Decimal | str = 100_000,
    fee: float | Decimal | str | None = None,
    stake: str = "all",
    fill: str = "next_open",
    slippage_bps: float = 0.0,
    volatility_slippage: float = 0.0,
    leverage: float | Decimal | None = None,
    funding: pd.DataFrame | None = None,
    as_spot: bool = False,
) -> Market:
    """Resolve candles and account settings into a :class:`Market`.

    Parameters are those of :func:`tradewind.backtest.api.backtest`, for one symbol; with
    ``as_spot`` a perpetual's candles are traded as a spot market (no leverage, no funding).
    ``leverage`` (perpetuals only) and ``funding`` (a perpetual's ``date``/``rate`` frame) apply to
    every trial on both engines, as they apply to a backtest.

    Raises
    ------
    UserError
        Bad cash, fee, stake, fill, slippage or leverage (leverage on a spot market), or candles
        that cannot be read.
    """
    series = bar_series(frame, symbol, timeframe)
    fee_rate = None if fee is None else parse_fraction(fee, "fee")
    instrument = instruments_for({symbol: series}, instruments, fee_rate)[symbol]
    gridded = {symbol: series}
    on_price_grid(gridded, {symbol: instrument})
    series = gridded[symbol]
    if as_spot and instrument.market_type is not MarketType.SPOT:
        if leverage is not None and parse_positive(leverage, "leverage") != 1:
            raise UserError("--as-spot trades without leverage; drop one of them")
        instrument = replace(instrument, market_type=MarketType.SPOT, settle=None)
        funding = None
    amount = parse_positive(cash, "cash")
    try:
        model = FillModel(
            fill_at=FillAt(fill), slippage_bps=slippage_bps, volatility_slippage=volatility_slippage
        )
    except ValueError:
        raise UserError(f"fill must be 'next_open' or 'close', got {fill!r}") from None
    given = None if leverage is None else float(leverage)
    levered = leverage_map(given, {symbol: instrument}).get(symbol, Decimal(1))
    if instrument.is_spot:
        funding = None
    settings = kernel_settings(
        instrument, amount, Stake.parse(stake), model, series, leverage=levered
    ).vector()
    return Market(
        frame=frame,
        series=series,
        instrument=instrument,
        settings=settings,
        cash=amount,
        stake=stake,
        fill=fill,
        slippage_bps=slippage_bps,
        volatility_slippage=volatility_slippage,
        leverage=levered,
        funding=funding,
    )
