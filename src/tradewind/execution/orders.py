"""Turn an approved decision into an order: type, side, quantity, reduce-only, client id."""

from __future__ import annotations

from tradewind.core.intents import Decision, IntentAction, PriceType
from tradewind.core.money import ZERO
from tradewind.core.orders import ClientIdFactory, Order, OrderType
from tradewind.core.records import Side

_SIDE = {
    IntentAction.ENTER_LONG: Side.BUY,
    IntentAction.EXIT_SHORT: Side.BUY,
    IntentAction.ENTER_SHORT: Side.SELL,
    IntentAction.EXIT_LONG: Side.SELL,
}


def order_for(decision: Decision, ids: ClientIdFactory, ts: int) -> Order:
    """The order that carries out an approved ``decision``.

    Exits are reduce-only market orders for the position's quantity; entries are market orders by
    quote amount, or limit orders by quantity.
    """
    intent = decision.intent
    if not decision.approved:
        raise ValueError("only approved decisions become orders")
    side = _SIDE[intent.action]
    is_limit = intent.price_type is PriceType.LIMIT and not intent.action.is_exit
    if is_limit:
        return Order(
            ids.next(),
            intent.symbol,
            side,
            OrderType.LIMIT,
            decision.quantity or ZERO,
            price=decision.limit_price or intent.limit_price,
            strategy_id=intent.strategy_id,
            tag=intent.reason,
            created_ts=ts,
        )
    if intent.price_type in (PriceType.STOP, PriceType.TAKE_PROFIT):
        # Protective exits: a stop-market or take-profit order at the trigger, reduce-only.
        return Order(
            ids.next(),
            intent.symbol,
            side,
            OrderType.STOP_MARKET if intent.price_type is PriceType.STOP else OrderType.TAKE_PROFIT,
            decision.quantity or ZERO,
            trigger_price=intent.trigger_price,
            reduce_only=intent.action.is_exit,
            strategy_id=intent.strategy_id,
            tag=intent.reason,
            created_ts=ts,
        )
    return Order(
        ids.next(),
        intent.symbol,
        side,
        OrderType.MARKET,
        decision.quantity or ZERO,
        reduce_only=intent.action.is_exit,
        quote_quantity=decision.quote_amount,
        strategy_id=intent.strategy_id,
        tag=intent.reason,
        created_ts=ts,
    )
