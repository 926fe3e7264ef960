"""The portfolio: positions per strategy and symbol, a Decimal ledger per asset, closed trades.

It books fills as the venue reports them and nothing else, so in every mode it is a pure function
of the fill stream. Spot accounting: a buy spends quote and receives base; fees are charged in the
currency the venue charged them in (a fee in base reduces the base received).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from tradewind.core.instrument import Instrument
from tradewind.core.money import ZERO
from tradewind.core.orders import Fill
from tradewind.core.records import Side


@dataclass
class Position:
    """One strategy's position in one symbol. ``quantity`` is signed (negative: short)."""

    strategy_id: str
    symbol: str
    quantity: Decimal = ZERO
    average_price: Decimal = ZERO
    entry_ts: int = 0
    open_fees: Decimal = ZERO
    """Entry fees (in quote) of the part still open, charged to the trade when it closes."""
    realized_pnl: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class ClosedTrade:
    """A round trip (or the closed part of one). PnL is net of entry and exit fees, in quote."""

    strategy_id: str
    symbol: str
    side: str
    entry_ts: int
    exit_ts: int
    entry_price: Decimal
    exit_price: Decimal
    quantity: Decimal
    fees: Decimal
    pnl: Decimal
    reason: str = ""


@dataclass(frozen=True, slots=True)
class BookedFill:
    """A fill as the portfolio booked it, with the strategy it belongs to and the bar it is
    effective from (for deriving the equity curve)."""

    fill: Fill
    strategy_id: str
    bar_index: int


@dataclass
class Portfolio:
    """Balances, positions and the trade list of one account."""

    instruments: dict[str, Instrument]
    cash: dict[str, Decimal] = field(default_factory=dict)
    positions: dict[tuple[str, str], Position] = field(default_factory=dict)
    trades: list[ClosedTrade] = field(default_factory=list)
    fills: list[BookedFill] = field(default_factory=list)
    fees_paid: dict[str, Decimal] = field(default_factory=dict)

    def position(self, strategy_id: str, symbol: str) -> Position:
        """The position of ``strategy_id`` in ``symbol`` (created flat on first use)."""
        key = (strategy_id, symbol)
        found = self.positions.get(key)
        if found is None:
            found = self.positions[key] = Position(strategy_id, symbol)
        return found

    def balance(self, asset: str) -> Decimal:
        """Ledger balance of ``asset``."""
        return self.cash.get(asset, ZERO)

    def apply_fill(self, fill: Fill, strategy_id: str, bar_index: int, reason: str = "") -> None:
        """Book one fill: ledger, position, fees, and a closed trade when it reduces a position."""
        instrument = self.instruments[fill.symbol]
        base, quote = instrument.base, instrument.quote
        notional = fill.price * fill.quantity
        fee_in_quote = fill.fee if fill.fee_currency == quote else fill.fee * fill.price
        self.fees_paid[fill.fee_currency] = self.fees_paid.get(fill.fee_currency, ZERO) + fill.fee
        signed = fill.quantity if fill.side is Side.BUY else -fill.quantity
        if fill.side is Side.BUY:
            self.cash[quote] = self.balance(quote) - notional
            self.cash[base] = self.balance(base) + fill.quantity
        else:
            self.cash[quote] = self.balance(quote) + notional
            self.cash[base] = self.balance(base) - fill.quantity
        self.cash[fill.fee_currency] = self.balance(fill.fee_currency) - fill.fee
        if fill.fee_currency == base:
            # The base the account actually holds moved by the fee too.
            signed -= fill.fee
        self.fills.append(BookedFill(fill, strategy_id, bar_index))
        position = self.position(strategy_id, fill.symbol)
        self._update_position(position, signed, fill, fee_in_quote, reason)

    def _update_position(
        self, position: Position, signed: Decimal, fill: Fill, fee_in_quote: Decimal, reason: str
    ) -> None:
        current = position.quantity
        if current == 0 or (current > 0) == (signed > 0):
            # Opening or adding: weighted average entry price; the fee waits for the close.
            total = current + signed
            position.average_price = (
                position.average_price * abs(current) + fill.price * abs(signed)
            ) / abs(total)
            if current == 0:
                position.entry_ts = fill.ts
            position.quantity = total
            position.open_fees += fee_in_quote
            return
        closing = min(abs(signed), abs(current))
        share = closing / abs(current)
        entry_fees = position.open_fees * share
        exit_fees = fee_in_quote * (closing / abs(signed))
        direction = 1 if current > 0 else -1
        gross = (fill.price - position.average_price) * closing * direction
        pnl = gross - entry_fees - exit_fees
        self.trades.append(
            ClosedTrade(
                strategy_id=position.strategy_id,
                symbol=position.symbol,
                side="long" if current > 0 else "short",
                entry_ts=position.entry_ts,
                exit_ts=fill.ts,
                entry_price=position.average_price,
                exit_price=fill.price,
                quantity=closing,
                fees=entry_fees + exit_fees,
                pnl=pnl,
                reason=reason,
            )
        )
        position.realized_pnl += pnl
        position.open_fees -= entry_fees
        remainder = current + signed
        if remainder == 0 or (remainder > 0) == (current > 0):
            position.quantity = remainder
            if remainder == 0:
                position.average_price = ZERO
                position.open_fees = ZERO
            return
        # The fill reversed the position: what is left over opens the other side.
        position.quantity = remainder
        position.average_price = fill.price
        position.entry_ts = fill.ts
        position.open_fees = fee_in_quote - exit_fees
