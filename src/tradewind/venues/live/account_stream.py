"""The user-data stream beyond orders: balance updates (spot ``outboundAccountPosition``) and
position updates (USDT-M ``ACCOUNT_UPDATE``), watched over ``ccxt.pro`` and kept as exact Decimals.

Each update is merged into :attr:`AccountStream.balances` / :attr:`AccountStream.positions` (an
update names only what changed) and handed to the listener, which compares it with what the bot's
fills say (:class:`~tradewind.venues.live.running.RunningReconcile`: a difference asks for a
reconcile at once, instead of at the next period). The stream is watched, not trusted: a failure
is counted and the watch starts again after a pause; the periodic reconcile covers the gap.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, Literal

from tradewind.core.instrument import Instrument
from tradewind.venues.live import wire

__all__ = ["AccountStream", "AccountUpdate"]

_log = logging.getLogger(__name__)

AccountUpdate = Callable[[Literal["balance", "positions"], dict[str, Decimal]], None]
"""A listener: ``("balance", {asset: total})`` or ``("positions", {symbol: signed quantity})``,
with only what the update named."""


class AccountStream:
    """Watch the account's balance (spot symbols traded) and positions (USDT-M symbols traded).

    Parameters
    ----------
    client
        The ``ccxt.pro`` client the live port trades through.
    instruments
        The traded instruments by symbol.
    on_update
        Told of every update, after it was merged.
    """

    def __init__(
        self, client: Any, instruments: Mapping[str, Instrument], on_update: AccountUpdate
    ) -> None:
        self.client = client
        self.instruments = dict(instruments)
        self.on_update = on_update
        self.balances: dict[str, Decimal] = {}
        """Total (free plus locked) of every asset the stream has named, latest first."""
        self.positions: dict[str, Decimal] = {}
        """Signed position of every USDT-M symbol the stream has named (one-way mode)."""
        self.updates = 0
        self.errors = 0
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        """Start the watches on the running loop."""
        loop = asyncio.get_running_loop()
        if any(i.is_spot for i in self.instruments.values()):
            self._tasks.append(loop.create_task(self._watch("balance", self._balance)))
        if any(i.is_derivative for i in self.instruments.values()):
            self._tasks.append(loop.create_task(self._watch("positions", self._positions)))

    async def close(self) -> None:
        """Stop the watches."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    async def _watch(self, kind: Literal["balance", "positions"], read: Callable[[], Any]) -> None:
        pause = 0.1
        while True:
            try:
                changed = await read()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the stream is watched, not trusted
                self.errors += 1
                _log.warning("%s stream failed (%s); the periodic reconcile covers it", kind, exc)
                await asyncio.sleep(pause)
                pause = min(pause * 2, 5.0)
                continue
            pause = 0.1
            if changed:
                self.updates += 1
                self.on_update(kind, changed)

    async def _balance(self) -> dict[str, Decimal]:
        raw = await self.client.watch_balance()
        info = raw.get("info") or {}
        code = self.client.safe_currency_code
        changed: dict[str, Decimal] = {}
        # outboundAccountPosition: the exact text of each changed asset's free and locked.
        for row in info.get("B") or []:
            total = wire.dec(row.get("f")) + wire.dec(row.get("l"))
            changed[str(code(row["a"]))] = total
        self.balances.update(changed)
        return changed

    async def _positions(self) -> dict[str, Decimal]:
        symbols = [s for s, i in self.instruments.items() if i.is_derivative]
        changed: dict[str, Decimal] = {}
        for position in await self.client.watch_positions(symbols):
            symbol = str(position.get("symbol"))
            if symbol not in self.instruments:
                continue
            info = position.get("info") or {}
            side = str(position.get("side") or "")
            amount = wire.dec(info.get("pa"), wire.dec(info.get("positionAmt")))
            if not amount and position.get("contracts"):
                contracts = wire.dec(position.get("contracts"))
                amount = -contracts if side == "short" else contracts
            changed[symbol] = amount
        self.positions.update(changed)
        return changed
