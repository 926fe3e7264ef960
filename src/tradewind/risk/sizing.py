"""Position sizing models: how much to buy or sell for one entry.

Each model is a small frozen class with one method, :meth:`SizingModel.notional`, that turns a
:class:`SizingInput` (equity, price, planned stop, ATR, confidence, the strategy's own closed
trades...) into the quote-currency value of the position to open. The gate then applies the
portfolio limits, converts the value to a quantity at the reference price, rounds it down to the
instrument's lot step and checks the minimum amount and notional (:func:`to_quantity`).

Formulas (``E`` equity, ``P`` reference price, ``S`` planned stop):

- fixed quote amount: ``amount``
- fixed fraction: ``E x fraction``
- fixed risk: ``E x risk x P / |P - S|`` (losing ``risk x E`` if the stop is hit)
- Kelly: ``E x min(cap, max(0, k x (W - (1 - W) / R)))`` from the win rate ``W`` and payoff ``R``
- optimal f (Vince): ``E x min(cap, f* / |worst|)`` with ``f*`` maximising the terminal wealth
  relative over the trade history
- volatility target: ``E x min(cap, target / (ATR / P))``
- risk parity: ``E x budget x (1 / v_new) / sum(1 / v_i)`` over the open positions and the new one
- confidence-scaled: ``E x (floor + (cap - floor) x confidence)``
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from tradewind.core.errors import UserError
from tradewind.core.instrument import Instrument
from tradewind.core.money import ZERO, floor_to_step, to_decimal
from tradewind.risk.stake import Stake, StakeKind


@dataclass(frozen=True, slots=True, kw_only=True)
class SizingInput:
    """What a sizing model may look at when one entry is sized.

    ``trade_returns`` are the strategy's own closed trades as fractions of their entry value (net
    of fees), oldest first. ``volatility`` is the new symbol's ATR as a fraction of its price;
    ``open_volatilities`` the same for each open position (risk parity).
    """

    equity: Decimal
    free: Decimal
    price: Decimal
    stop_price: Decimal | None = None
    atr: float | None = None
    confidence: float | None = None
    trade_returns: tuple[float, ...] = ()
    volatility: float | None = None
    open_volatilities: tuple[float, ...] = ()


class SizingModel(Protocol):
    """A sizing rule: the quote value of a new position, or ``None`` with a reason it cannot size."""

    by_quote: bool
    """True when the venue should size the order by quote amount at the fill price (stakes)."""

    def notional(self, data: SizingInput) -> tuple[Decimal | None, str]:
        """The position's value in quote currency, or ``(None, reason)``."""
        ...


def _fraction(value: float, name: str, *, upper: float = 1.0) -> None:
    if not (0.0 < value <= upper) or math.isnan(value):
        raise UserError(f"{name} must be in (0, {upper}], got {value}")


@dataclass(frozen=True, slots=True)
class StakeSizing:
    """The engine's stake rule as a sizing model: all free cash, a percent of equity (capped by the
    free cash), or a fixed quote amount, sized by quote amount at the fill price."""

    stake: Stake
    by_quote: bool = True

    def notional(self, data: SizingInput) -> tuple[Decimal | None, str]:
        """``free`` (all), ``min(E x percent, free)`` or the amount."""
        if self.stake.kind is StakeKind.ALL:
            return data.free, ""
        if self.stake.kind is StakeKind.PERCENT:
            return min(data.equity * self.stake.value, data.free), ""
        return self.stake.value, ""


@dataclass(frozen=True, slots=True)
class FixedQuote:
    """A fixed amount of quote currency per entry: ``notional = amount``."""

    amount: Decimal
    by_quote: bool = False

    def __post_init__(self) -> None:
        if self.amount <= 0:
            raise UserError(f"fixed quote amount must be positive, got {self.amount}")

    def notional(self, data: SizingInput) -> tuple[Decimal | None, str]:
        """The configured amount."""
        return self.amount, ""


@dataclass(frozen=True, slots=True)
class FixedFraction:
    """A fixed fraction of equity per entry: ``notional = E x fraction``."""

    fraction: float
    by_quote: bool = False

    def __post_init__(self) -> None:
        _fraction(self.fraction, "fixed fraction", upper=100.0)

    def notional(self, data: SizingInput) -> tuple[Decimal | None, str]:
        """``E x fraction``."""
        return data.equity * to_decimal(self.fraction), ""


@dataclass(frozen=True, slots=True)
class FixedRisk:
    """Risk a fixed fraction of equity to the stop: ``qty = E x risk / |P - S|``, so
    ``notional = E x risk x P / |P - S|``. Needs a planned stop."""

    risk: float
    by_quote: bool = False

    def __post_init__(self) -> None:
        _fraction(self.risk, "fixed risk")

    def notional(self, data: SizingInput) -> tuple[Decimal | None, str]:
        """``E x risk x P / |P - S|``; ``None`` without a stop or with the stop at the price."""
        if data.stop_price is None:
            return None, "fixed-risk sizing needs a stop: set a stop rule (stop_pct or stop_atr)"
        distance = abs(data.price - data.stop_price)
        if distance == 0:
            return None, "the stop is at the entry price: the risk per unit is zero"
        return data.equity * to_decimal(self.risk) * data.price / distance, ""


@dataclass(frozen=True, slots=True)
class Kelly:
    """Fractional, capped Kelly from the strategy's own closed trades.

    Over the last ``window`` trade returns: win rate ``W``, payoff ``R = mean(win) / |mean(loss)|``,
    Kelly fraction ``f* = W - (1 - W) / R``; ``notional = E x min(cap, max(0, fraction x f*))``.
    With fewer than ``min_trades`` trades (or no loss yet to measure the payoff), ``fallback``
    sizes instead.
    """

    fraction: float = 0.5
    cap: float = 0.25
    min_trades: int = 30
    window: int = 100
    fallback: SizingModel = field(default_factory=lambda: FixedFraction(0.02))
    by_quote: bool = False

    def __post_init__(self) -> None:
        _fraction(self.fraction, "kelly fraction")
        _fraction(self.cap, "kelly cap", upper=100.0)
        if self.min_trades < 2 or self.window < self.min_trades:
            raise UserError("kelly needs min_trades >= 2 and window >= min_trades")

    def kelly_fraction(self, returns: tuple[float, ...]) -> float | None:
        """``f*`` of the last ``window`` returns, or ``None`` below the minimum sample."""
        recent = returns[-self.window :]
        wins = [r for r in recent if r > 0]
        losses = [r for r in recent if r < 0]
        if len(recent) < self.min_trades or not losses:
            return None
        win_rate = len(wins) / len(recent)
        if not wins:
            return 0.0
        payoff = (sum(wins) / len(wins)) / abs(sum(losses) / len(losses))
        return win_rate - (1.0 - win_rate) / payoff

    def notional(self, data: SizingInput) -> tuple[Decimal | None, str]:
        """``E x min(cap, max(0, fraction x f*))``, or the fallback below the sample."""
        f_star = self.kelly_fraction(data.trade_returns)
        if f_star is None:
            return self.fallback.notional(data)
        share = min(self.cap, max(0.0, self.fraction * f_star))
        return data.equity * to_decimal(share), "" if share > 0 else "kelly: no edge (f* <= 0)"


@dataclass(frozen=True, slots=True)
class OptimalF:
    """Vince's optimal f from the trade history.

    With trade returns ``r_i`` and the worst one ``w < 0``, the holding-period return of trade ``i``
    at fraction ``f`` is ``1 + f x r_i / |w|``; ``f*`` maximises their product (the terminal
    wealth relative) over ``f`` in ``(0, 1]`` on a grid of ``steps``. The position then loses ``f*``
    of equity if the worst trade repeats: ``notional = E x min(cap, f* / |w|)``. Below
    ``min_trades`` (or with no losing trade), ``fallback`` sizes instead.
    """

    min_trades: int = 30
    window: int = 200
    cap: float = 1.0
    steps: int = 100
    fallback: SizingModel = field(default_factory=lambda: FixedFraction(0.02))
    by_quote: bool = False

    def __post_init__(self) -> None:
        _fraction(self.cap, "optimal-f cap", upper=100.0)
        if self.min_trades < 2 or self.window < self.min_trades or self.steps < 2:
            raise UserError("optimal f needs min_trades >= 2, window >= min_trades, steps >= 2")

    def optimal_f(self, returns: tuple[float, ...]) -> tuple[float, float] | None:
        """``(f*, worst)`` of the last ``window`` returns, or ``None`` below the sample."""
        recent = returns[-self.window :]
        if len(recent) < self.min_trades:
            return None
        worst = min(recent)
        if worst >= 0:
            return None
        best_f, best_log = 0.0, 0.0  # f = 0 keeps wealth: log TWR 0
        for k in range(1, self.steps + 1):
            f = k / self.steps
            total = 0.0
            for r in recent:
                hpr = 1.0 + f * r / abs(worst)
                if hpr <= 0.0:
                    total = -math.inf
                    break
                total += math.log(hpr)
            if total > best_log:
                best_f, best_log = f, total
        return best_f, worst

    def notional(self, data: SizingInput) -> tuple[Decimal | None, str]:
        """``E x min(cap, f* / |worst|)``, or the fallback below the sample."""
        found = self.optimal_f(data.trade_returns)
        if found is None:
            return self.fallback.notional(data)
        f_star, worst = found
        share = min(self.cap, f_star / abs(worst))
        return data.equity * to_decimal(share), "" if share > 0 else "optimal f: no edge (f* = 0)"


@dataclass(frozen=True, slots=True)
class VolatilityTarget:
    """Size inversely to ATR%: ``notional = E x min(cap, target / (ATR / P))``.

    ``target`` is the fraction of equity one ATR move should cost (0.01: a one-ATR move is 1%).
    """

    target: float = 0.01
    cap: float = 1.0
    by_quote: bool = False

    def __post_init__(self) -> None:
        _fraction(self.target, "volatility target")
        _fraction(self.cap, "volatility cap", upper=100.0)

    def notional(self, data: SizingInput) -> tuple[Decimal | None, str]:
        """``E x min(cap, target x P / ATR)``; ``None`` while ATR is unknown (warm-up)."""
        if data.atr is None or not math.isfinite(data.atr) or data.atr <= 0:
            return None, "volatility sizing needs the ATR, which is not known yet (warm-up)"
        atr_pct = data.atr / float(data.price)
        share = min(self.cap, self.target / atr_pct)
        return data.equity * to_decimal(share), ""


@dataclass(frozen=True, slots=True)
class RiskParity:
    """Inverse-volatility weights across the open positions and the new one:
    ``notional = E x budget x (1 / v_new) / (1 / v_new + sum_i 1 / v_i)``, ``v`` = ATR / price."""

    budget: float = 1.0
    by_quote: bool = False

    def __post_init__(self) -> None:
        _fraction(self.budget, "risk-parity budget", upper=100.0)

    def notional(self, data: SizingInput) -> tuple[Decimal | None, str]:
        """The new position's inverse-volatility share of ``E x budget``."""
        vols = (data.volatility, *data.open_volatilities)
        if any(v is None or not math.isfinite(v) or v <= 0 for v in vols):
            return None, "risk-parity sizing needs the volatility of every position (warm-up)"
        inverse = [1.0 / float(v) for v in vols if v is not None]
        weight = inverse[0] / sum(inverse)
        return data.equity * to_decimal(self.budget * weight), ""


@dataclass(frozen=True, slots=True)
class ConfidenceScaled:
    """A signal's confidence ``c`` in [0, 1] scales the fraction of equity between a floor and a
    cap: ``notional = E x (floor + (cap - floor) x c)``. An intent without a confidence gets the
    floor (the cautious reading)."""

    floor: float = 0.01
    cap: float = 0.1
    by_quote: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.floor <= self.cap:
            raise UserError(
                f"confidence sizing needs 0 <= floor <= cap, got {self.floor}, {self.cap}"
            )
        _fraction(self.cap, "confidence cap", upper=100.0)

    def notional(self, data: SizingInput) -> tuple[Decimal | None, str]:
        """``E x (floor + (cap - floor) x c)``."""
        c = 0.0 if data.confidence is None else min(max(data.confidence, 0.0), 1.0)
        floor, cap = to_decimal(self.floor), to_decimal(self.cap)
        return data.equity * (floor + (cap - floor) * to_decimal(c)), ""


def to_quantity(notional: Decimal, price: Decimal, instrument: Instrument) -> tuple[Decimal, str]:
    """Base quantity for ``notional`` at ``price``, rounded down to the lot step.

    Returns ``(quantity, "")`` or ``(0, code)`` where the code names the filter it fails:
    ``sizing.below_lot``, ``sizing.below_min_amount`` or ``sizing.below_min_notional``.
    """
    if price <= 0:
        return ZERO, "sizing.no_price"
    quantity = floor_to_step(notional / (price * instrument.contract_size), instrument.amount_step)
    if quantity <= 0:
        return ZERO, "sizing.below_lot"
    if instrument.min_amount is not None and quantity < instrument.min_amount:
        return ZERO, "sizing.below_min_amount"
    if instrument.min_notional is not None and instrument.notional(quantity, price) < (
        instrument.min_notional
    ):
        return ZERO, "sizing.below_min_notional"
    return quantity, ""
