"""Each sizing model against values worked out by hand (the arithmetic is in the comments)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tradewind.core.errors import UserError
from tradewind.core.instrument import Instrument
from tradewind.risk.sizing import (
    ConfidenceScaled,
    FixedFraction,
    FixedQuote,
    FixedRisk,
    Kelly,
    OptimalF,
    RiskParity,
    SizingInput,
    StakeSizing,
    VolatilityTarget,
    to_quantity,
)
from tradewind.risk.stake import Stake

D = Decimal
BASE = SizingInput(equity=D(10_000), free=D(8_000), price=D(50), stop_price=D(48))


def test_fixed_quote_and_fixed_fraction() -> None:
    assert FixedQuote(D(1500)).notional(BASE) == (D(1500), "")
    # 10,000 x 0.05 = 500
    assert FixedFraction(0.05).notional(BASE)[0] == D(500)


def test_stake_sizing_keeps_the_three_stake_rules() -> None:
    assert StakeSizing(Stake.parse("all")).notional(BASE)[0] == D(8000)
    # min(10,000 x 25%, free 8,000) = 2,500
    assert StakeSizing(Stake.parse("25%")).notional(BASE)[0] == D(2500)
    assert StakeSizing(Stake.parse("1000")).notional(BASE)[0] == D(1000)


def test_fixed_risk_loses_the_risk_fraction_at_the_stop() -> None:
    # qty = 10,000 x 1% / |50 - 48| = 50 units; notional = 50 x 50 = 2,500
    notional, _ = FixedRisk(0.01).notional(BASE)
    assert notional == D(2500)
    assert (notional / D(50)) * (D(50) - D(48)) == D(100)  # 1% of equity
    none, why = FixedRisk(0.01).notional(SizingInput(equity=D(1), free=D(1), price=D(1)))
    assert none is None
    assert "stop" in why


def test_kelly_from_the_strategys_own_trades_with_fallback() -> None:
    returns = (0.02, -0.01, 0.02, -0.01, 0.02, -0.01, 0.02, -0.01, 0.02, -0.01)
    model = Kelly(fraction=0.5, cap=0.25, min_trades=10, window=100)
    # W = 5/10 = 0.5; R = 0.02 / 0.01 = 2; f* = 0.5 - 0.5 / 2 = 0.25; half Kelly = 0.125
    assert model.kelly_fraction(returns) == pytest.approx(0.25)
    data = SizingInput(equity=D(10_000), free=D(10_000), price=D(50), trade_returns=returns)
    assert model.notional(data)[0] == D("1250.0")
    # Below the minimum sample the fallback (2% fixed fraction) sizes: 10,000 x 0.02 = 200
    few = SizingInput(equity=D(10_000), free=D(10_000), price=D(50), trade_returns=returns[:4])
    assert model.notional(few)[0] == D(200)
    capped = Kelly(fraction=1.0, cap=0.1, min_trades=10).notional(data)[0]
    assert capped == D(1000)  # min(0.1, 1.0 x 0.25) x 10,000


def test_optimal_f_maximises_terminal_wealth() -> None:
    returns = (0.03, -0.01) * 15
    model = OptimalF(min_trades=10, window=100, cap=10.0, steps=100)
    # HPRs at f: 1 + 3f and 1 - f (worst = -0.01); TWR per pair (1 + 3f)(1 - f) peaks where
    # d/df = 3 - 1 - 6f = 0, f = 1/3; on a 0.01 grid the best is 0.33.
    f_star, worst = model.optimal_f(returns)  # type: ignore[misc]
    assert f_star == pytest.approx(0.33)
    assert worst == -0.01
    data = SizingInput(equity=D(1000), free=D(1000), price=D(10), trade_returns=returns)
    # notional = E x f* / |worst| = 1,000 x 0.33 / 0.01 = 33,000, capped at 10 x E = 10,000
    assert model.notional(data)[0] == D(10_000)


def test_volatility_target_is_inverse_to_atr_percent() -> None:
    data = SizingInput(equity=D(10_000), free=D(10_000), price=D(50), atr=1.0)
    # ATR% = 1 / 50 = 2%; target 1% -> share 0.5 -> 5,000
    assert VolatilityTarget(target=0.01, cap=1.0).notional(data)[0] == D(5000)
    assert VolatilityTarget(target=0.04, cap=1.5).notional(data)[0] == D(15000)  # 2 capped 1.5


def test_risk_parity_weights_by_inverse_volatility() -> None:
    data = SizingInput(
        equity=D(10_000), free=D(10_000), price=D(50), volatility=0.02, open_volatilities=(0.01,)
    )
    # weights 1/0.02 = 50 and 1/0.01 = 100: the new one gets 50 / 150 = 1/3 of 10,000
    assert RiskParity(budget=1.0).notional(data)[0] == pytest.approx(D(10_000) / 3)


def test_confidence_scales_between_floor_and_cap() -> None:
    model = ConfidenceScaled(floor=0.01, cap=0.11)
    data = SizingInput(equity=D(10_000), free=D(10_000), price=D(50), confidence=0.5)
    # 0.01 + (0.11 - 0.01) x 0.5 = 0.06 -> 600
    assert model.notional(data)[0] == D(600)
    no_confidence = SizingInput(equity=D(10_000), free=D(10_000), price=D(50))
    assert model.notional(no_confidence)[0] == D(100)  # the floor


def test_rounding_down_and_market_minimums() -> None:
    instrument = Instrument(
        symbol="X/Y", base="X", quote="Y", price_step=D("0.01"), amount_step=D("0.001"),
        min_amount=D("0.01"), min_notional=D(5),
    )  # fmt: skip
    # 100 / 33 = 3.0303... -> 3.030 on the 0.001 lot
    assert to_quantity(D(100), D(33), instrument) == (D("3.030"), "")
    assert to_quantity(D("0.2"), D(33), instrument)[1] == "sizing.below_min_amount"
    assert to_quantity(D("4"), D(100), instrument)[1] == "sizing.below_min_notional"
    assert to_quantity(D("0.0001"), D(1000), instrument)[1] == "sizing.below_lot"


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(UserError, match="fixed risk"):
        FixedRisk(1.5)
    with pytest.raises(UserError, match="floor"):
        ConfidenceScaled(floor=0.2, cap=0.1)
