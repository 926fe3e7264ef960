"""USDT-M specifics: leverage, margin type, position reports and liquidation.

Liquidation rule (stated so tests can reason about it): maintenance margin is Binance's tiered
``notional x maintMarginRatio - cum`` of the listing's brackets
(:attr:`.listings.Listing.brackets`, the tables the instruments carry) at the mark price (the mid
of the market's live book); :meth:`.ledgers.Position.maintenance` computes it. The simulator's
own code reads the tables, so it stays an independent check of the simulated venue's rule.

- An *isolated* position is liquidated when ``isolated margin + unrealised PnL`` falls below its
  maintenance margin.
- *Cross* positions are liquidated together when ``wallet - isolated margins + unrealised PnL of
  cross positions`` falls below the sum of their maintenance margins.

A liquidation closes the whole position at the mark price with the taker fee, as an order of type
``LIQUIDATION`` with client id ``autoclose-<time>`` (Binance's naming), reported on the user stream;
a loss beyond the wallet is absorbed (the wallet stops at zero).

Open interest (:func:`open_interest`): the replayed book is the counterparty of every trade, so
no account's position is matched by another's; the venue's open interest is the sum of every
account's absolute position, in base units.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tradewind.exchange_sim import errors
from tradewind.exchange_sim.accounts import ZERO, Account, fmt_dec
from tradewind.exchange_sim.errors import BinanceError
from tradewind.exchange_sim.ledgers import Position, positions_of
from tradewind.exchange_sim.orders import SimOrder

if TYPE_CHECKING:
    from tradewind.exchange_sim.engine import LiveMarket, MatchingEngine

MAX_LEVERAGE = 125


def _signed(value: Decimal) -> str:
    return fmt_dec(value) if value >= 0 else "-" + fmt_dec(-value)


def set_leverage(account: Account, symbol: str, leverage: int) -> dict[str, Any]:
    """Change a symbol's leverage; return ``POST /fapi/v1/leverage``'s answer.

    Raises
    ------
    BinanceError
        ``-4028`` for a leverage outside 1..125.
    """
    if not 1 <= leverage <= MAX_LEVERAGE:
        raise BinanceError(errors.FUTURES_LEVERAGE, leverage=leverage)
    pos = positions_of(account).setdefault(symbol, Position(symbol))
    pos.leverage = leverage
    return {"leverage": leverage, "maxNotionalValue": "50000000", "symbol": symbol}


def set_margin_type(account: Account, symbol: str, margin_type: str) -> dict[str, Any]:
    """Switch a symbol between ``ISOLATED`` and ``CROSSED``.

    Raises
    ------
    BinanceError
        ``-4046`` when already so, ``-4048`` with an open position, ``-1102`` for another value.
    """
    if margin_type not in ("ISOLATED", "CROSSED"):
        raise BinanceError(errors.MANDATORY_PARAM, name="marginType")
    pos = positions_of(account).setdefault(symbol, Position(symbol))
    isolated = margin_type == "ISOLATED"
    if pos.isolated == isolated:
        raise BinanceError(errors.FUTURES_SAME_MARGIN)
    if pos.qty != 0:
        raise BinanceError(errors.FUTURES_MARGIN_TYPE_WITH_POSITION)
    pos.isolated = isolated
    return {"code": 200, "msg": "success"}


def position_json(pos: Position, mark: Decimal | None, now_ms: int) -> dict[str, Any]:
    """Render one ``GET /fapi/v3/positionRisk`` (and v2) row."""
    mark = mark if mark is not None else pos.entry
    notional = pos.qty * mark
    upnl = pos.unrealized(mark)
    return {
        "symbol": pos.symbol,
        "positionSide": "BOTH",
        "positionAmt": _signed(pos.qty),
        "entryPrice": fmt_dec(pos.entry),
        "breakEvenPrice": fmt_dec(pos.entry),
        "markPrice": fmt_dec(mark),
        "unRealizedProfit": _signed(upnl),
        "liquidationPrice": fmt_dec(liquidation_price(pos)),
        "isolatedMargin": fmt_dec(pos.isolated_margin),
        "notional": _signed(notional),
        "marginAsset": "USDT",
        "isolatedWallet": fmt_dec(pos.isolated_margin),
        "initialMargin": fmt_dec(abs(notional) / pos.leverage),
        "maintMargin": fmt_dec(pos.maintenance(mark)),
        "positionInitialMargin": fmt_dec(abs(notional) / pos.leverage),
        "openOrderInitialMargin": "0",
        "adl": 0,
        "bidNotional": "0",
        "askNotional": "0",
        "leverage": str(pos.leverage),
        "marginType": "isolated" if pos.isolated else "cross",
        "isAutoAddMargin": "false",
        "maxNotionalValue": "50000000",
        "updateTime": pos.update_ms or now_ms,
    }


def liquidation_price(pos: Position) -> Decimal:
    """Liquidation price of an isolated position (0 for cross or flat), by Binance's formula.

    ``LP = (WB + cum - side x q x EP) / (q x MMR - side x q)`` with ``WB`` the isolated margin,
    ``q`` the absolute size, ``side`` 1 long and -1 short, ``cum`` and ``MMR`` a bracket's. Each
    bracket is tried in turn; the answer is the one whose notional at ``LP`` lies in that bracket.
    """
    if pos.qty == 0 or not pos.isolated:
        return ZERO
    qty = abs(pos.qty)
    side = 1 if pos.qty > 0 else -1
    floor = ZERO
    for bracket in pos.brackets.brackets:
        price = (pos.isolated_margin + bracket.amount - side * qty * pos.entry) / (
            qty * bracket.rate - side * qty
        )
        notional = qty * price
        if floor <= notional and (bracket.cap is None or notional <= bracket.cap):
            return max(ZERO, price.quantize(Decimal("0.00000001")))
        floor = bracket.cap if bracket.cap is not None else floor
    return ZERO  # a long whose margin covers the whole notional: no positive level


def liquidate_if_needed(engine: MatchingEngine, market: LiveMarket) -> None:
    """Liquidate the positions on ``market`` that broke maintenance (see the module docstring)."""
    mark = market.mark_price
    if mark is None:
        return
    marks = {s: m.mark_price for (f, s), m in engine.markets.items() if f and m.mark_price}
    for account in _holders(engine, market.symbol):
        pos = positions_of(account)[market.symbol]
        if pos.isolated:
            if pos.isolated_margin + pos.unrealized(mark) < pos.maintenance(mark):
                _liquidate(engine, market, account, pos, mark)
            continue
        equity = account.futures_wallet
        maintenance = ZERO
        cross = []
        for symbol, other in positions_of(account).items():
            if other.qty == 0:
                continue
            m = marks.get(symbol, other.entry) or other.entry
            if other.isolated:
                equity -= other.isolated_margin
                continue
            equity += other.unrealized(m)
            maintenance += other.maintenance(m)
            cross.append((symbol, other))
        if equity < maintenance:
            for symbol, other in cross:
                m_market = engine.market(True, symbol)
                if m_market is not None and m_market.mark_price is not None:
                    _liquidate(engine, m_market, account, other, m_market.mark_price)


def open_interest(engine: MatchingEngine, symbol: str) -> Decimal:
    """Return the venue's open interest in ``symbol``: every account's position, absolute, summed
    (base units; see the module docstring)."""
    total = ZERO
    for account in engine.accounts:
        pos = positions_of(account).get(symbol)
        if pos is not None:
            total += abs(pos.qty)
    return total


def _holders(engine: MatchingEngine, symbol: str) -> list[Account]:
    seen: dict[int, Account] = {}
    for account in engine.accounts:
        pos = positions_of(account).get(symbol)
        if pos is not None and pos.qty != 0:
            seen[id(account)] = account
    return list(seen.values())


def _liquidate(
    engine: MatchingEngine, market: LiveMarket, account: Account, pos: Position, mark: Decimal
) -> None:
    now = engine.clock()
    qty = abs(pos.qty)
    order = SimOrder(
        order_id=engine.store.next_id(), client_id=f"autoclose-{now}", account=account,
        symbol=market.symbol, futures=True, side="SELL" if pos.qty > 0 else "BUY",
        type="LIQUIDATION", tif="IOC", qty=qty, price=mark, stop_price=None, created_ms=now,
        reduce_only=True, updated_ms=now, working_ms=now,
    )  # fmt: skip
    tid = market.next_trade_id()
    record = engine.futures.settle(order, market.listing, mark, qty, False, tid, now)
    order.filled, order.cum_quote, order.status = qty, mark * qty, "FILLED"
    order.fills.append(record)
    engine.store.add(order)
    engine.liquidations += 1
    engine.sink.order_update(order, "TRADE", record)
    engine._touch(account, True, market.symbol)
