"""Tiered maintenance margin: the exchange's notional brackets.

An exchange asks more maintenance margin of a larger position. Each bracket covers notionals up to
its cap and states a maintenance rate and a maintenance amount; a position of notional ``n`` in
bracket ``b`` needs ``n x rate_b - amount_b`` (Binance's formula, where the amount is called
``cum``). The amount is what makes the margin continuous where one bracket ends and the next
begins, so it follows from the rates and caps (:meth:`MarginBrackets.from_rates` derives it) and a
table whose amounts break continuity is refused.

Rates rise from bracket to bracket, so the maintenance margin is convex in the notional: it equals
the largest of the brackets' lines ``n x rate - amount``. The liquidation price therefore has a
closed form (:func:`tradewind.sim.rules.tiered_liquidation_price`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from tradewind.core.errors import UserError
from tradewind.core.money import ZERO


@dataclass(frozen=True, slots=True)
class MarginBracket:
    """One notional tier: notionals up to ``cap`` (None: no cap) need ``n x rate - amount``."""

    cap: Decimal | None
    rate: Decimal
    amount: Decimal

    def maintenance(self, notional: Decimal) -> Decimal:
        """This bracket's maintenance margin for ``notional`` (whether or not it lies inside)."""
        return notional * self.rate - self.amount


@dataclass(frozen=True, slots=True)
class MarginBrackets:
    """An instrument's maintenance-margin brackets, lowest notional first.

    Raises
    ------
    UserError
        If the table is empty, the caps do not rise, the last bracket has a cap, a rate is outside
        ``[0, 1)`` or falls, or an amount breaks continuity at a cap.
    """

    brackets: tuple[MarginBracket, ...]
    floats: tuple[tuple[float, float, float], ...] = field(init=False, repr=False, compare=False)
    """``(cap, rate, amount)`` per bracket as floats (the last cap infinite), converted once for
    the compiled code."""

    def __post_init__(self) -> None:
        if not self.brackets:
            raise UserError("margin brackets: the table is empty")
        floor, previous = ZERO, None
        for index, bracket in enumerate(self.brackets):
            last = index == len(self.brackets) - 1
            if (bracket.cap is None) != last:
                raise UserError("margin brackets: every bracket but the last needs a cap")
            if bracket.cap is not None and bracket.cap <= floor:
                raise UserError(f"margin brackets: caps must rise, {bracket.cap} after {floor}")
            if not ZERO <= bracket.rate < 1:
                raise UserError(f"margin brackets: rate {bracket.rate} is outside [0, 1)")
            if previous is not None:
                if bracket.rate < previous.rate:
                    raise UserError("margin brackets: rates must not fall with the notional")
                if bracket.maintenance(floor) != previous.maintenance(floor):
                    raise UserError(
                        f"margin brackets: the amount {bracket.amount} breaks continuity at {floor}"
                    )
            elif bracket.amount != 0:
                raise UserError("margin brackets: the first bracket's amount must be 0")
            floor = bracket.cap if bracket.cap is not None else floor
            previous = bracket
        object.__setattr__(
            self,
            "floats",
            tuple(
                (float("inf") if b.cap is None else float(b.cap), float(b.rate), float(b.amount))
                for b in self.brackets
            ),
        )

    @classmethod
    def from_rates(cls, tiers: Iterable[tuple[Decimal | None, Decimal]]) -> MarginBrackets:
        """A table from ``(cap, rate)`` pairs, each amount derived so the margin is continuous."""
        out: list[MarginBracket] = []
        floor, amount = ZERO, ZERO
        for cap, rate in tiers:
            if out:
                amount += floor * (rate - out[-1].rate)
            out.append(MarginBracket(cap, rate, amount))
            floor = cap if cap is not None else floor
        return cls(tuple(out))

    def bracket(self, notional: Decimal) -> MarginBracket:
        """The bracket whose range holds ``notional`` (a notional at a cap is in the lower one)."""
        for bracket in self.brackets:
            if bracket.cap is None or abs(notional) <= bracket.cap:
                return bracket
        raise AssertionError("unreachable: the last bracket has no cap")

    def maintenance(self, notional: Decimal) -> Decimal:
        """Maintenance margin of a position of absolute ``notional``."""
        return self.bracket(notional).maintenance(abs(notional))


BINANCE_USDT_M_BRACKETS = MarginBrackets.from_rates(
    [
        (Decimal(50_000), Decimal("0.004")),
        (Decimal(500_000), Decimal("0.005")),
        (Decimal(8_000_000), Decimal("0.01")),
        (Decimal(50_000_000), Decimal("0.025")),
        (Decimal(80_000_000), Decimal("0.05")),
        (Decimal(100_000_000), Decimal("0.1")),
        (Decimal(120_000_000), Decimal("0.125")),
        (Decimal(200_000_000), Decimal("0.15")),
        (Decimal(300_000_000), Decimal("0.25")),
        (None, Decimal("0.5")),
    ]
)
"""Binance's USDT-M leverage brackets for BTCUSDT (``GET /fapi/v1/leverageBracket``, as
published on Binance's "Leverage and Margin of USDⓈ-M Futures" page): 0.4 % up to 50,000 USDT of
notional (125x), 0.5 % to 500,000 (cum 50), 1 % to 8M (cum 2,550), 2.5 % to 50M (cum 122,550),
5 % to 80M, 10 % to 100M, 12.5 % to 120M, 15 % to 200M, 25 % to 300M and 50 % above (1x). The
default of every instrument: an exchange's own table replaces it where the connector can read one
(:func:`tradewind.connectors.instruments.brackets_from_ccxt`)."""
