"""How fills move money: spot balances and USDT-M wallets with positions.

Spot (:class:`SpotLedger`): a new order locks what it may spend (a buy limit ``price * qty`` of the
quote asset, a sell its base quantity, a market buy the cost of walking the book, a stop order
``stopPrice * qty``); each fill pays out of that lock and credits the other asset less the fee; the
fee is charged in the asset received (base for buys, quote for sells), maker or taker rate; what
is left of the lock returns to free when the order closes. OCO legs share one lock.

USDT-M (:class:`FuturesLedger`): one-way positions (``positionSide`` ``BOTH``). A fill that adds
to a position moves its entry price to the size-weighted average; one that reduces it realises
``(price - entry) * closed * direction`` into the wallet. Fees are charged in USDT from the
wallet. Isolated positions hold ``entry notional / leverage`` as their margin; a loss beyond the
wallet (a liquidation past bankruptcy) is absorbed by the simulated insurance fund, so the
wallet stops at zero. Funding is charged at each funding time (see :mod:`.funding`).

Both keep the account's trade history (``myTrades`` / ``userTrades``) with each fill's
commission (and realised PnL), so ``deposit + sum(fills) - sum(fees)`` equals the balance exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tradewind.core.brackets import BINANCE_USDT_M_BRACKETS, MarginBrackets
from tradewind.exchange_sim.accounts import ZERO, Account, fmt_dec
from tradewind.exchange_sim.listings import Listing
from tradewind.exchange_sim.orders import SimOrder


@dataclass(eq=False)
class Position:
    """One USDT-M position (one-way mode)."""

    symbol: str
    qty: Decimal = ZERO
    entry: Decimal = ZERO
    leverage: int = 20
    isolated: bool = False
    isolated_margin: Decimal = ZERO
    update_ms: int = 0
    brackets: MarginBrackets = BINANCE_USDT_M_BRACKETS
    """The listing's maintenance brackets (each fill sets them from its listing)."""

    def unrealized(self, mark: Decimal) -> Decimal:
        """Unrealised PnL at ``mark``."""
        return (mark - self.entry) * self.qty

    def notional(self, mark: Decimal) -> Decimal:
        """Absolute notional at ``mark``."""
        return abs(self.qty) * mark

    def maintenance(self, mark: Decimal) -> Decimal:
        """Maintenance margin at ``mark``: Binance's ``notional x maintMarginRatio - cum`` of the
        bracket whose ``[notionalFloor, notionalCap)`` holds the notional."""
        notional = self.notional(mark)
        for bracket in self.brackets.brackets:
            if bracket.cap is None or notional < bracket.cap:
                return notional * bracket.rate - bracket.amount
        raise AssertionError("unreachable: the last bracket has no cap")


def positions_of(account: Account) -> dict[str, Position]:
    """Return the account's USDT-M positions by symbol (created on first use)."""
    return account.positions


class SpotLedger:
    """Locks, fills and fees of spot orders."""

    def fee_rate(self, order: SimOrder, maker: bool) -> Decimal:
        """The account's maker or taker rate."""
        return order.account.maker_fee if maker else order.account.taker_fee

    def settle(
        self,
        order: SimOrder,
        listing: Listing,
        price: Decimal,
        qty: Decimal,
        maker: bool,
        trade_id: int,
        now_ms: int,
    ) -> dict[str, Any]:
        """Pay for a fill of ``qty`` at ``price``; return the account's trade record."""
        acct = order.account
        assert order.reservation is not None
        rate = self.fee_rate(order, maker)
        cost = price * qty
        if order.is_buy:
            short = cost - order.reservation.remaining
            if short > 0:
                # A triggered stop buy may cost more than its lock at the stop price.
                extra = acct.lock(listing.quote, short)
                order.reservation.remaining += extra.remaining
            acct.spend_locked(order.reservation, cost)
            fee, fee_asset = qty * rate, listing.base
            acct.credit(listing.base, qty - fee)
        else:
            acct.spend_locked(order.reservation, qty)
            fee, fee_asset = cost * rate, listing.quote
            acct.credit(listing.quote, cost - fee)
        acct.update_ms = now_ms
        record = {
            "symbol": order.symbol,
            "id": trade_id,
            "orderId": order.order_id,
            "orderListId": order.list_id,
            "price": fmt_dec(price),
            "qty": fmt_dec(qty),
            "quoteQty": fmt_dec(cost),
            "commission": fmt_dec(fee),
            "commissionAsset": fee_asset,
            "time": now_ms,
            "isBuyer": order.is_buy,
            "isMaker": maker,
            "isBestMatch": True,
        }
        acct.trades.append(record)
        return record

    def affordable(
        self, order: SimOrder, listing: Listing, price: Decimal, qty: Decimal
    ) -> Decimal:
        """Return how much of ``qty`` at ``price`` the order can pay for (buys may be short)."""
        if not order.is_buy or order.reservation is None:
            return qty
        budget = order.reservation.remaining + order.account.balance(listing.quote).free
        if price * qty <= budget:
            return qty
        steps = (budget / price / listing.step_size).to_integral_value(rounding="ROUND_DOWN")
        return max(ZERO, steps * listing.step_size)


class FuturesLedger:
    """Margin checks, positions, realised PnL and fees of USDT-M orders."""

    def settle(
        self,
        order: SimOrder,
        listing: Listing,
        price: Decimal,
        qty: Decimal,
        maker: bool,
        trade_id: int,
        now_ms: int,
    ) -> dict[str, Any]:
        """Apply a fill to the position and wallet; return the account's trade record."""
        acct = order.account
        pos = positions_of(acct).setdefault(order.symbol, Position(order.symbol))
        pos.brackets = listing.brackets
        signed = qty if order.is_buy else -qty
        rate = acct.futures_maker_fee if maker else acct.futures_taker_fee
        fee = acct.futures_debit(price * qty * rate)
        realized = ZERO
        if pos.qty == 0 or (pos.qty > 0) == (signed > 0):
            total = abs(pos.qty) + qty
            pos.entry = (pos.entry * abs(pos.qty) + price * qty) / total
            pos.qty += signed
            if pos.isolated:
                pos.isolated_margin += price * qty / pos.leverage
        else:
            closing = min(qty, abs(pos.qty))
            direction = 1 if pos.qty > 0 else -1
            realized = (price - pos.entry) * closing * direction
            if pos.isolated and pos.qty:
                pos.isolated_margin -= pos.isolated_margin * closing / abs(pos.qty)
            pos.qty += signed
            if realized >= 0:
                acct.futures_wallet += realized
            else:
                realized = -acct.futures_debit(-realized)
            if pos.qty == 0:
                pos.entry = ZERO
                pos.isolated_margin = ZERO
            elif (pos.qty > 0) != (direction > 0):
                # Flipped: the rest opens a new position at the fill price.
                pos.entry = price
                if pos.isolated:
                    pos.isolated_margin = abs(pos.qty) * price / pos.leverage
        pos.update_ms = now_ms
        acct.update_ms = now_ms
        record = {
            "buyer": order.is_buy,
            "commission": fmt_dec(fee),
            "commissionAsset": acct.futures_asset,
            "id": trade_id,
            "maker": maker,
            "orderId": order.order_id,
            "price": fmt_dec(price),
            "qty": fmt_dec(qty),
            "quoteQty": fmt_dec(price * qty),
            "realizedPnl": fmt_dec(realized) if realized >= 0 else "-" + fmt_dec(-realized),
            "side": order.side,
            "positionSide": "BOTH",
            "symbol": order.symbol,
            "time": now_ms,
        }
        acct.futures_trades.append(record)
        return record

    def available(
        self, acct: Account, marks: dict[str, Decimal], open_orders: list[SimOrder]
    ) -> Decimal:
        """Wallet less margins in use and open-order margin, plus unrealised PnL of cross positions."""
        free = acct.futures_wallet
        for symbol, pos in positions_of(acct).items():
            if pos.qty == 0:
                continue
            mark = marks.get(symbol, pos.entry)
            if pos.isolated:
                free -= pos.isolated_margin
            else:
                free += pos.unrealized(mark) - pos.notional(mark) / pos.leverage
        for o in open_orders:
            pos = positions_of(acct).get(o.symbol)
            lev = pos.leverage if pos is not None else 20
            ref = o.price or o.stop_price or marks.get(o.symbol, ZERO)
            if not o.reduce_only:
                free -= o.remaining * ref / lev
        return free
