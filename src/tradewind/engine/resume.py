"""Rebuild the account state a restarted bot continues from, out of its repository.

A paper or live session that stops (or is killed) leaves its last checkpoint in the repository:
every position with its average price, entry time, realised PnL and the fees and funding still
waiting for the close, every ledger balance, and every order with its fills. :func:`resume_portfolio`
and :func:`working_orders` turn those back into the engine's objects; the driver then reconciles
them with the venue (by client id) before any strategy may act.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tradewind.core.errors import UserError
from tradewind.core.instrument import Instrument
from tradewind.core.orders import Order
from tradewind.core.repository import TradingRepository
from tradewind.engine.node import Node
from tradewind.engine.portfolio import Portfolio, Position
from tradewind.execution.parent import Parent


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
            dust=state.dust,
        )
    return portfolio


def working_orders(repository: TradingRepository) -> dict[str, Order]:
    """The orders that were still working, by client id, with the fills they had."""
    return {order.client_id: order for order in repository.load_orders(open_only=True)}


@dataclass
class ResumedAccount:
    """What a restarted session continues from (see :func:`resume_account`)."""

    portfolio: Portfolio
    """The checkpointed balances and positions with every later fill booked."""
    orders: dict[str, Order]
    """The orders still working, by client id, with the fills they had."""
    fills: int
    """How many fills the repository holds (all of them are in ``portfolio``)."""


def resume_account(
    repository: TradingRepository, instruments: dict[str, Instrument]
) -> ResumedAccount | None:
    """The account of the last checkpoint, brought up to date with the fills recorded after it;
    None when the repository has no checkpoint (a bot's first session).

    A process killed after recording a fill but before its next checkpoint loses nothing: each
    fill is stored with the status change it caused in one transaction, the checkpoint notes how
    many fills it includes, and the ones after it are booked here in the order they were recorded.

    Raises
    ------
    KeyError
        When a stored open position, or a fill after the checkpoint, is in a symbol
        ``instruments`` does not know.
    """
    checkpoint = repository.load_checkpoint()
    if checkpoint is None:
        return None
    portfolio = Portfolio(instruments, cash=dict(checkpoint.balances))
    for state in checkpoint.positions:
        if state.symbol not in instruments:
            if state.quantity == 0:
                continue  # a flat position in a market this session does not trade
            raise KeyError(f"stored position in {state.symbol} has no instrument to trade it")
        portfolio.positions[(state.strategy_id, state.symbol)] = Position(
            strategy_id=state.strategy_id, symbol=state.symbol, quantity=state.quantity,
            average_price=state.average_price, entry_ts=state.entry_ts,
            open_fees=state.open_fees, open_funding=state.open_funding,
            realized_pnl=state.realized_pnl, dust=state.dust,
        )  # fmt: skip
    for fill, strategy_id in checkpoint.later:
        if fill.symbol not in instruments:
            raise KeyError(f"a fill in {fill.symbol} has no instrument to book it")
        portfolio.apply_fill(fill, strategy_id, 0)
    return ResumedAccount(
        portfolio, working_orders(repository), checkpoint.fills + len(checkpoint.later)
    )


def resume_parents(
    node: Node, parents: Iterable[tuple[Parent, int]], orders: Iterable[Order]
) -> list[Parent]:
    """Hand the parents an earlier session left working back to ``node``'s desk, each with how
    many child ids it had used and its children among ``orders`` (the bot's recorded orders,
    after reconciliation: an open child must be carried on at the venue already). Nothing is
    sent here: a working parent sends its next child, numbered after the last one used, at its
    next wake-up. Returns the parents still working.

    Raises
    ------
    UserError
        For a parent of a strategy and symbol this session does not trade.
    """
    bindings = {(b.strategy_id, b.symbol): b for b in node.bindings}
    recorded = list(orders)
    resumed = []
    for parent, numbered in parents:
        binding = bindings.get((parent.strategy_id, parent.symbol))
        if binding is None:
            raise UserError(
                f"parent order {parent.parent_id} of an earlier session belongs to strategy "
                f"{parent.strategy_id!r} in {parent.symbol}, which this session does not trade"
            )
        prefix = f"{parent.parent_id}-"
        children = [o for o in recorded if o.client_id.startswith(prefix)]
        node.desk.resume(parent, numbered, children, binding, node.now)
        if parent.is_working:
            resumed.append(parent)
    return resumed
