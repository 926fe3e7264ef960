"""Rebuild the account state a restarted bot continues from, out of its repository.

A paper or live session that stops (or is killed) leaves its last checkpoint in the repository:
every position with its average price, entry time, realised PnL and the fees and funding still
waiting for the close, every ledger balance, and every order with its fills. :func:`resume_portfolio`
and :func:`working_orders` turn those back into the engine's objects; the driver then reconciles
them with the venue (by client id) before any strategy may act.
"""

from __future__ import annotations

from tradewind.core.instrument import Instrument
from tradewind.core.orders import Order
from tradewind.core.repository import TradingRepository
from tradewind.engine.portfolio import Portfolio, Position


def resume_portfolio(
    repository: TradingRepository, instruments: dict[str, Instrument]
) -> Portfolio:
    """A portfolio holding the stored balances and positions.

    Raises
    ------
    KeyError
        When a stored position is in a symbol ``instruments`` does not know: the bot would trade
        it blind.
    """
    portfolio = Portfolio(instruments, cash=repository.load_balances())
    for state in repository.load_positions():
        if state.symbol not in instruments:
            raise KeyError(f"stored position in {state.symbol} has no instrument to trade it")
        portfolio.positions[(state.strategy_id, state.symbol)] = Position(
            strategy_id=state.strategy_id,
            symbol=state.symbol,
            quantity=state.quantity,
            average_price=state.average_price,
            entry_ts=state.entry_ts,
            open_fees=state.open_fees,
            open_funding=state.open_funding,
            realized_pnl=state.realized_pnl,
        )
    return portfolio


def working_orders(repository: TradingRepository) -> dict[str, Order]:
    """The orders that were still working, by client id, with the fills they had."""
    return {order.client_id: order for order in repository.load_orders(open_only=True)}
