"""Account-wide queries of the live venue: positions (one-way mode checked), balances, and a
USDT-M symbol's margin mode and leverage. Money is read from the exchange's own text."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal
from typing import Any

from tradewind.core.errors import UserError
from tradewind.core.instrument import Instrument
from tradewind.venues.live import wire

__all__ = ["balances", "configure_futures", "positions"]

Call = Callable[..., Awaitable[Any]]
"""The port's request: ``call(weight, ccxt method name, *args)``."""


async def positions(call: Call, instruments: Mapping[str, Instrument]) -> dict[str, Decimal]:
    """Signed open position per USDT-M symbol (one-way mode)."""
    derivatives = [s for s, i in instruments.items() if i.is_derivative]
    if not derivatives:
        return {}
    found: dict[str, Decimal] = {}
    for position in await call(5, "fetch_positions", derivatives):
        info = position.get("info") or {}
        amount = wire.dec(info.get("positionAmt"), wire.dec(position.get("contracts")))
        if info.get("positionSide", "BOTH") not in ("BOTH", None):
            raise UserError(
                "hedge position mode is not supported: switch the futures account to "
                "one-way mode (Binance: Position Mode = One-way)"
            )
        if amount:
            found[str(position["symbol"])] = amount
    return found


async def balances(
    call: Call, client: Any, instruments: Mapping[str, Instrument]
) -> dict[str, Decimal]:
    """Wallet balance (free plus locked) of every asset held: the spot wallet when any spot
    symbol is traded, else the USDT-M wallet."""
    spot = any(i.is_spot for i in instruments.values())
    raw = (
        await call(20, "fetch_balance")
        if spot
        else await call(5, "fetch_balance", {"type": "future"})
    )
    info = raw.get("info") or {}
    found: dict[str, Decimal] = {}
    code = client.safe_currency_code
    if "balances" in info:
        for row in info["balances"]:
            total = wire.dec(row.get("free")) + wire.dec(row.get("locked"))
            if total:
                found[str(code(row["asset"]))] = total
        return found
    for row in info.get("assets", []):
        total = wire.dec(row.get("walletBalance"))
        if total:
            found[str(code(row["asset"]))] = total
    return found


async def configure_futures(
    call: Call, instruments: Mapping[str, Instrument], symbol: str, leverage: int, margin_mode: str
) -> None:
    """Set a USDT-M symbol's margin mode (``isolated``/``cross``) and leverage, and check the
    account is in one-way position mode (hedge mode is refused by name)."""
    instrument = instruments.get(symbol)
    if instrument is None or not instrument.is_derivative:
        raise UserError(f"{symbol} is not a traded USDT-M symbol")
    if margin_mode not in ("isolated", "cross"):
        raise UserError(f"margin mode must be isolated or cross, not {margin_mode!r}")
    if not 1 <= leverage <= 125:
        raise UserError(f"leverage must be between 1 and 125, not {leverage}")
    await call(1, "set_margin_mode", margin_mode, symbol)
    await call(1, "set_leverage", leverage, symbol)
    await positions(call, instruments)  # raises on a hedge-mode account
