"""Tax lots: what each disposal of a crypto asset gained or lost, in a reporting currency.

Rules (United States practice, IRS Form 8949; every amount exact ``Decimal``):

- **Lots.** Every acquisition of an asset opens a lot: quantity, date and cost basis in the
  reporting currency (USD). The reporting currency's stand-ins (``USD``, ``USDT`` by default,
  valued 1:1) are cash: they have no lots and realise nothing.
- **Disposals** take quantity from the asset's lots in the order of the method: ``fifo`` (oldest
  first), ``lifo`` (newest first) or ``hifo`` (highest cost per unit first; ties oldest first).
  A lot used in part is split: the part taken carries ``cost x taken / quantity`` (to 1e-18) and
  the part left the rest of the cost, by subtraction, so no cost is ever lost to rounding. A disposal larger than
  the asset's lots is refused by name (an opening balance nobody recorded has no basis).
- **Spot trades.** A buy of ``BASE/QUOTE`` disposes of the quote it pays and acquires the base; a
  sell disposes of the base and acquires the quote. A crypto-to-crypto trade therefore disposes of
  the quote asset too. Values come from the quote leg: ``price x quantity x value(QUOTE)``, where
  ``value`` is the caller's pricer (the catalog's ``QUOTE/USDT`` candles in the CLI).
- **Fees** are included: a fee in the quote is paid out of the quote too; a fee in the base
  reduces the base received (buy) or adds to the base given (sell); a fee in a third currency is a
  disposal of that currency at its value. A fee's value adds to the basis of what a buy acquired
  and comes off the proceeds of what a sell disposed of.
- **Perpetuals** open no lots: their realised PnL (average cost, as the portfolio books it, fees
  included) and their funding are income in the settle currency, valued at the time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, localcontext
from enum import StrEnum

from tradewind.core.errors import UserError
from tradewind.core.money import ZERO
from tradewind.core.orders import Fill
from tradewind.core.records import Side

Pricer = Callable[[str, int], Decimal]
"""``value(asset, ts_ms)``: the reporting-currency value of one unit of ``asset`` at ``ts_ms``."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_LONG_TERM = timedelta(days=365)
_GRAIN = Decimal("1e-18")
_PRECISION = 60
"""Digits of the tax arithmetic: exact for every sum of amounts with at most 18 decimals below
10**42, so only the shares of split lots (quantized to 1e-18) are ever rounded."""


class LotMethod(StrEnum):
    """Which lots a disposal takes first."""

    FIFO = "fifo"
    LIFO = "lifo"
    HIFO = "hifo"


@dataclass
class Lot:
    """An open lot: ``quantity`` of ``asset`` acquired at ``acquired_ts`` for ``cost`` in total."""

    asset: str
    acquired_ts: int
    quantity: Decimal
    cost: Decimal
    sequence: int

    @property
    def unit_cost(self) -> Decimal:
        """Cost per unit."""
        return self.cost / self.quantity


@dataclass(frozen=True, slots=True)
class Disposal:
    """One Form 8949 line: part of one lot disposed of, with its proceeds, basis and gain."""

    asset: str
    quantity: Decimal
    acquired_ts: int
    disposed_ts: int
    proceeds: Decimal
    cost: Decimal

    @property
    def gain(self) -> Decimal:
        """Proceeds minus cost basis (negative: a loss)."""
        return self.proceeds - self.cost

    @property
    def long_term(self) -> bool:
        """Held more than one year (IRS: long-term)."""
        held = (_EPOCH + timedelta(milliseconds=self.disposed_ts)) - (
            _EPOCH + timedelta(milliseconds=self.acquired_ts)
        )
        return held > _LONG_TERM


@dataclass(frozen=True, slots=True)
class Income:
    """Ordinary income (or loss): a perpetual's realised PnL or a funding payment."""

    ts: int
    symbol: str
    kind: str
    amount: Decimal
    currency: str
    value: Decimal


@dataclass(frozen=True, slots=True)
class FundingPayment:
    """A funding payment as the repository stores it (negative when paid)."""

    symbol: str
    ts: int
    amount: Decimal
    currency: str


@dataclass
class TaxReport:
    """Every disposal and income line, and the lots still open."""

    method: LotMethod
    currency: str
    disposals: list[Disposal] = field(default_factory=list)
    income: list[Income] = field(default_factory=list)
    open_lots: dict[str, list[Lot]] = field(default_factory=dict)

    @property
    def realized(self) -> Decimal:
        """The sum of the gains of every disposal."""
        return sum((d.gain for d in self.disposals), ZERO)

    def in_year(self, year: int) -> TaxReport:
        """The lines of one calendar year (UTC); open lots as at the end of the whole history."""
        start = int((datetime(year, 1, 1, tzinfo=UTC) - _EPOCH) / timedelta(milliseconds=1))
        end = int((datetime(year + 1, 1, 1, tzinfo=UTC) - _EPOCH) / timedelta(milliseconds=1))
        return TaxReport(
            self.method,
            self.currency,
            [d for d in self.disposals if start <= d.disposed_ts < end],
            [i for i in self.income if start <= i.ts < end],
            self.open_lots,
        )


def split_symbol(symbol: str) -> tuple[str, str, str | None]:
    """``(base, quote, settle)`` of a ccxt unified symbol; ``settle`` is None for spot.

    Raises
    ------
    UserError
        When the symbol is not ``BASE/QUOTE`` or ``BASE/QUOTE:SETTLE``.
    """
    pair, _, settle = symbol.partition(":")
    base, sep, quote = pair.partition("/")
    if not sep or not base or not quote:
        raise UserError(f"symbol {symbol!r} is not BASE/QUOTE (or BASE/QUOTE:SETTLE)")
    return base, quote, settle or None


class _Book:
    """The open lots of every asset and the disposals so far."""

    def __init__(self, method: LotMethod, cash: frozenset[str], report: TaxReport) -> None:
        self.method = method
        self.cash = cash
        self.report = report
        self.lots: dict[str, list[Lot]] = report.open_lots
        self.sequence = 0

    def acquire(self, asset: str, quantity: Decimal, cost: Decimal, ts: int) -> None:
        if asset in self.cash or quantity <= 0:
            return
        self.sequence += 1
        self.lots.setdefault(asset, []).append(Lot(asset, ts, quantity, cost, self.sequence))

    def _order(self, lots: list[Lot]) -> list[Lot]:
        if self.method is LotMethod.FIFO:
            return lots
        if self.method is LotMethod.LIFO:
            return list(reversed(lots))
        return sorted(lots, key=lambda lot: (-lot.unit_cost, lot.sequence))

    def dispose(self, asset: str, quantity: Decimal, proceeds: Decimal, ts: int) -> None:
        """Take ``quantity`` of ``asset`` from its lots; ``proceeds`` are shared by quantity."""
        if asset in self.cash or quantity <= 0:
            return
        lots = self.lots.get(asset, [])
        held = sum((lot.quantity for lot in lots), ZERO)
        if held < quantity:
            when = (_EPOCH + timedelta(milliseconds=ts)).isoformat()
            raise UserError(
                f"{when}: a disposal of {quantity} {asset} but the recorded lots hold only {held} "
                f"{asset}; record how the rest was acquired (an opening balance has no basis)"
            )
        left = quantity
        proceeds_left = proceeds
        for lot in self._order(lots):
            if left == 0:
                break
            take = min(left, lot.quantity)
            # A part's share is rounded once, to 1e-18, and the rest keeps the remainder by
            # subtraction: the pieces of a lot's cost, and of a disposal's proceeds, add up exactly.
            part_cost = (
                lot.cost
                if take == lot.quantity
                else (lot.cost * take / lot.quantity).quantize(_GRAIN)
            )
            left -= take
            part_proceeds = (
                proceeds_left if left == 0 else (proceeds * take / quantity).quantize(_GRAIN)
            )
            proceeds_left -= part_proceeds
            self.report.disposals.append(
                Disposal(asset, take, lot.acquired_ts, ts, part_proceeds, part_cost)
            )
            lot.quantity -= take
            lot.cost -= part_cost
        self.lots[asset] = [lot for lot in lots if lot.quantity > 0]


@dataclass
class _Perp:
    quantity: Decimal = ZERO
    average: Decimal = ZERO


def _spot_fill(book: _Book, fill: Fill, value: Pricer) -> None:
    base, quote, _ = split_symbol(fill.symbol)
    notional = fill.price * fill.quantity
    quote_value = value(quote, fill.ts)
    trade_value = notional * quote_value
    fee_asset = fill.fee_currency
    fee_in_base = fill.fee if fee_asset == base else ZERO
    fee_in_quote = fill.fee if fee_asset == quote else ZERO
    third_fee_value = ZERO
    if fill.fee and fee_asset not in (base, quote):
        third_fee_value = fill.fee * value(fee_asset, fill.ts)
        book.dispose(fee_asset, fill.fee, third_fee_value, fill.ts)
    if fill.side is Side.BUY:
        paid = notional + fee_in_quote
        book.dispose(quote, paid, paid * quote_value, fill.ts)
        cost = paid * quote_value + third_fee_value
        book.acquire(base, fill.quantity - fee_in_base, cost, fill.ts)
    else:
        received = notional - fee_in_quote
        proceeds = trade_value - fee_in_quote * quote_value - third_fee_value
        book.dispose(base, fill.quantity + fee_in_base, proceeds, fill.ts)
        book.acquire(quote, received, received * quote_value, fill.ts)


def _perp_fill(
    positions: dict[str, _Perp], report: TaxReport, fill: Fill, settle: str, value: Pricer
) -> None:
    position = positions.setdefault(fill.symbol, _Perp())
    signed = fill.quantity if fill.side is Side.BUY else -fill.quantity
    current = position.quantity
    fee = fill.fee if fill.fee_currency == settle else fill.fee * fill.price
    gross = ZERO
    if current == 0 or (current > 0) == (signed > 0):
        total = current + signed
        position.average = (position.average * abs(current) + fill.price * abs(signed)) / abs(total)
        position.quantity = total
    else:
        closing = min(abs(signed), abs(current))
        direction = 1 if current > 0 else -1
        gross = (fill.price - position.average) * closing * direction
        remainder = current + signed
        position.quantity = remainder
        if remainder == 0:
            position.average = ZERO
        elif (remainder > 0) != (current > 0):
            position.average = fill.price
    amount = gross - fee
    if amount:
        rate = value(settle, fill.ts)
        report.income.append(
            Income(fill.ts, fill.symbol, "perpetual pnl", amount, settle, amount * rate)
        )


def tax_lots(
    fills: Iterable[Fill],
    value: Pricer,
    *,
    method: LotMethod = LotMethod.FIFO,
    funding: Sequence[FundingPayment] = (),
    currency: str = "USD",
    cash: Iterable[str] = ("USD", "USDT"),
) -> TaxReport:
    """Match every disposal to its lots and list perpetual PnL and funding as income.

    Parameters
    ----------
    fills
        Every fill of the account, any order (they are sorted by time, ties kept in order).
    value
        The reporting-currency value of one unit of an asset at a time (ms); it is asked only
        for assets that are not ``cash``, and may raise :class:`UserError` naming what is missing.
    method
        ``fifo``, ``lifo`` or ``hifo``.
    funding
        Funding payments of perpetuals (income).
    currency
        The reporting currency's name (for the report).
    cash
        Assets valued 1:1 in the reporting currency, which hold no lots.

    Raises
    ------
    UserError
        When a disposal exceeds the recorded lots, a symbol is malformed, or a price is missing.
    """
    with localcontext(prec=_PRECISION):
        return _match(fills, value, LotMethod(method), funding, currency, frozenset(cash))


def _match(
    fills: Iterable[Fill],
    value: Pricer,
    method: LotMethod,
    funding: Sequence[FundingPayment],
    currency: str,
    stand_ins: frozenset[str],
) -> TaxReport:

    def priced(asset: str, ts: int) -> Decimal:
        return Decimal(1) if asset in stand_ins else value(asset, ts)

    report = TaxReport(method, currency)
    book = _Book(report.method, stand_ins, report)
    perps: dict[str, _Perp] = {}
    events: list[tuple[int, int, Fill | FundingPayment]] = [
        (f.ts, i, f) for i, f in enumerate(fills)
    ]
    events += [(p.ts, len(events) + i, p) for i, p in enumerate(funding)]
    for _, _, event in sorted(events, key=lambda e: (e[0], e[1])):
        if isinstance(event, FundingPayment):
            report.income.append(
                Income(event.ts, event.symbol, "funding", event.amount, event.currency,
                       event.amount * priced(event.currency, event.ts))
            )  # fmt: skip
        else:
            settle = split_symbol(event.symbol)[2]
            if settle is None:
                _spot_fill(book, event, priced)
            else:
                _perp_fill(perps, report, event, settle, priced)
    return report
