"""Intents: what a strategy wants, before the risk gate sizes it and execution turns it into orders.

Strategies never make orders (DESIGN, principle 3). An intent says the direction, how to price it,
and why; the risk gate decides how much, or denies it with a reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from tradewind.core.algo_spec import AlgoSpec


class IntentAction(StrEnum):
    """What the strategy wants to do with its position in one symbol."""

    ENTER_LONG = "enter_long"
    EXIT_LONG = "exit_long"
    ENTER_SHORT = "enter_short"
    EXIT_SHORT = "exit_short"

    @property
    def is_exit(self) -> bool:
        """True for actions that only reduce a position."""
        return self in (IntentAction.EXIT_LONG, IntentAction.EXIT_SHORT)


class PriceType(StrEnum):
    """How the resulting order is priced."""

    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"
    """A stop-market order at ``trigger_price`` (protective stops)."""
    TAKE_PROFIT = "take_profit"
    """A take-profit order at ``trigger_price`` (profit targets, scale-out rungs)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Intent:
    """One wish of one strategy for one symbol at one moment.

    ``size_hint`` is a fraction in (0, 1] of what the stake rule would give (1 = the full stake);
    ``confidence`` in [0, 1] is for confidence-scaled sizing. ``limit_price`` is required for limit
    intents, ``trigger_price`` for stop and take-profit intents. ``quantity`` asks for an explicit
    base quantity (a partial exit, a pyramiding add): the gate still checks it. ``stop_price`` is
    the protective stop the strategy plans (fixed-risk sizing and the heat limit use it when no
    stop rule is configured). ``algo`` names the execution algorithm of a market intent (a parent
    order: TWAP, VWAP, POV, iceberg, smart limit, guarded market); None leaves it to the run's
    default execution (a plain order when none is set).
    """

    strategy_id: str
    symbol: str
    action: IntentAction
    ts: int
    price_type: PriceType = PriceType.MARKET
    limit_price: Decimal | None = None
    size_hint: Decimal | None = None
    confidence: float | None = None
    reason: str = ""
    trigger_price: Decimal | None = None
    quantity: Decimal | None = None
    stop_price: Decimal | None = None
    algo: AlgoSpec | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """The risk gate's answer: approved with a size, or denied with a reason.

    An approved entry carries either ``quantity`` (base units) or ``quote_amount`` (spend this
    much quote currency, sized at the fill price, as Binance's ``quoteOrderQty`` does). An exit
    carries the quantity to close and is always reduce-only.
    """

    intent: Intent
    approved: bool
    quantity: Decimal | None = None
    quote_amount: Decimal | None = None
    reason: str = ""
    limit_price: Decimal | None = None
    """The intent's limit price rounded to the instrument's tick (limit entries only)."""
    code: str = ""
    """Machine-readable reason (``breaker.daily_loss``, ``limit.heat``...): for a denial, why; for
    an approval, the limit that reduced it (empty at full size)."""

    @classmethod
    def deny(cls, intent: Intent, reason: str, code: str = "denied") -> Decision:
        """A denial with a reason the user can read and a machine-readable code."""
        return cls(intent, False, reason=reason, code=code)
