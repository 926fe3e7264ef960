"""``tradewind tax`` on a bot's recorded fills: Form 8949 CSV, income, summary; refusals by name."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest

from tradewind.cli.main import run
from tradewind.core.orders import Fill, Liquidity
from tradewind.core.records import Side
from tradewind.persistence.bots import open_bot

T0 = 1_767_225_600_000  # 2026-01-01
DAY = 86_400_000


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TRADEWIND__DATABASE__BOTS_DIR", str(tmp_path / "bots"))
    monkeypatch.setenv("TRADEWIND__DATA__DIR", str(tmp_path / "data"))  # an empty catalog
    return tmp_path


def _record(tmp_path: Path, fills: list[Fill]) -> None:
    bot = open_bot("taxed", bots_dir=tmp_path / "bots")
    with bot.repository() as repo:
        for f in fills:
            assert repo.record_fill(f, "s")
        repo.record_funding("BTC/USDT:USDT", T0 + 5 * DAY, Decimal("-1.25"), "USDT",
                            Decimal("0.0001"))  # fmt: skip
    bot.engine.dispose()


def _fill(symbol: str, side: Side, ts: int, price: str, qty: str, fee: str, ccy: str) -> Fill:
    return Fill(f"c{ts}", symbol, side, ts, Decimal(price), Decimal(qty), Decimal(fee), ccy,
                Liquidity.TAKER, f"t{ts}")  # fmt: skip


def test_tax_csv_for_a_year(setup: Path) -> None:
    # Bought 1 BTC in 2025 (10010 with fee) and 1 in 2026 (12012); sold 1.5 in 2026 for 19480.5
    # net: FIFO takes the 2025 lot (long-term? no: 2025-12-01 to 2026-01-04 is short) and half of
    # the second: 12987 - 10010 = 2977 and 6493.5 - 6006 = 487.5.
    _record(setup, [
        _fill("BTC/USDT", Side.BUY, T0 - 31 * DAY, "10000", "1", "10", "USDT"),
        _fill("BTC/USDT", Side.BUY, T0 + DAY, "12000", "1", "12", "USDT"),
        _fill("BTC/USDT", Side.SELL, T0 + 3 * DAY, "13000", "1.5", "19.5", "USDT"),
    ])  # fmt: skip
    out = setup / "tax.csv"
    assert run(["tax", "--method", "fifo", "--year", "2026", "--bot", "taxed", "--out",
                str(out)]) == 0  # fmt: skip
    with out.open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0][0] == "(a) Description of property"
    assert rows[1:] == [
        ["1 BTC", "12/01/2025", "01/04/2026", "12987", "10010", "", "0", "2977", "short"],
        ["0.5 BTC", "01/02/2026", "01/04/2026", "6493.5", "6006", "", "0", "487.5", "short"],
    ]
    summary = dict(csv.reader((setup / "tax-summary.csv").open(newline="")))
    assert summary["short-term gain or loss"] == "3464.5"
    assert summary["income (perpetual PnL, funding)"] == "-1.25"
    income = list(csv.reader((setup / "tax-income.csv").open(newline="")))
    assert income[1][1:4] == ["BTC/USDT:USDT", "funding", "-1.25"]
    assert run(["tax", "--year", "2025", "--bot", "taxed", "--out", str(setup / "y.csv")]) == 0
    assert len(list(csv.reader((setup / "y.csv").open(newline="")))) == 1  # header only


def test_crypto_to_crypto_without_usdt_candles_is_refused_by_name(
    setup: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _record(setup, [_fill("ETH/BTC", Side.BUY, T0, "0.05", "1", "0.00005", "BTC")])
    assert run(["tax", "--year", "2026", "--bot", "taxed", "--out", str(setup / "t.csv")]) == 2
    assert "no BTC/USDT candles in the catalog" in capsys.readouterr().err
    assert run(["tax", "--year", "2026", "--bot", "taxed", "--method", "average"]) == 2
    assert "--method must be fifo, lifo or hifo" in capsys.readouterr().err
