"""Linear perpetual futures on the simulated venue: positions, isolated margin, funding, liquidation.

Each symbol has one net position with its own (isolated) margin, taken from the wallet balance of
the settle currency. Opening or adding needs ``quantity x price x contract size / leverage`` of
free margin plus the fee; reducing realises PnL into the wallet and releases margin pro rata.

Liquidation: an isolated position is liquidated when the price reaches
:func:`tradewind.sim.rules.tiered_liquidation_price` for its margin and the instrument's
maintenance brackets (:attr:`tradewind.core.instrument.Instrument.margin_brackets`). The
trader loses the position's whole isolated margin, as on an exchange where the remainder goes to
the insurance fund. The trigger is the traded bar's low (long) or high (short), which reaches
further than the mark price an exchange uses: a conservative choice.

Funding: at each funding time the position pays ``quantity x contract size x mark x rate`` (longs
pay when the rate is positive, shorts receive). The mark is the funding series' mark price where
given, else the open of the bar that contains the funding time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from tradewind.core.errors import UserError
from tradewind.core.instrument import Instrument
from tradewind.core.money import ONE, ZERO, to_decimal
from tradewind.core.records import Side
from tradewind.sim import rules

MARGIN_INSUFFICIENT = "Margin is insufficient."
REDUCE_ONLY_REJECTED = "ReduceOnly Order is rejected."


@dataclass
class MarginPosition:
    """The venue's net position in one perpetual."""

    quantity: Decimal = ZERO
    entry_price: Decimal = ZERO
    margin: Decimal = ZERO

    @property
    def is_open(self) -> bool:
        """True while the position is not flat."""
        return self.quantity != 0


class MarginAccount:
    """Isolated-margin accounting for the linear perpetuals of one simulated account.

    ``balances`` is the venue's wallet (shared, updated in place); margins are part of it but
    locked, so :meth:`available` subtracts them.
    """

    def __init__(
        self,
        balances: dict[str, Decimal],
        instruments: Mapping[str, Instrument],
        leverage: Mapping[str, Decimal],
    ) -> None:
        for symbol, instrument in instruments.items():
            if instrument.is_derivative and instrument.inverse:
                raise UserError(f"{symbol}: inverse contracts are not simulated yet (linear only)")
        for symbol, value in leverage.items():
            if not ONE <= value <= Decimal(125):
                raise UserError(f"{symbol}: leverage must be within [1, 125], got {value}")
        self._balances = balances
        self._instruments = instruments
        self._leverage = dict(leverage)
        # The brackets as floats, converted once for the compiled liquidation rule.
        self._brackets = {
            s: rules.bracket_rows(i.margin_brackets.floats)
            for s, i in instruments.items()
            if i.is_derivative
        }
        self.positions: dict[str, MarginPosition] = {
            s: MarginPosition() for s, i in instruments.items() if i.is_derivative
        }

    def leverage(self, symbol: str) -> Decimal:
        """The symbol's leverage (1 unless set)."""
        return self._leverage.get(symbol, ONE)

    def available(self, currency: str) -> Decimal:
        """Wallet balance of ``currency`` not locked as margin."""
        if not self.positions:
            return self._balances.get(currency, ZERO)  # a spot-only account locks nothing
        locked = sum(
            (
                p.margin
                for s, p in self.positions.items()
                if self._instruments[s].settle_currency == currency
            ),
            ZERO,
        )
        return self._balances.get(currency, ZERO) - locked

    def fill(
        self,
        instrument: Instrument,
        side: Side,
        quantity: Decimal,
        price: Decimal,
        fee: Decimal,
        *,
        reduce_only: bool,
    ) -> str | None:
        """Settle one fill; return Binance's reason when the account refuses it (nothing changes)."""
        position = self.positions[instrument.symbol]
        signed = quantity if side is Side.BUY else -quantity
        opposite = position.quantity != 0 and (position.quantity > 0) != (signed > 0)
        closing = min(quantity, abs(position.quantity)) if opposite else ZERO
        opening = quantity - closing
        if reduce_only and (closing == 0 or opening > 0):
            return REDUCE_ONLY_REJECTED
        size = instrument.contract_size
        needed = opening * price * size / self.leverage(instrument.symbol)
        currency = instrument.settle_currency
        if opening > 0 and self.available(currency) < needed + fee:
            return MARGIN_INSUFFICIENT
        realized = ZERO
        if closing:
            direction = 1 if position.quantity > 0 else -1
            realized = closing * (price - position.entry_price) * size * direction
            position.margin -= position.margin * closing / abs(position.quantity)
            position.quantity += closing if direction < 0 else -closing
        if opening:
            added = opening if signed > 0 else -opening
            total = position.quantity + added
            position.entry_price = (
                price
                if position.quantity == 0
                else (position.entry_price * abs(position.quantity) + price * opening) / abs(total)
            )
            position.quantity = total
            position.margin += needed
        if position.quantity == 0:
            position.entry_price = ZERO
            position.margin = ZERO
        self._balances[currency] = self._balances.get(currency, ZERO) + realized - fee
        return None

    def liquidation_price(self, symbol: str) -> float | None:
        """The price at which the open position is liquidated, or None when flat."""
        position = self.positions.get(symbol)
        if position is None or not position.is_open or position.margin <= 0:
            return None
        instrument = self._instruments[symbol]
        return float(
            rules.tiered_liquidation_price(
                float(position.entry_price),
                float(abs(position.quantity) * instrument.contract_size),
                position.quantity > 0,
                float(position.margin),
                self._brackets[symbol],
            )
        )

    def liquidate(self, symbol: str) -> tuple[Decimal, Decimal]:
        """Close the position by liquidation; return ``(signed quantity closed, margin lost)``."""
        position = self.positions[symbol]
        closed, lost = position.quantity, position.margin
        currency = self._instruments[symbol].settle_currency
        self._balances[currency] = self._balances.get(currency, ZERO) - lost
        position.quantity = ZERO
        position.entry_price = ZERO
        position.margin = ZERO
        return closed, lost

    def pay_funding(self, symbol: str, mark: float, rate: float) -> Decimal:
        """Charge (negative) or credit (positive) one funding event to the wallet."""
        position = self.positions[symbol]
        if not position.is_open:
            return ZERO
        instrument = self._instruments[symbol]
        # The formula of rules.funding_payment, in Decimal: money stays exact.
        amount = -(
            position.quantity * instrument.contract_size * to_decimal(mark) * to_decimal(rate)
        )
        currency = instrument.settle_currency
        self._balances[currency] = self._balances.get(currency, ZERO) + amount
        return amount
