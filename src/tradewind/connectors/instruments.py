"""Instruments read from the exchange's own markets (steps, limits, fees), never hard-coded.

One reading of a ccxt market dict (``exchange.markets[symbol]``) into an :class:`Instrument`,
used by every path that asks an exchange: history downloads and ``data import`` metadata
(:mod:`tradewind.connectors.history`) and paper and live sessions
(:func:`instruments_from_markets`). Two readings once disagreed: the sessions' charged Binance
spot fees in the quote (Binance charges the currency received) and replaced a zero maker fee (a
real promotion level) with 0.1%.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from enum import StrEnum
from itertools import pairwise
from typing import Any

from tradewind.core.brackets import BINANCE_USDT_M_BRACKETS, MarginBrackets
from tradewind.core.errors import UserError
from tradewind.core.instrument import FeeSide, Instrument, MarketType
from tradewind.core.money import ONE, step_from_digits, to_decimal

DEFAULT_FEE = Decimal("0.001")
"""The fee rate of a market whose dict states none (Binance's base rate)."""


class PrecisionMode(StrEnum):
    """How a ccxt market states its precision: as a step (``TICK_SIZE``) or as decimal places."""

    TICK_SIZE = "tick_size"
    DECIMAL_PLACES = "decimal_places"


def instruments_from_markets(
    client: Any, symbols: Iterable[str], exchange: str = "binance"
) -> dict[str, Instrument]:
    """Return the :class:`Instrument` of each of ``symbols`` from a loaded ccxt client's markets,
    for trading them in a session.

    Raises
    ------
    UserError
        For a symbol the exchange does not list, or one that is not spot or a linear swap.
    """
    markets: Mapping[str, Any] = client.markets or {}
    found: dict[str, Instrument] = {}
    for symbol in symbols:
        market = markets.get(symbol)
        if market is None:
            raise UserError(f"{exchange} has no market {symbol!r}")
        if not (market.get("spot") or (market.get("swap") and market.get("linear"))):
            raise UserError(
                f"{symbol}: only spot and USDT-margined perpetual markets are traded live"
            )
        found[symbol] = instrument_from_ccxt(market, exchange=exchange)
    return found


def instrument_from_ccxt(
    market: Mapping[str, Any],
    *,
    exchange: str = "",
    precision_mode: PrecisionMode = PrecisionMode.TICK_SIZE,
    leverage_tiers: Sequence[Mapping[str, Any]] | None = None,
) -> Instrument:
    """Build an instrument from a ccxt market dict (``exchange.markets[symbol]``).

    ``leverage_tiers`` is the market's ``fetch_market_leverage_tiers`` answer where the caller
    has it: its maintenance brackets replace the default table (:func:`brackets_from_ccxt`).

    ccxt 4 states Binance precision as tick sizes (``TICK_SIZE`` mode); exchanges in
    ``DECIMAL_PLACES`` mode give a count of decimals instead. Pass the exchange's mode. A spot
    market whose dict names no fee side charges the currency received (``get``, as Binance does);
    a derivative, its quote.

    Raises
    ------
    UserError
        If the dict lacks the symbol, currencies or precision.
    """
    try:
        symbol = str(market["symbol"])
        base = str(market["base"])
        quote = str(market["quote"])
    except KeyError as missing:
        raise UserError(f"ccxt market dict lacks {missing.args[0]!r}") from None
    precision = market.get("precision") or {}
    price_step = _step(precision.get("price"), precision_mode, symbol, "price")
    amount_step = _step(precision.get("amount"), precision_mode, symbol, "amount")
    limits = market.get("limits") or {}
    if market.get("swap"):
        market_type = MarketType.SWAP
    elif market.get("future"):
        market_type = MarketType.FUTURE
    else:
        market_type = MarketType.SPOT
    contract_size = _opt(market.get("contractSize")) or ONE
    fee_side_text = str(
        market.get("feeSide") or ("get" if market_type is MarketType.SPOT else "quote")
    )
    try:
        fee_side = FeeSide(fee_side_text)
    except ValueError:
        fee_side = FeeSide.QUOTE
    return Instrument(
        symbol=symbol,
        base=base,
        quote=quote,
        settle=(market.get("settle") or None) if market_type is not MarketType.SPOT else None,
        exchange=exchange,
        exchange_id=str(market.get("id") or symbol),
        market_type=market_type,
        linear=market.get("inverse") is not True,
        contract_size=contract_size,
        price_step=price_step,
        amount_step=amount_step,
        min_amount=_opt((limits.get("amount") or {}).get("min")),
        max_amount=_opt((limits.get("amount") or {}).get("max")),
        min_price=_opt((limits.get("price") or {}).get("min")),
        max_price=_opt((limits.get("price") or {}).get("max")),
        min_notional=_opt((limits.get("cost") or {}).get("min")),
        # A zero fee is a real fee level (maker promotions), not a missing one: test for None.
        maker_fee=_opt_or(market.get("maker"), DEFAULT_FEE),
        taker_fee=_opt_or(market.get("taker"), DEFAULT_FEE),
        fee_side=fee_side,
        margin_brackets=(
            BINANCE_USDT_M_BRACKETS
            if leverage_tiers is None
            else brackets_from_ccxt(leverage_tiers)
        ),
    )


def brackets_from_ccxt(tiers: Sequence[Mapping[str, Any]]) -> MarginBrackets:
    """The maintenance brackets of ccxt's leverage tiers (``minNotional``, ``maxNotional``,
    ``maintenanceMarginRate`` per tier). ccxt's unified tiers carry no maintenance amount, so it
    is derived from continuity (:meth:`MarginBrackets.from_rates`), which is how the exchange
    sets its ``cum``; the last tier is left uncapped.

    Raises
    ------
    UserError
        If a tier lacks its notional range or rate, or the tiers do not form a valid table.
    """
    try:
        rows = sorted(
            (to_decimal(t["minNotional"]), to_decimal(t["maxNotional"]),
             to_decimal(t["maintenanceMarginRate"]))
            for t in tiers
        )  # fmt: skip
    except (KeyError, TypeError, ArithmeticError) as exc:
        raise UserError(f"ccxt leverage tiers are malformed: {exc}") from None
    for (_, cap, _), (floor, _, _) in pairwise(rows):
        if floor != cap:
            raise UserError(
                f"ccxt leverage tiers leave a gap: one ends at {cap}, the next at {floor}"
            )
    last = len(rows) - 1
    return MarginBrackets.from_rates(
        (None if i == last else cap, rate) for i, (_, cap, rate) in enumerate(rows)
    )


def _opt(value: object) -> Decimal | None:
    # ccxt gives floats; to_decimal reads their shortest repr, the exchange's decimal text.
    return None if value is None else to_decimal(value)


def _opt_or(value: object, default: Decimal) -> Decimal:
    found = _opt(value)
    return default if found is None else found


def _step(value: object, mode: PrecisionMode, symbol: str, what: str) -> Decimal:
    if value is None:
        raise UserError(f"ccxt market {symbol} has no {what} precision")
    step = (
        step_from_digits(int(to_decimal(value)))
        if mode is PrecisionMode.DECIMAL_PLACES
        else to_decimal(value)
    )
    if step <= 0:
        raise UserError(f"ccxt market {symbol} states a {what} step of {value!r}")
    return step
