"""Amending an open order in place (Bybit's ``/v5/order/amend``), on the shared matching core.

The order keeps its id and what it has filled. A resting order leaves the book and comes back at
its new price and quantity behind everything already there (an amended order loses its queue
place, as on Bybit); a new price that crosses the book takes liquidity first. A spot order's
reservation grows or shrinks to what the new remainder needs, so balances stay exact. A
conditional order that has not triggered only changes its fields.
"""

from __future__ import annotations

from decimal import Decimal

from tradewind.exchange_sim import errors
from tradewind.exchange_sim.accounts import InsufficientBalance
from tradewind.exchange_sim.engine import MatchingEngine
from tradewind.exchange_sim.errors import BinanceError
from tradewind.exchange_sim.orders import SimOrder


def amend_order(
    engine: MatchingEngine,
    order: SimOrder,
    *,
    qty: Decimal | None,
    price: Decimal | None,
    trigger: Decimal | None,
) -> None:
    """Change the total quantity, limit price or trigger price of an open order.

    Raises
    ------
    BinanceError
        ``UNKNOWN_ORDER`` for a closed order, ``INSUFFICIENT`` when a spot order's new
        remainder needs more than the account has free (the order is then left as it was).
    """
    market = engine.markets[(order.futures, order.symbol)]
    if not order.is_open:
        raise BinanceError(errors.UNKNOWN_ORDER)
    new_qty = qty if qty is not None else order.qty
    new_price = price if price is not None and order.price is not None else order.price
    resting = not order.waiting_trigger
    if resting:
        market.book.remove_own(order)
    res = order.reservation
    if res is not None and order.list_id == -1:
        left = new_qty - order.filled
        ref = new_price if new_price is not None else trigger or order.stop_price
        need = left if not order.is_buy else (ref or Decimal(0)) * left
        account = order.account
        if need > res.remaining:
            try:
                account.debit(res.asset, need - res.remaining)
            except InsufficientBalance:
                if resting:
                    market.book.add_own(order)
                raise BinanceError(errors.INSUFFICIENT) from None
            account.balance(res.asset).locked += need - res.remaining
            res.remaining = need
        elif need < res.remaining:
            account.release(res, res.remaining - need)
    order.qty, order.price = new_qty, new_price
    if trigger is not None and order.stop_price is not None:
        order.stop_price = trigger
    order.updated_ms = engine.clock()
    engine.sink.order_update(order, "AMENDMENT", None)
    engine._touch(order.account, order.futures, order.symbol)
    if resting:
        engine._execute(market, order)
    engine._run_triggers(market)
    engine.finish(market)
