"""How the Telegram bot writes numbers for a trader: grouped thousands, cents for cash, up to eight
decimals for coins, a sign on PnL, exact decimal rounding (half to even)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tradewind.ops.telegram_text import amount, escape, fit, money, positions_text, quote_of


@pytest.mark.parametrize(
    ("value", "asset", "signed", "shown"),
    [
        ("10234.567", "USDT", False, "10,234.57 USDT"),
        ("1234567.005", "USDT", False, "1,234,567.00 USDT"),  # half to even, exactly
        ("1234567.015", "USDT", False, "1,234,567.02 USDT"),
        ("-0.001", "USDT", True, "0.00 USDT"),  # no "-0.00"
        ("12.5", "USDT", True, "+12.50 USDT"),
        ("-1500.1", "USDT", True, "-1,500.10 USDT"),
        ("0.12345678912", "BTC", False, "0.12345679 BTC"),
        ("1500.5", "BTC", False, "1,500.5 BTC"),
        ("2", "ETH", False, "2 ETH"),
        ("99.999", "", False, "100.00"),
    ],
)  # fmt: skip
def test_amounts(value: str, asset: str, signed: bool, shown: str) -> None:
    assert amount(Decimal(value), asset, signed=signed) == shown


def test_money_signs_and_escaping() -> None:
    assert money("-3.456", "USDT") == "-3.46 USDT"
    assert money("0", "USDT") == "0.00 USDT"
    assert escape("<b>x & 'y'</b>") == "&lt;b&gt;x &amp; 'y'&lt;/b&gt;"
    assert quote_of(["BTC/USDT", "ETH/USDT:USDT"]) == "USDT"
    assert quote_of(["BTC/USDT", "ETH/BTC"]) == ""


def test_a_long_answer_is_cut_at_a_line_to_fit_one_message() -> None:
    rows = [
        {"strategy": f"grid_{i}", "symbol": f"C{i}/USDT", "side": "long", "quantity": "1.5",
         "average_price": "0.0123", "entry_time": 1_640_995_200_000, "realized_pnl": "0",
         "mark_price": "0.0125", "unrealized_pnl": "0.0003"}
        for i in range(300)
    ]  # fmt: skip
    text = positions_text(rows)
    assert len(text) > 20_000
    cut = fit(text)
    assert len(cut) <= 4000
    assert cut.startswith("<b>Positions</b>\n• <b>C0/USDT</b> LONG 1.5 C0 @ 0.0123 USDT")
    kept = cut.split("\n")[:-1]
    assert text.startswith("\n".join(kept) + "\n")  # whole lines, none altered
    left = len(text.split("\n")) - len(kept)
    assert cut.endswith(f"\n… and {left} more line(s)")
    assert fit("short") == "short"
