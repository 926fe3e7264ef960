"""The account a restarted bot continues from: a portfolio that traded (spot and perpetual fills,
funding, a working order) is checkpointed through the recorder, and a new process rebuilds the same
positions, balances and working orders from the bot's database."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from tradewind.core.events import FundingPaid, OrderAccepted, OrderFilled
from tradewind.core.instrument import Instrument, MarketType
from tradewind.core.orders import Fill, Liquidity, Order, OrderType
from tradewind.core.records import Side
from tradewind.engine.bus import MessageBus
from tradewind.engine.portfolio import Portfolio
from tradewind.engine.recording import RepositoryRecorder
from tradewind.persistence.bots import open_bot

T0 = 1_767_225_600_000
D = Decimal

INSTRUMENTS = {
    "ETH/BTC": Instrument(symbol="ETH/BTC", base="ETH", quote="BTC", price_step=D("0.00001"),
                          amount_step=D("0.001")),
    "XRP/USDT:USDT": Instrument(symbol="XRP/USDT:USDT", base="XRP", quote="USDT", settle="USDT",
                                market_type=MarketType.SWAP, price_step=D("0.0001"),
                                amount_step=D("0.1")),
}  # fmt: skip

_CHILD = """
import json, sys
from tradewind.engine.resume import resume_portfolio, working_orders
from tradewind.persistence.bots import open_bot
sys.path.insert(0, sys.argv[2])
from test_persistence_resume import INSTRUMENTS
bot = open_bot("paper", bots_dir=sys.argv[1], create=False)
with bot.repository() as repo:
    portfolio = resume_portfolio(repo, INSTRUMENTS)
    orders = working_orders(repo)
print(json.dumps({
    "cash": {k: str(v) for k, v in sorted(portfolio.cash.items())},
    "positions": {f"{k[0]}|{k[1]}": [str(p.quantity), str(p.average_price), p.entry_ts,
                                     str(p.open_fees), str(p.open_funding), str(p.realized_pnl)]
                  for k, p in sorted(portfolio.positions.items())},
    "orders": {cid: [str(o.status), str(o.price), str(o.quantity)] for cid, o in orders.items()},
}))
"""


def _snapshot(portfolio: Portfolio) -> dict[str, object]:
    return {
        "cash": {k: str(v) for k, v in sorted(portfolio.cash.items())},
        "positions": {
            f"{k[0]}|{k[1]}": [str(p.quantity), str(p.average_price), p.entry_ts,
                               str(p.open_fees), str(p.open_funding), str(p.realized_pnl)]
            for k, p in sorted(portfolio.positions.items())
        },
    }  # fmt: skip


def _fill(cid: str, symbol: str, side: Side, ts: int, price: str, qty: str, fee: str,
          ccy: str) -> Fill:  # fmt: skip
    return Fill(cid, symbol, side, ts, D(price), D(qty), D(fee), ccy, Liquidity.TAKER, f"x{ts}")


def test_a_new_process_resumes_the_checkpointed_account(tmp_path: Path) -> None:
    bot = open_bot("paper", bots_dir=tmp_path)
    portfolio = Portfolio(INSTRUMENTS, cash={"BTC": D("1"), "USDT": D("1000")})
    bus = MessageBus()
    repo = bot.repository()
    recorder = RepositoryRecorder(repo, portfolio)
    recorder.attach(bus)
    orders = [
        Order("tw-p-1", "ETH/BTC", Side.BUY, OrderType.MARKET, D("2"), strategy_id="ema",
              created_ts=T0),
        Order("tw-p-2", "XRP/USDT:USDT", Side.SELL, OrderType.MARKET, D("500"), strategy_id="rsi",
              created_ts=T0),
        Order("tw-p-3", "ETH/BTC", Side.SELL, OrderType.LIMIT, D("1"), price=D("0.06"),
              strategy_id="ema", created_ts=T0 + 5),
    ]  # fmt: skip
    fills = {
        "tw-p-1": _fill("tw-p-1", "ETH/BTC", Side.BUY, T0 + 1, "0.05123", "2", "0.002", "ETH"),
        "tw-p-2": _fill("tw-p-2", "XRP/USDT:USDT", Side.SELL, T0 + 2, "0.6123", "500",
                        "0.15", "USDT"),
    }  # fmt: skip
    for order in orders:
        order.submit()
        bus.publish("order.submitted", order.created_ts, order)
        event = fills.get(order.client_id)
        if event is None:
            bus.publish("order.accepted", T0 + 6, OrderAccepted(order.client_id, T0 + 6, "77"))
            continue
        bus.publish("order.filled", event.ts, OrderFilled(event, order.quantity))
        order.fill(event)
        strategy = order.strategy_id
        portfolio.apply_fill(event, strategy, 0)
    funding = FundingPaid("XRP/USDT:USDT", T0 + 10, D("0.0459225"), "USDT", D("0.00015"))
    bus.publish("account.funding", funding.ts, funding)
    portfolio.apply_funding(funding.symbol, funding.amount, funding.currency, 0)
    recorder.checkpoint(T0 + 10)
    repo.close()
    bot.engine.dispose()

    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(tmp_path), str(Path(__file__).parent)],
        capture_output=True, text=True, check=True, timeout=120,
    ).stdout  # fmt: skip
    state = json.loads(out)
    expected = _snapshot(portfolio)
    assert state["cash"] == expected["cash"]
    assert state["positions"] == expected["positions"]
    assert state["positions"]["ema|ETH/BTC"][0] == "1.998"  # the ETH fee came off the position
    assert state["orders"] == {"tw-p-3": ["accepted", "0.06", "1"]}
