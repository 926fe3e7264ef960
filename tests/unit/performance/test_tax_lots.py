"""Tax lots, checked against hand computations (each case's numbers are worked in its comments)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tradewind.core.errors import UserError
from tradewind.core.instrument import Instrument
from tradewind.core.orders import Fill, Liquidity
from tradewind.core.records import Side
from tradewind.engine.portfolio import Portfolio
from tradewind.performance.tax_lots import FundingPayment, LotMethod, tax_lots

D = Decimal
DAY = 86_400_000
T0 = 1_767_225_600_000  # 2026-01-01


def fill(symbol: str, side: Side, ts: int, price: str, qty: str, fee: str, fee_ccy: str) -> Fill:
    return Fill(f"c{ts}", symbol, side, ts, D(price), D(qty), D(fee), fee_ccy, Liquidity.TAKER,
                f"t{ts}")  # fmt: skip


def prices(table: dict[tuple[str, int], str]):  # type: ignore[no-untyped-def]
    def value(asset: str, ts: int) -> Decimal:
        return D(table[(asset, ts)])

    return value


def no_prices(asset: str, ts: int) -> Decimal:
    raise AssertionError(f"no price should be needed, asked for {asset}")


# Three BTC lots, then a sale of 1.5 BTC (a partial disposal of the second lot taken):
#   lot 1: 1 BTC @ 10000 + 10 fee = 10010;  lot 2: 1 @ 12000 + 12 = 12012;  lot 3: 1 @ 11000 + 11
#   sale: 1.5 @ 13000 = 19500, fee 19.5 -> proceeds 19480.5, i.e. 12987 per BTC
THREE_LOTS = [
    fill("BTC/USDT", Side.BUY, T0, "10000", "1", "10", "USDT"),
    fill("BTC/USDT", Side.BUY, T0 + DAY, "12000", "1", "12", "USDT"),
    fill("BTC/USDT", Side.BUY, T0 + 2 * DAY, "11000", "1", "11", "USDT"),
    fill("BTC/USDT", Side.SELL, T0 + 3 * DAY, "13000", "1.5", "19.5", "USDT"),
]


@pytest.mark.parametrize(
    ("method", "lines", "left"),
    [
        # FIFO: lot 1 whole (12987 - 10010 = 2977), half of lot 2 (6493.5 - 6006 = 487.5)
        (LotMethod.FIFO, [(T0, "1", "12987", "10010"), (T0 + DAY, "0.5", "6493.5", "6006")],
         [(T0 + DAY, "0.5", "6006"), (T0 + 2 * DAY, "1", "11011")]),
        # LIFO: lot 3 whole (12987 - 11011 = 1976), half of lot 2 (487.5)
        (LotMethod.LIFO, [(T0 + 2 * DAY, "1", "12987", "11011"),
                          (T0 + DAY, "0.5", "6493.5", "6006")],
         [(T0, "1", "10010"), (T0 + DAY, "0.5", "6006")]),
        # HIFO: lot 2 (12012/BTC) whole (975), half of lot 3 (11011/BTC): 6493.5 - 5505.5 = 988
        (LotMethod.HIFO, [(T0 + DAY, "1", "12987", "12012"),
                          (T0 + 2 * DAY, "0.5", "6493.5", "5505.5")],
         [(T0, "1", "10010"), (T0 + 2 * DAY, "0.5", "5505.5")]),
    ],
)  # fmt: skip
def test_each_method_with_a_partial_disposal(method, lines, left) -> None:  # type: ignore[no-untyped-def]
    report = tax_lots(THREE_LOTS, no_prices, method=method)
    got = [(d.acquired_ts, d.quantity, d.proceeds, d.cost) for d in report.disposals]
    assert got == [(ts, D(q), D(p), D(c)) for ts, q, p, c in lines]
    assert all(d.disposed_ts == T0 + 3 * DAY for d in report.disposals)
    assert [(lot.acquired_ts, lot.quantity, lot.cost) for lot in report.open_lots["BTC"]] == [
        (ts, D(q), D(c)) for ts, q, c in left
    ]
    assert report.realized == {"fifo": D("3464.5"), "lifo": D("2463.5"), "hifo": D("1963")}[method]
    assert "USDT" not in report.open_lots  # the reporting currency's stand-in holds no lots


def test_crypto_to_crypto_disposes_of_the_quote_too() -> None:
    # BTC bought for 20000 USDT; BTC worth 22000 at t1 and 25000 at t2.
    # t1 buy 10 ETH/BTC @ 0.05, fee 0.0005 BTC: 0.5005 BTC disposed, proceeds 0.5005 x 22000 =
    #    11011, cost 0.5005 x 20000 = 10010 -> gain 1001. ETH lot: 10 ETH, cost 11011.
    # t2 sell 4 ETH/BTC @ 0.06, fee 0.00024 BTC: proceeds (0.24 - 0.00024) x 25000 = 5994,
    #    cost 4/10 x 11011 = 4404.4 -> gain 1589.6. BTC lot: 0.23976 BTC, cost 5994.
    t1, t2 = T0 + DAY, T0 + 2 * DAY
    fills = [
        fill("BTC/USDT", Side.BUY, T0, "20000", "1", "0", "USDT"),
        fill("ETH/BTC", Side.BUY, t1, "0.05", "10", "0.0005", "BTC"),
        fill("ETH/BTC", Side.SELL, t2, "0.06", "4", "0.00024", "BTC"),
    ]
    report = tax_lots(fills, prices({("BTC", t1): "22000", ("BTC", t2): "25000"}))
    got = [(d.asset, d.quantity, d.proceeds, d.cost, d.gain) for d in report.disposals]
    assert got == [
        ("BTC", D("0.5005"), D("11011"), D("10010"), D("1001")),
        ("ETH", D("4"), D("5994"), D("4404.4"), D("1589.6")),
    ]
    btc = [(lot.quantity, lot.cost) for lot in report.open_lots["BTC"]]
    assert btc == [(D("0.4995"), D("9990")), (D("0.23976"), D("5994"))]
    assert [(lot.quantity, lot.cost) for lot in report.open_lots["ETH"]] == [(D(6), D("6606.6"))]


def test_a_fee_in_a_third_currency() -> None:
    # 1 BNB bought at 300, 1 BTC at 20000. BNB worth 400 at t1, 350 at t2.
    # t1 sell 0.5 BTC @ 22000, fee 0.02 BNB (= 8): BNB disposal 0.02, proceeds 8, cost 6 -> 2;
    #    BTC disposal 0.5, proceeds 11000 - 8 = 10992, cost 10000 -> 992.
    # t2 buy 0.1 BTC @ 21000, fee 0.01 BNB (= 3.5): BNB disposal proceeds 3.5, cost 3 -> 0.5;
    #    the BTC lot costs 2100 + 3.5 = 2103.5.
    t1, t2 = T0 + DAY, T0 + 2 * DAY
    fills = [
        fill("BNB/USDT", Side.BUY, T0, "300", "1", "0", "USDT"),
        fill("BTC/USDT", Side.BUY, T0, "20000", "1", "0", "USDT"),
        fill("BTC/USDT", Side.SELL, t1, "22000", "0.5", "0.02", "BNB"),
        fill("BTC/USDT", Side.BUY, t2, "21000", "0.1", "0.01", "BNB"),
    ]
    report = tax_lots(fills, prices({("BNB", t1): "400", ("BNB", t2): "350"}))
    got = [(d.asset, d.quantity, d.proceeds, d.cost) for d in report.disposals]
    assert got == [
        ("BNB", D("0.02"), D("8"), D("6")),
        ("BTC", D("0.5"), D("10992"), D("10000")),
        ("BNB", D("0.01"), D("3.5"), D("3")),
    ]
    assert report.realized == D("994.5")
    assert [(lot.quantity, lot.cost) for lot in report.open_lots["BTC"]] == [
        (D("0.5"), D("10000")),
        (D("0.1"), D("2103.5")),
    ]


def test_perpetual_pnl_and_funding_are_income_not_lots() -> None:
    # Long 2 @ 100 (fee 0.2), sell 1 @ 110 (fee 0.11): income -0.2, then 10 - 0.11 = 9.89;
    # funding -0.5 paid in between.
    fills = [
        fill("BTC/USDT:USDT", Side.BUY, T0, "100", "2", "0.2", "USDT"),
        fill("BTC/USDT:USDT", Side.SELL, T0 + 2 * DAY, "110", "1", "0.11", "USDT"),
    ]
    funding = [FundingPayment("BTC/USDT:USDT", T0 + DAY, D("-0.5"), "USDT")]
    report = tax_lots(fills, no_prices, funding=funding)
    assert report.disposals == []
    assert report.open_lots == {}
    assert [(i.kind, i.value) for i in report.income] == [
        ("perpetual pnl", D("-0.2")), ("funding", D("-0.5")), ("perpetual pnl", D("9.89"))]  # fmt: skip


def test_a_disposal_beyond_the_recorded_lots_is_refused_by_name() -> None:
    fills = [fill("BTC/USDT", Side.SELL, T0, "20000", "0.1", "0", "USDT")]
    with pytest.raises(UserError, match=r"0\.1 BTC but the recorded lots hold only 0"):
        tax_lots(fills, no_prices)


def test_year_filter_and_holding_period() -> None:
    fills = [
        fill("BTC/USDT", Side.BUY, T0 - 400 * DAY, "10000", "1", "0", "USDT"),
        fill("BTC/USDT", Side.SELL, T0 + 10 * DAY, "20000", "0.5", "0", "USDT"),
    ]
    report = tax_lots(fills, no_prices)
    assert report.disposals[0].long_term
    assert len(report.in_year(2026).disposals) == 1
    assert report.in_year(2025).disposals == []


def _portfolio(fills: list[Fill]) -> Portfolio:
    instrument = Instrument(symbol="BTC/USDT", base="BTC", quote="USDT",
                            price_step=D("0.01"), amount_step=D("0.00001"))  # fmt: skip
    portfolio = Portfolio({"BTC/USDT": instrument}, cash={"USDT": D(100_000)})
    for i, f in enumerate(fills):
        portfolio.apply_fill(f, "s", i)
    assert portfolio.balance("BTC") == 0  # flat at the end: every lot is disposed of
    return portfolio


def test_lots_realise_exactly_what_the_portfolio_realises() -> None:
    # Spot BTC/USDT, fees in USDT and (on a sale) in BTC, partial sales, ending flat: each method
    # realises over the whole history exactly the PnL of the portfolio's closed trades.
    fills = [
        fill("BTC/USDT", Side.BUY, T0, "42000.10", "0.5", "21.00005", "USDT"),
        fill("BTC/USDT", Side.BUY, T0 + DAY, "43500.30", "0.3", "13.05009", "USDT"),
        fill("BTC/USDT", Side.SELL, T0 + 2 * DAY, "44100.50", "0.2", "8.8201", "USDT"),
        fill("BTC/USDT", Side.BUY, T0 + 3 * DAY, "41000.00", "0.4", "16.4", "USDT"),
        fill("BTC/USDT", Side.SELL, T0 + 4 * DAY, "45000.00", "0.4", "0.0004", "BTC"),
        fill("BTC/USDT", Side.SELL, T0 + 5 * DAY, "39999.99", "0.5996", "23.98399", "USDT"),
    ]
    portfolio = _portfolio(fills)
    expected = sum((t.pnl for t in portfolio.trades), D(0))
    assert portfolio.balance("USDT") - D(100_000) == expected  # the ledger agrees
    for method in LotMethod:
        report = tax_lots(fills, no_prices, method=method)
        assert report.realized == expected, method
        assert report.open_lots.get("BTC", []) == []


def test_lots_match_the_ledger_when_a_base_fee_makes_averages_inexact() -> None:
    # A fee in BTC on a buy shrinks the position to 0.7997 BTC, so the portfolio's average entry
    # price is a 28-digit rounded quotient and its per-trade PnL carries that rounding (1e-24);
    # the lots and the cash ledger stay exact and agree to the last digit.
    fills = [
        fill("BTC/USDT", Side.BUY, T0, "42000.10", "0.5", "21.00005", "USDT"),
        fill("BTC/USDT", Side.BUY, T0 + DAY, "43500.00", "0.3", "0.0003", "BTC"),
        fill("BTC/USDT", Side.SELL, T0 + 2 * DAY, "44100.50", "0.2", "8.8201", "USDT"),
        fill("BTC/USDT", Side.BUY, T0 + 3 * DAY, "41000.00", "0.25", "10.25", "USDT"),
        fill("BTC/USDT", Side.SELL, T0 + 4 * DAY, "45000.00", "0.4", "0.0004", "BTC"),
        fill("BTC/USDT", Side.SELL, T0 + 5 * DAY, "39999.99", "0.4493", "17.97199", "USDT"),
    ]
    portfolio = _portfolio(fills)
    ledger = portfolio.balance("USDT") - D(100_000)
    assert ledger == D("434.003367")
    trades = sum((t.pnl for t in portfolio.trades), D(0))
    assert abs(trades - ledger) < D("1e-20")
    for method in LotMethod:
        assert tax_lots(fills, no_prices, method=method).realized == ledger, method
