"""Tradable instruments and their rounding rules.

An :class:`Instrument` carries everything an order needs to be legal on its venue: tick and lot
steps, amount/price/notional limits, maker and taker fees and the currency they are charged in,
contract size and settlement (spot, linear or inverse swaps and futures), and for derivatives the
maintenance-margin brackets (:mod:`tradewind.core.brackets`). An exchange's own
description becomes one in :mod:`tradewind.connectors.instruments` (ccxt's market dicts).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from tradewind.core.brackets import BINANCE_USDT_M_BRACKETS, MarginBrackets
from tradewind.core.errors import UserError
from tradewind.core.money import (
    ONE,
    ceil_to_step,
    floor_to_step,
    round_to_step,
)
from tradewind.core.records import Side


class MarketType(StrEnum):
    """What kind of market an instrument trades on."""

    SPOT = "spot"
    SWAP = "swap"
    FUTURE = "future"


class FeeSide(StrEnum):
    """Which currency a venue charges fees in (ccxt's ``feeSide``).

    ``GET``: the currency received (Binance spot: a buyer pays in base, a seller in quote);
    ``GIVE``: the currency spent; ``QUOTE``/``BASE``: always that currency.
    """

    GET = "get"
    GIVE = "give"
    QUOTE = "quote"
    BASE = "base"


@dataclass(frozen=True, slots=True, kw_only=True)
class Instrument:
    """A market on a venue, with the rules its orders must follow.

    Steps are ``Decimal`` (e.g. ``price_step=Decimal("0.01")``). ``min_notional`` is in the quote
    currency (settle currency for inverse contracts). Fees are fractions (``0.001`` is 0.1%).
    """

    symbol: str
    base: str
    quote: str
    settle: str | None = None
    exchange: str = ""
    exchange_id: str = ""
    market_type: MarketType = MarketType.SPOT
    linear: bool = True
    contract_size: Decimal = ONE
    price_step: Decimal
    amount_step: Decimal
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    min_notional: Decimal | None = None
    maker_fee: Decimal = Decimal("0.001")
    taker_fee: Decimal = Decimal("0.001")
    fee_side: FeeSide = FeeSide.QUOTE
    margin_brackets: MarginBrackets = BINANCE_USDT_M_BRACKETS
    """Maintenance-margin brackets of a derivative (unused on spot): Binance's BTCUSDT table
    unless the exchange's own was read."""

    def __post_init__(self) -> None:
        if self.price_step <= 0 or self.amount_step <= 0:
            raise UserError(f"{self.symbol}: price and amount steps must be positive")
        if self.contract_size <= 0:
            raise UserError(f"{self.symbol}: contract size must be positive")

    @property
    def is_spot(self) -> bool:
        """True for spot markets."""
        return self.market_type is MarketType.SPOT

    @property
    def is_derivative(self) -> bool:
        """True for swaps and futures."""
        return self.market_type is not MarketType.SPOT

    @property
    def inverse(self) -> bool:
        """True for inverse contracts (margined and settled in the base currency)."""
        return not self.linear

    @property
    def settle_currency(self) -> str:
        """The currency PnL settles in: the quote for spot and linear, else ``settle``."""
        if self.settle:
            return self.settle
        return self.base if self.inverse else self.quote

    def round_price(self, price: Decimal) -> Decimal:
        """Round a price to the nearest tick."""
        return round_to_step(price, self.price_step)

    def round_price_passive(self, price: Decimal, side: Side) -> Decimal:
        """Round a limit price away from the market: down for a buy, up for a sell.

        This never turns a resting order into one that crosses the spread.
        """
        if side is Side.BUY:
            return floor_to_step(price, self.price_step)
        return ceil_to_step(price, self.price_step)

    def round_amount(self, amount: Decimal) -> Decimal:
        """Round an amount down to the lot step: an order never exceeds what was sized."""
        return floor_to_step(amount, self.amount_step)

    def notional(self, amount: Decimal, price: Decimal) -> Decimal:
        """Value of ``amount`` at ``price`` in the settle currency.

        Linear: amount x contract size x price. Inverse: amount x contract size / price.
        """
        if self.inverse:
            return amount * self.contract_size / price
        return amount * self.contract_size * price

    def fee_rate(self, *, maker: bool) -> Decimal:
        """The fee fraction for a maker or taker fill."""
        return self.maker_fee if maker else self.taker_fee

    def fee_currency(self, side: Side) -> str:
        """The currency a fill on ``side`` pays its fee in."""
        if self.is_derivative:
            return self.settle_currency
        if self.fee_side is FeeSide.BASE:
            return self.base
        if self.fee_side is FeeSide.QUOTE:
            return self.quote
        receives_base = side is Side.BUY
        if self.fee_side is FeeSide.GET:
            return self.base if receives_base else self.quote
        return self.quote if receives_base else self.base

    def check_order(self, amount: Decimal, price: Decimal) -> str | None:
        """Return why an order of ``amount`` at ``price`` breaks this market's filters, or None."""
        if amount <= 0:
            return f"amount {amount} must be positive"
        if (amount % self.amount_step) != 0:
            return f"amount {amount} is not a multiple of the lot step {self.amount_step}"
        if (price % self.price_step) != 0:
            return f"price {price} is not a multiple of the tick {self.price_step}"
        if self.min_amount is not None and amount < self.min_amount:
            return f"amount {amount} is below the minimum {self.min_amount}"
        if self.max_amount is not None and amount > self.max_amount:
            return f"amount {amount} is above the maximum {self.max_amount}"
        if self.min_price is not None and price < self.min_price:
            return f"price {price} is below the minimum {self.min_price}"
        if self.max_price is not None and price > self.max_price:
            return f"price {price} is above the maximum {self.max_price}"
        notional = self.notional(amount, price)
        if self.min_notional is not None and notional < self.min_notional:
            return f"notional {notional} is below the minimum {self.min_notional}"
        return None
