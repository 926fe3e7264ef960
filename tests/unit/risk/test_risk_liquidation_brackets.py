"""The risk engine's liquidation check reads the instrument's maintenance brackets: a large entry
is liquidated where its bracket says (sooner than the first bracket's rate would put it), and a
table of the instrument's own replaces the default."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tradewind.core.brackets import MarginBrackets
from tradewind.core.instrument import Instrument, MarketType
from tradewind.risk.engine import MarginRules, RiskEngine, RiskProfile
from tradewind.risk.sizing import FixedFraction

D = Decimal


def _perp(brackets: MarginBrackets | None = None) -> Instrument:
    extra = {} if brackets is None else {"margin_brackets": brackets}
    return Instrument(symbol="BTC/USDT:USDT", base="BTC", quote="USDT", settle="USDT",
                      market_type=MarketType.SWAP, price_step=D("0.1"), amount_step=D("0.001"),
                      **extra)  # fmt: skip


def _engine(instrument: Instrument) -> RiskEngine:
    return RiskEngine(
        default=RiskProfile(FixedFraction(0.1)),
        instruments={instrument.symbol: instrument},
        bars={},
        margin=MarginRules(leverage=20.0),
    )


def test_a_large_entry_is_liquidated_at_its_brackets_level() -> None:
    perp = _perp()
    engine = _engine(perp)
    # 10 BTC at 60,000 (600,000 notional), 20x: the 1 % bracket (cum 2,550) holds the notional
    # at the level; the first bracket's 0.4 % alone would say 57,228.9.
    level = engine._liquidation(perp, D(60_000), True, D(600_000))
    assert level is not None
    assert float(level) == pytest.approx((600_000 - 30_000 - 2_550) / (10 * 0.99))
    small = engine._liquidation(perp, D(60_000), True, D(6_000))
    assert small is not None
    assert float(small) == pytest.approx(60_000 * (1 - 1 / 20) / (1 - 0.004))
    assert engine._liquidation(perp, D(60_000), False, D(6_000)) == pytest.approx(
        D(60_000) * (1 + D(1) / 20) / (1 + D("0.004")), rel=D("1e-12")
    )


def test_the_instruments_own_table_replaces_the_default() -> None:
    steep = MarginBrackets.from_rates([(D(1_000), D("0.01")), (None, D("0.1"))])
    perp = _perp(steep)
    level = _engine(perp)._liquidation(perp, D(100), True, D(1_500))
    assert level is not None
    # 15 units long at 100, 75 of margin: the 10 % bracket (amount 90) holds the notional there.
    assert float(level) == pytest.approx((1_500 - 75 - 90) / (15 * 0.9))
