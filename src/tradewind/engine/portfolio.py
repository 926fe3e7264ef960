"""The portfolio: positions per strategy and symbol, a Decimal ledger per asset, closed trades.

It books what the venue reports (fills, funding, liquidations) and nothing else, so in every mode
it is a pure function of the venue's event stream.

Spot: a buy spends quote and receives base; fees are charged in the currency the venue charged
them in (a fee in base reduces the base received). Linear perpetuals: nothing is bought; the
settle currency's ledger takes the fees, the realised PnL of reductions, funding and liquidation
losses, and the open position is worth ``contract size x (quantity x price - cost basis)``.

Every ledger movement is also kept in :attr:`Portfolio.ledger` with the time it is booked at, and
every change of a perpetual position in :attr:`Portfolio.exposures`, so the equity curve can be
derived from them with array operations (:mod:`tradewind.engine.equity`). The booking time
(``at``, UTC ms) is the open time of the bar the movement belongs to, so the curve counts it from
that bar's close on: a fill at a bar's open belongs to that bar, a fill at a close (the signal
bar's, ``fill_at=close``) to the bar that closes then, live events to the latest bar.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal

from tradewind.core.instrument import Instrument, MarketType
from tradewind.core.money import ZERO
from tradewind.core.orders import Fill
from tradewind.core.records import Side
from tradewind.sim.lots import position_is_dust


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
    open_funding: Decimal = ZERO
    """Funding booked while the position is open, credited to the trade when it closes."""
    realized_pnl: Decimal = ZERO
    dust: Decimal = ZERO
    """Base left behind by a spot exit, less than one sellable lot (:mod:`tradewind.sim.lots`):
    held in the base balance and valued at market, not a position; it joins the next entry."""


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
    funding: Decimal = ZERO
    """Funding paid (negative) or received while the trade was open, included in ``pnl``."""


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One movement of one asset's balance in ``symbol``, booked at ``at`` (UTC ms)."""

    symbol: str
    at: int
    asset: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Exposure:
    """A perpetual's net position after a change: quantity and cost basis (sum of quantity x
    entry price over the strategies holding it), from the booking time ``at`` (UTC ms) on."""

    symbol: str
    at: int
    quantity: Decimal
    cost: Decimal


@dataclass(frozen=True, slots=True)
class BookedFill:
    """A fill as the portfolio booked it, with the strategy it belongs to and the time it is
    booked at (UTC ms; for deriving the equity curve)."""

    fill: Fill
    strategy_id: str
    at: int


@dataclass
class Portfolio:
    """Balances, positions and the trade list of one account."""

    instruments: dict[str, Instrument]
    cash: dict[str, Decimal] = field(default_factory=dict)
    positions: dict[tuple[str, str], Position] = field(default_factory=dict)
    trades: list[ClosedTrade] = field(default_factory=list)
    fills: list[BookedFill] = field(default_factory=list)
    fees_paid: dict[str, Decimal] = field(default_factory=dict)
    ledger: list[LedgerEntry] = field(default_factory=list)
    exposures: list[Exposure] = field(default_factory=list)
    leverage: dict[str, Decimal] = field(default_factory=dict)

    def _move(self, symbol: str, at: int, asset: str, amount: Decimal) -> None:
        if amount:
            cash = self.cash
            cash[asset] = cash.get(asset, ZERO) + amount
            self.ledger.append(LedgerEntry(symbol, at, asset, amount))

    def margin_in_use(self, currency: str) -> Decimal:
        """Initial margin of the open perpetual positions settled in ``currency``."""
        total = ZERO
        for (_, symbol), position in self.positions.items():
            instrument = self.instruments[symbol]
            if (
                position.quantity
                and instrument.is_derivative
                and instrument.settle_currency == currency
            ):
                notional = (
                    abs(position.quantity) * position.average_price * instrument.contract_size
                )
                total += notional / self.leverage.get(symbol, Decimal(1))
        return total

    def unrealized(self, symbol: str, price: Decimal) -> Decimal:
        """Open PnL of every strategy's perpetual position in ``symbol`` at ``price``."""
        size = self.instruments[symbol].contract_size
        return sum(
            (
                (price - p.average_price) * p.quantity * size
                for (_, s), p in self.positions.items()
                if s == symbol
            ),
            ZERO,
        )

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

    def apply_fill(self, fill: Fill, strategy_id: str, at: int, reason: str = "") -> None:
        """Book one fill at ``at`` (UTC ms, see the module): ledger, position, fees, and a closed
        trade when it reduces a position."""
        instrument = self.instruments[fill.symbol]
        base, quote = instrument.base, instrument.quote
        self.fees_paid[fill.fee_currency] = self.fees_paid.get(fill.fee_currency, ZERO) + fill.fee
        signed = fill.quantity if fill.side is Side.BUY else -fill.quantity
        self.fills.append(BookedFill(fill, strategy_id, at))
        position = self.position(strategy_id, fill.symbol)
        if instrument.market_type is not MarketType.SPOT:  # a derivative
            gross = self._update_position(position, signed, fill, fill.fee, reason)
            self._move(fill.symbol, at, instrument.settle_currency, gross - fill.fee)
            self._record_exposure(fill.symbol, at)
            return
        notional = fill.price * fill.quantity
        fee_in_quote = fill.fee if fill.fee_currency == quote else fill.fee * fill.price
        self._move(fill.symbol, at, quote, -notional if fill.side is Side.BUY else notional)
        self._move(fill.symbol, at, base, signed)
        self._move(fill.symbol, at, fill.fee_currency, -fill.fee)
        if fill.fee_currency == base:
            # The base the account actually holds moved by the fee too.
            signed -= fill.fee
        if position.dust and signed > 0 and position.quantity == 0:
            # Dust joins the next entry, valued at that entry's price: the new position holds
            # it, and the trade that closes the position sells it with the rest.
            signed += position.dust
            position.dust = ZERO
        closed = len(self.trades)
        self._update_position(position, signed, fill, fee_in_quote, reason)
        if position_is_dust(instrument, position.quantity):
            self._to_dust(position, closed)

    def _to_dust(self, position: Position, closed_before: int) -> None:
        """The position is less than one sellable lot: it is dust now, not a position. The
        entry fees still open are charged to the trade this fill closed."""
        if len(self.trades) > closed_before and position.open_fees:
            last = self.trades[-1]
            self.trades[-1] = replace(
                last, fees=last.fees + position.open_fees, pnl=last.pnl - position.open_fees
            )
            position.realized_pnl -= position.open_fees
        position.dust += position.quantity
        position.quantity = ZERO
        position.average_price = ZERO
        position.open_fees = ZERO
        position.open_funding = ZERO

    def dust(self) -> dict[str, Decimal]:
        """Base dust per symbol (every strategy's), where there is any."""
        found: dict[str, Decimal] = {}
        for (_, symbol), position in self.positions.items():
            if position.dust:
                found[symbol] = found.get(symbol, ZERO) + position.dust
        return found

    def apply_funding(self, symbol: str, amount: Decimal, currency: str, at: int) -> None:
        """Book a funding payment at ``at`` (UTC ms), shared among the strategies holding
        ``symbol`` by size."""
        self._move(symbol, at, currency, amount)
        holders = [p for (_, s), p in self.positions.items() if s == symbol and p.quantity]
        total = sum((abs(p.quantity) for p in holders), ZERO)
        for position in holders:
            share = amount * abs(position.quantity) / total
            position.open_funding += share
            position.realized_pnl += share

    def apply_liquidation(
        self,
        symbol: str,
        price: Decimal,
        margin_lost: Decimal,
        currency: str,
        ts: int,
        at: int,
    ) -> None:
        """Close every strategy's position in ``symbol`` at ``ts`` (booked at ``at``): the
        isolated margin is lost."""
        self._move(symbol, at, currency, -margin_lost)
        holders = [p for (_, s), p in self.positions.items() if s == symbol and p.quantity]
        total = sum((abs(p.quantity) for p in holders), ZERO)
        for position in holders:
            share = abs(position.quantity) / total
            pnl = -margin_lost * share - position.open_fees + position.open_funding
            self.trades.append(
                ClosedTrade(
                    strategy_id=position.strategy_id,
                    symbol=symbol,
                    side="long" if position.quantity > 0 else "short",
                    entry_ts=position.entry_ts,
                    exit_ts=ts,
                    entry_price=position.average_price,
                    exit_price=price,
                    quantity=abs(position.quantity),
                    fees=position.open_fees,
                    pnl=pnl,
                    reason="liquidation",
                    funding=position.open_funding,
                )
            )
            position.realized_pnl += -margin_lost * share
            position.quantity = ZERO
            position.average_price = ZERO
            position.open_fees = ZERO
            position.open_funding = ZERO
        self._record_exposure(symbol, at)

    def _record_exposure(self, symbol: str, at: int) -> None:
        held = [p for (_, s), p in self.positions.items() if s == symbol]
        quantity = sum((p.quantity for p in held), ZERO)
        cost = sum((p.quantity * p.average_price for p in held), ZERO)
        self.exposures.append(Exposure(symbol, at, quantity, cost))

    def _update_position(
        self, position: Position, signed: Decimal, fill: Fill, fee_in_quote: Decimal, reason: str
    ) -> Decimal:
        """Update the position; return the gross PnL the fill realised (0 when it opens)."""
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
            return ZERO
        closing = min(abs(signed), abs(current))
        share = closing / abs(current)
        entry_fees = position.open_fees * share
        exit_fees = fee_in_quote * (closing / abs(signed))
        direction = 1 if current > 0 else -1
        size = self.instruments[fill.symbol].contract_size
        gross = (fill.price - position.average_price) * closing * direction * size
        funding = position.open_funding * share
        pnl = gross - entry_fees - exit_fees + funding
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
                funding=funding,
            )
        )
        # Funding was already added to realized_pnl when it was paid.
        position.realized_pnl += pnl - funding
        position.open_fees -= entry_fees
        position.open_funding -= funding
        remainder = current + signed
        if remainder == 0 or (remainder > 0) == (current > 0):
            position.quantity = remainder
            if remainder == 0:
                position.average_price = ZERO
                position.open_fees = ZERO
                position.open_funding = ZERO
            return gross
        # The fill reversed the position: what is left over opens the other side.
        position.quantity = remainder
        position.average_price = fill.price
        position.entry_ts = fill.ts
        position.open_fees = fee_in_quote - exit_fees
        position.open_funding = ZERO
        return gross
