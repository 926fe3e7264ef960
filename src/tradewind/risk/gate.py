"""The risk gate: every intent in, an approved and sized decision or a denial with a reason out.

This first gate sizes entries by the stake rule only. Exits are reduce-only and always approved,
whatever else is going on: a bot must never be kept from closing or protecting a position.
"""

from __future__ import annotations

from decimal import Decimal

from tradewind.core.instrument import Instrument
from tradewind.core.intents import Decision, Intent, IntentAction, PriceType
from tradewind.core.money import ZERO, floor_to_step
from tradewind.core.ports import AccountView
from tradewind.risk.stake import Stake, StakeKind
from tradewind.sim.lots import exit_quantity

_EXITS = frozenset({IntentAction.EXIT_LONG, IntentAction.EXIT_SHORT})
"""``IntentAction.is_exit`` as a set: a membership test instead of a property call per intent."""


class StakeGate:
    """Size entries by a :class:`Stake`; approve every exit for the whole lots of the position.

    Market entries are sized as a quote amount (the venue fixes the base quantity at the fill
    price, fee included); limit entries as a base quantity at the limit price.
    """

    def __init__(self, stake: Stake, instruments: dict[str, Instrument]) -> None:
        self.stake = stake
        self.instruments = instruments

    def decide(self, intent: Intent, account: AccountView) -> Decision:
        """Size or deny ``intent`` (see the class docstring)."""
        instrument = self.instruments.get(intent.symbol)
        if instrument is None:
            return Decision.deny(intent, f"no instrument for {intent.symbol}")
        position = account.position(intent.strategy_id, intent.symbol)
        if intent.action in _EXITS:
            wanted_sign = 1 if intent.action is IntentAction.EXIT_LONG else -1
            if position == 0 or (position > 0) != (wanted_sign > 0):
                return Decision.deny(
                    intent, f"no {'long' if wanted_sign > 0 else 'short'} position to exit"
                )
            # Whole lots only: a remainder below one lot stays behind as dust (sim.lots).
            return Decision(intent, True, quantity=exit_quantity(instrument, position))
        if position != 0:
            return Decision.deny(intent, "a position is already open")
        if intent.action is IntentAction.ENTER_SHORT and instrument.is_spot:
            return Decision.deny(
                intent, f"{intent.symbol} is a spot market: it cannot be sold short"
            )
        free = account.free(instrument.quote)
        budget = self._budget(free, account)
        if intent.size_hint is not None:
            budget *= min(max(intent.size_hint, ZERO), Decimal(1))
        if budget <= 0:
            return Decision.deny(intent, f"no free {instrument.quote} to stake")
        if budget > free:
            return Decision.deny(
                intent, f"stake {budget} {instrument.quote} exceeds the free {free}"
            )
        if instrument.min_notional is not None and budget < instrument.min_notional:
            return Decision.deny(
                intent, f"stake {budget} is below the minimum notional {instrument.min_notional}"
            )
        if intent.price_type is PriceType.LIMIT:
            if intent.limit_price is None:
                return Decision.deny(intent, "a limit intent needs a limit price")
            price = instrument.round_price(intent.limit_price)
            quantity = floor_to_step(
                budget / (price * (1 + instrument.maker_fee)), instrument.amount_step
            )
            if quantity <= 0:
                return Decision.deny(intent, "the stake buys less than one lot")
            return Decision(intent, True, quantity=quantity, limit_price=price)
        return Decision(intent, True, quote_amount=budget)

    def _budget(self, free: Decimal, account: AccountView) -> Decimal:
        if self.stake.kind is StakeKind.ALL:
            return free
        if self.stake.kind is StakeKind.PERCENT:
            return min(account.equity() * self.stake.value, free)
        return self.stake.value
