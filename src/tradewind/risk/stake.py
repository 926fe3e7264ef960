"""Stake: how much of the account one entry may use."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from tradewind.core.errors import UserError


class StakeKind(StrEnum):
    """The three stake rules."""

    ALL = "all"
    PERCENT = "percent"
    AMOUNT = "amount"


@dataclass(frozen=True)
class Stake:
    """``all`` free quote cash, a percent of equity, or a fixed quote amount per entry."""

    kind: StakeKind
    value: Decimal = Decimal(0)

    @classmethod
    def parse(cls, text: str | Decimal | float | int) -> Stake:
        """Parse ``"all"``, ``"25%"`` or ``"1000"`` (quote currency).

        Raises
        ------
        UserError
            If the text is none of these, or the number is not positive.
        """
        raw = str(text).strip().lower()
        if raw == "all":
            return cls(StakeKind.ALL)
        try:
            if raw.endswith("%"):
                value = Decimal(raw[:-1])
                if not 0 < value <= 100:
                    raise UserError(f"stake percent must be within (0, 100], got {raw}")
                return cls(StakeKind.PERCENT, value / 100)
            value = Decimal(raw)
        except InvalidOperation:
            raise UserError(
                f"invalid stake {text!r}: use 'all', a percent such as '25%', or a quote amount"
            ) from None
        if not value.is_finite() or value <= 0:
            raise UserError(f"stake amount must be positive, got {raw}")
        return cls(StakeKind.AMOUNT, value)

    def __str__(self) -> str:
        if self.kind is StakeKind.ALL:
            return "all"
        if self.kind is StakeKind.PERCENT:
            return f"{self.value * 100}%"
        return str(self.value)
