"""Tiered maintenance margin: the bracket math at the tier edges, the table's checks, and the
liquidation price where it crosses from one bracket into the next."""

from __future__ import annotations

import json
from decimal import Decimal
from itertools import pairwise
from pathlib import Path

import pytest

from tradewind.core.brackets import BINANCE_USDT_M_BRACKETS, MarginBracket, MarginBrackets
from tradewind.core.errors import UserError
from tradewind.core.instrument import Instrument, MarketType
from tradewind.data.meta import MarketMeta
from tradewind.sim.rules import bracket_rows, tiered_liquidation_price

D = Decimal
TABLE = BINANCE_USDT_M_BRACKETS


def test_the_default_table_is_binances_btcusdt_brackets() -> None:
    caps = [b.cap for b in TABLE.brackets]
    assert caps[:4] == [D(50_000), D(500_000), D(8_000_000), D(50_000_000)]
    assert caps[-1] is None
    # Binance's published ``cum`` column follows from the rates and caps.
    amounts = [b.amount for b in TABLE.brackets]
    assert amounts == [D(0), D(50), D(2_550), D(122_550), D(1_372_550), D(5_372_550),
                       D(7_872_550), D(10_872_550), D(30_872_550), D(105_872_550)]  # fmt: skip


@pytest.mark.parametrize(
    ("notional", "rate", "margin"),
    [
        (D(0), D("0.004"), D(0)),
        (D(49_999), D("0.004"), D("199.996")),
        (D(50_000), D("0.004"), D(200)),  # a notional at a cap is in the lower bracket
        (D("50000.01"), D("0.005"), D("200.00005")),
        (D(500_000), D("0.005"), D(2_450)),
        (D("500000.01"), D("0.01"), D("2450.0001")),
        (D(8_000_000), D("0.01"), D(77_450)),
        (D(300_000_000), D("0.25"), D(44_127_450)),
        (D(400_000_000), D("0.5"), D(94_127_450)),  # the last bracket has no cap
    ],
)
def test_maintenance_is_notional_times_rate_less_amount_and_continuous_at_each_cap(
    notional: Decimal, rate: Decimal, margin: Decimal
) -> None:
    assert TABLE.bracket(notional).rate == rate
    assert TABLE.maintenance(notional) == margin
    assert TABLE.maintenance(-notional) == margin  # a short's notional counts by its size


def test_every_cap_gives_the_same_margin_from_both_sides() -> None:
    for lower, upper in pairwise(TABLE.brackets):
        assert lower.cap is not None
        assert lower.maintenance(lower.cap) == upper.maintenance(lower.cap)


@pytest.mark.parametrize(
    ("brackets", "message"),
    [
        ((), "empty"),
        ((MarginBracket(D(10), D("0.01"), D(0)),), "needs a cap"),
        ((MarginBracket(None, D("0.01"), D(0)), MarginBracket(None, D("0.02"), D(0))),
         "needs a cap"),
        ((MarginBracket(D(10), D("0.01"), D(0)), MarginBracket(D(5), D("0.02"), D(0)),
          MarginBracket(None, D("0.03"), D(0))), "caps must rise"),
        ((MarginBracket(D(10), D("0.02"), D(0)), MarginBracket(None, D("0.01"), D("-0.1"))),
         "must not fall"),
        ((MarginBracket(D(10), D("0.01"), D(0)), MarginBracket(None, D("0.02"), D("0.2"))),
         "breaks continuity at 10"),
        ((MarginBracket(None, D(1), D(0)),), "outside [0, 1)"),
        ((MarginBracket(None, D("0.01"), D(5)),), "first bracket's amount"),
    ],
)  # fmt: skip
def test_broken_tables_are_refused_with_the_reason(
    brackets: tuple[MarginBracket, ...], message: str
) -> None:
    with pytest.raises(UserError, match=message.replace("[", r"\[").replace(")", r"\)")):
        MarginBrackets(brackets)


def test_from_rates_derives_the_amounts_that_keep_the_margin_continuous() -> None:
    table = MarginBrackets.from_rates([(D(100), D("0.01")), (D(1000), D("0.02")), (None, D("0.1"))])
    assert [b.amount for b in table.brackets] == [D(0), D(1), D(81)]
    assert table.maintenance(D(1000)) == D(19) == D(1000) * D("0.1") - D(81)


def test_the_liquidation_price_at_a_tier_edge_satisfies_both_brackets() -> None:
    # Long 1 unit at 60,000 with 10,200 of margin: at 50,000 the equity is 200, which is the
    # maintenance margin of a 50,000 notional in the first bracket and in the second alike.
    rows = bracket_rows(TABLE.floats)
    assert tiered_liquidation_price(60_000.0, 1.0, True, 10_200.0, rows) == pytest.approx(50_000.0)
    # 100 units short at 4,900 with 12,450: at 5,000 (notional 500,000, the second cap) the
    # equity is 2,450, the margin of that notional in the second bracket and in the third.
    assert tiered_liquidation_price(4_900.0, 100.0, False, 12_450.0, rows) == pytest.approx(5_000.0)
    assert TABLE.maintenance(D(500_000)) == D(2_450)


def test_a_position_above_the_first_cap_is_liquidated_sooner_than_a_flat_rate_says() -> None:
    rows = bracket_rows(TABLE.floats)
    # 10 BTC long at 60,000, 20x: 30,000 of margin; at the first bracket's 0.4 % alone the level
    # would be 57,228.9; the notional there (about 573,000) is in the 1 % bracket (cum 2,550).
    level = tiered_liquidation_price(60_000.0, 10.0, True, 30_000.0, rows)
    flat = 60_000.0 * (1 - 1 / 20) / (1 - 0.004)
    assert level == pytest.approx((600_000 - 30_000 - 2_550) / (10 * 0.99))
    assert TABLE.bracket(D(repr(level)) * 10).rate == D("0.01")
    assert level > flat


def test_an_empty_table_liquidates_at_the_bankruptcy_price() -> None:
    rows = bracket_rows(())
    assert tiered_liquidation_price(100.0, 2.0, True, 20.0, rows) == pytest.approx(90.0)
    assert tiered_liquidation_price(100.0, 2.0, False, 20.0, rows) == pytest.approx(110.0)
    assert tiered_liquidation_price(100.0, 2.0, True, 200.0, rows) == 0.0  # 1x long: never


def test_a_stored_markets_metadata_keeps_its_brackets(tmp_path: Path) -> None:
    steep = MarginBrackets.from_rates([(D(1_000), D("0.01")), (None, D("0.1"))])
    perp = Instrument(symbol="X/USDT:USDT", base="X", quote="USDT", settle="USDT",
                      market_type=MarketType.SWAP, price_step=D("0.1"), amount_step=D(1),
                      margin_brackets=steep)  # fmt: skip
    path = tmp_path / "meta.json"
    MarketMeta.downloaded(perp, exchange="binance").save(path)
    assert MarketMeta.load(path).instrument.margin_brackets == steep
    # Metadata written before instruments carried brackets loads with the default table.
    written = json.loads(path.read_text(encoding="utf-8"))
    del written["instrument"]["margin_brackets"]
    assert MarketMeta.from_dict(written).instrument.margin_brackets == TABLE
