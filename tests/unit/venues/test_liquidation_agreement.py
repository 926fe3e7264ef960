"""The simulated venue and the exchange simulator liquidate at the same price.

Both read the instrument's maintenance brackets, each with its own code: the venue through
:func:`tradewind.sim.rules.tiered_liquidation_price` (closed form, floats), the exchange simulator
through Binance's per-bracket formula in Decimal (:func:`.exchange_sim.futures.liquidation_price`).
1,000 random isolated positions (fixed seed; long and short, leverage 1-125, notionals from 10 USDT
to 600M so that every bracket is reached) are opened by each one's own fill accounting, and the
two liquidation prices must agree to the tick.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np

from tradewind.core.instrument import Instrument, MarketType
from tradewind.core.records import Side
from tradewind.exchange_sim import futures
from tradewind.exchange_sim.accounts import Account
from tradewind.exchange_sim.ledgers import FuturesLedger, positions_of
from tradewind.exchange_sim.listings import Api, Listing
from tradewind.exchange_sim.orders import SimOrder
from tradewind.venues.sim.margin import MarginAccount

SYMBOL = "BTC/USDT:USDT"
TICK = Decimal("0.01")
LOT = Decimal("0.001")
WALLET = Decimal(10) ** 13
PERP = Instrument(symbol=SYMBOL, base="BTC", quote="USDT", settle="USDT", market_type=MarketType.SWAP,
                  price_step=TICK, amount_step=LOT, maker_fee=Decimal(0), taker_fee=Decimal(0))  # fmt: skip
LISTING = Listing(symbol="BTCUSDT", base="BTC", quote="USDT", api=Api.USDM, tick_size=TICK,
                  step_size=LOT, brackets=PERP.margin_brackets)  # fmt: skip


def _venue_level(side: Side, qty: Decimal, price: Decimal, leverage: int) -> Decimal:
    balances = {"USDT": WALLET}
    account = MarginAccount(balances, {SYMBOL: PERP}, {SYMBOL: Decimal(leverage)})
    assert account.fill(PERP, side, qty, price, Decimal(0), reduce_only=False) is None
    level = account.liquidation_price(SYMBOL)
    assert level is not None
    return Decimal(repr(level))


def _exchange_level(side: Side, qty: Decimal, price: Decimal, leverage: int) -> Decimal:
    account = Account(name="agreement", futures_wallet=WALLET)
    futures.set_leverage(account, LISTING.symbol, leverage)
    futures.set_margin_type(account, LISTING.symbol, "ISOLATED")
    order = SimOrder(order_id=1, client_id="c", account=account, symbol=LISTING.symbol,
                     futures=True, side=side.value.upper(), type="MARKET", tif="GTC", qty=qty,
                     price=None, stop_price=None, created_ms=0)  # fmt: skip
    FuturesLedger().settle(order, LISTING, price, qty, False, 1, 0)
    return futures.liquidation_price(positions_of(account)[LISTING.symbol])


def test_venue_and_exchange_simulator_liquidate_at_the_same_price_to_the_tick() -> None:
    rng = np.random.default_rng(20261207)
    table = PERP.margin_brackets
    crossed = beyond_first = 0
    for _ in range(1_000):
        price = PERP.round_price(Decimal(repr(float(10 ** rng.uniform(0, 5)))))
        notional = 10 ** rng.uniform(1, np.log10(6e8))
        qty = max(LOT, PERP.round_amount(Decimal(repr(float(notional))) / price))
        leverage = int(rng.integers(1, 126))
        side = Side.BUY if rng.random() < 0.5 else Side.SELL
        venue = _venue_level(side, qty, price, leverage)
        exchange = _exchange_level(side, qty, price, leverage)
        assert abs(venue - exchange) < TICK / 2, (side, qty, price, leverage, venue, exchange)
        at_level = table.bracket(qty * exchange)
        crossed += at_level is not table.bracket(qty * price)
        beyond_first += at_level is not table.brackets[0]
    # The sample reaches past the first bracket and across brackets, where a flat rate would fail.
    assert beyond_first > 400
    assert crossed > 10
