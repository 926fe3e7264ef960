"""Reconciling while trading: every ``every_s`` seconds and after every stream reconnect.

The reconcile before trading (:func:`~tradewind.venues.live.reconcile.reconcile`) runs again while
the bot trades, against what the live port has delivered to the engine: the fills it booked
(each trade id), the orders it still follows, and the holdings (spot) and positions (futures) those
fills made. What it finds becomes a named :class:`Finding`, logged and handed to ``on_finding``:

- **missed fill**: a trade of one of the bot's orders that the port never delivered (a dropped
  stream event the polling had not yet covered, a trade the exchange listed late). It is booked
  now, through the port, exactly once (by trade id); trading continues.
- **foreign order** / **external holding** / **external position**: what the bot did not make
  (an order or a position made by hand, a balance it did not buy). Reported once, never traded;
  trading continues. A futures position explained by trades of foreign orders is *adopted* into
  the ``external`` pseudo-strategy (:attr:`RunningReconcile.adopted`, handed to ``on_external``:
  the risk engine counts it); each foreign trade is adopted once, by trade id.
- **divergence**: what nothing explains (an order of the bot's that the port does not follow, a
  holding or position that differs from the bot's fills). A divergence must be seen by two passes
  in a row, ``grace_s`` apart (a fill racing the balance read is not one), and then
  ``on_divergence`` is called: the session stops new entries (fail closed) until an operator has
  looked.

With ``watch_account``, the user stream's balance and position updates are watched too
(:class:`~tradewind.venues.live.account_stream.AccountStream`) and compared with what the bot's
fills made: a spot balance below the bot's holdings, or a position unlike the bot's plus what is
adopted, still so ``grace_s`` later, asks for a pass at once (trigger ``balance update`` /
``position update``) instead of at the next period.

A fill younger than ``grace_s`` is left for the next pass: the port's own poll or stream books it
in the normal course, and it is not reported as missed when it was merely in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from tradewind.core.money import ZERO
from tradewind.core.orders import Fill
from tradewind.core.records import Side
from tradewind.venues.live.account_stream import AccountStream
from tradewind.venues.live.port import LiveVenuePort
from tradewind.venues.live.reconcile import EXTERNAL, ReconcileReport, StoredState, reconcile

__all__ = ["Finding", "FindingKind", "RunningReconcile"]

_log = logging.getLogger(__name__)


class FindingKind(StrEnum):
    """What a reconcile while trading found."""

    MISSED_FILL = "missed_fill"
    FOREIGN_ORDER = "foreign_order"
    EXTERNAL_HOLDING = "external_holding"
    EXTERNAL_POSITION = "external_position"
    DIVERGENCE = "divergence"


@dataclass(frozen=True, slots=True)
class Finding:
    """One difference a reconcile while trading found (a named event for the journal)."""

    ts: int
    """When it was found (UTC ms)."""
    trigger: str
    """Why that reconcile ran: ``periodic``, ``user stream reconnect``, ``market stream
    reconnect``..."""
    kind: FindingKind
    detail: str


class RunningReconcile:
    """Reconcile the exchange with the live port's view while trading (see the module docstring).

    Parameters
    ----------
    port
        The live venue port the engine trades through.
    own_prefix
        The start of every client id the bot makes.
    since_ms
        Fills before this time were reconciled before trading (the start's last stored fill).
    booked
        Trade ids booked before this port started (the start's reconcile).
    every_s
        Seconds between passes.
    grace_s
        How old a fill must be before it can be missed, and the pause before a divergence is
        checked again (default: two of the port's polls, at least 2 s).
    on_finding
        Called with every finding (divergences included).
    on_divergence
        Called once per confirmed divergence with its text: stop new entries.
    on_pass
        Called after every pass that completed (the reconciliation's age in ``/health``).
    adopted
        Futures positions already adopted into ``external`` (the start's reconcile), by symbol.
    on_external
        Called with every symbol's adopted position whenever it changes (the account's
        ``set_external``: the risk engine counts it).
    watch_account
        Watch the user stream's balance and position updates (``ccxt.pro``) and compare them.
    carried_holdings, carried_positions
        What the bot's earlier sessions left, reconciled at the start (spot: base asset ->
        quantity; futures: symbol -> signed position): this port's fills move on from there.
    """

    def __init__(
        self,
        port: LiveVenuePort,
        *,
        own_prefix: str,
        since_ms: int = 0,
        booked: Collection[str] = (),
        every_s: float = 30.0,
        grace_s: float | None = None,
        on_finding: Callable[[Finding], None] | None = None,
        on_divergence: Callable[[str], None] | None = None,
        on_pass: Callable[[ReconcileReport], None] | None = None,
        adopted: Mapping[str, Decimal] | None = None,
        on_external: Callable[[dict[str, Decimal]], None] | None = None,
        watch_account: bool = False,
        clock: Callable[[], int] | None = None,
        carried_holdings: Mapping[str, Decimal] | None = None,
        carried_positions: Mapping[str, Decimal] | None = None,
    ) -> None:
        if every_s <= 0:
            raise ValueError(f"the reconcile interval must be positive, got {every_s}")
        self.port = port
        self.own_prefix = own_prefix
        self.every_s = every_s
        self.grace_s = grace_s if grace_s is not None else max(2 * port.poll_s, 2.0)
        self.on_finding = on_finding
        self.on_divergence = on_divergence
        self.on_pass = on_pass
        self.on_external = on_external
        self.adopted: dict[str, Decimal] = {s: q for s, q in (adopted or {}).items() if q}
        """Futures positions adopted into the ``external`` pseudo-strategy, by symbol."""
        self._carried_holdings = dict(carried_holdings or {})
        self._carried_positions = dict(carried_positions or {})
        self._foreign_trades: set[str] = set()
        self.account = (
            AccountStream(port.client, port.instruments, self._account_update)
            if watch_account
            else None
        )
        """The user stream's balance and position updates (None: not watched)."""
        self._check: asyncio.TimerHandle | None = None
        self._clock = clock or (lambda: int(time.time() * 1000))
        self._since = since_ms
        self._booked = frozenset(booked)
        self._last_ms = 0
        self._why = ""
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._seen_foreign: set[str] = set()
        self._external: dict[str, Decimal] = {}
        self.findings: list[Finding] = []
        """Every finding, oldest first."""
        self.passes: list[str] = []
        """The trigger of every pass run, oldest first (confirmation passes included)."""
        self.failures = 0
        """Passes that could not complete (the exchange did not answer): tried again later."""
        self.divergence = ""
        """The first confirmed divergence (empty: none)."""

    # -- running ----------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the passes on the running loop; a user-stream reconnect asks for one at once."""
        self.port.on_stream_reconnect = lambda: self.request("user stream reconnect")
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop())
            if self.account is not None:
                self.account.start()

    def request(self, why: str) -> None:
        """Run a pass now (a stream reconnected: what did the gap hide?)."""
        self._why = self._why or why
        self._wake.set()

    async def close(self) -> None:
        """Stop the passes (one in progress is cancelled: it books nothing half)."""
        if self.port.on_stream_reconnect is not None:
            self.port.on_stream_reconnect = None
        if self._check is not None:
            self._check.cancel()
        if self.account is not None:
            await self.account.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.every_s)
            except TimeoutError:
                trigger = "periodic"
            else:
                trigger, self._why = self._why or "requested", ""
                self._wake.clear()
            try:
                await self.run_once(trigger)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the exchange is down or answered nonsense: try later
                self.failures += 1
                _log.warning("reconcile while trading (%s) failed: %s: %s", trigger,
                             type(exc).__name__, exc)  # fmt: skip

    # -- the account stream -----------------------------------------------------------------------

    def _account_update(self, kind: str, changed: dict[str, Decimal]) -> None:
        """A balance or position update: compare it ``grace_s`` from now (the fill that caused
        it may still be on its way to the port)."""
        if self._check is None:
            self._check = asyncio.get_running_loop().call_later(self.grace_s, self._compare)

    def _compare(self) -> None:
        self._check = None
        stream = self.account
        if stream is None:
            return
        delivered = self.port.booked_fills()
        owned = self._holdings(delivered)
        bases = {i.base for i in self.port.instruments.values() if i.is_spot}
        for asset in sorted(bases & set(stream.balances)):
            mine = max(owned.get(asset, ZERO), ZERO)
            if stream.balances[asset] < mine:
                _log.warning("balance update: %s %s on the exchange, the bot's fills made %s",
                             asset, stream.balances[asset], mine)  # fmt: skip
                self.request("balance update")
                return
        positions = self._positions(delivered)
        for symbol, held in sorted(stream.positions.items()):
            mine = positions.get(symbol, ZERO) + self.adopted.get(symbol, ZERO)
            if held != mine:
                _log.warning("position update: %s %s on the exchange, the bot's view %s",
                             symbol, held, mine)  # fmt: skip
                self.request("position update")
                return

    # -- one pass ---------------------------------------------------------------------------------

    async def run_once(self, trigger: str) -> ReconcileReport:
        """One pass (and its confirmation when it sees a divergence); return its report."""
        report = await self._pass(trigger)
        if report.divergences and not self.divergence:
            await asyncio.sleep(self.grace_s)
            again = await self._pass(f"{trigger}, confirming")
            if again.divergences:
                self._diverged(trigger, again)
            report = again
        return report

    async def _pass(self, trigger: str) -> ReconcileReport:
        self.passes.append(trigger)
        now = self._clock()
        # Snapshot the port's view first: anything that happens after it is new to this pass.
        delivered = self.port.booked_fills()
        settling = self.port.following()
        booked = self._booked | {f.trade_id for f in delivered} | self._foreign_trades
        positions = self._positions(delivered)
        for symbol, quantity in self.adopted.items():
            positions[symbol] = positions.get(symbol, ZERO) + quantity
        lookback = int(max(3 * self.every_s, 60.0) * 1000)
        since = max(self._since, self._last_ms - lookback) if self._last_ms else self._since
        stored = StoredState(
            open_orders={}, last_fill_ts=since, trade_ids=frozenset(booked),
            holdings=self._holdings(delivered), positions=positions,
        )  # fmt: skip
        report = await reconcile(
            self.port, stored, own_prefix=self.own_prefix, strict=False, settling=settling
        )
        self._last_ms = now
        young = now - int(self.grace_s * 1000)
        for fill in report.new_fills:
            if fill.ts > young:
                continue  # in flight: the port's poll books it, or the next pass does
            if await self.port.book_missed(fill):
                self._found(trigger, FindingKind.MISSED_FILL,
                            f"{fill.client_id} trade {fill.trade_id}: {fill.side.value} "
                            f"{fill.quantity} {fill.symbol} at {fill.price} booked late")  # fmt: skip
            elif not self.port.knows(fill.client_id):
                report.divergences.append(
                    f"trade {fill.trade_id} of {fill.client_id}: an order of the bot's that "
                    "this session never sent"
                )
        for order in report.foreign_orders:
            if order.client_id not in self._seen_foreign:
                self._seen_foreign.add(order.client_id)
                self._found(trigger, FindingKind.FOREIGN_ORDER,
                            f"{order.client_id or order.venue_order_id}: {order.symbol} "
                            f"{order.quantity} not the bot's; never traded")  # fmt: skip
        self._externals(trigger, report.external_holdings, FindingKind.EXTERNAL_HOLDING)
        self._adopt(trigger, report)
        if self.on_pass is not None:
            self.on_pass(report)
        return report

    def _holdings(self, delivered: list[Fill]) -> dict[str, Decimal]:
        owned = dict(self._carried_holdings)
        for asset, quantity in _holdings(self.port, delivered).items():
            owned[asset] = owned.get(asset, ZERO) + quantity
        return owned

    def _positions(self, delivered: list[Fill]) -> dict[str, Decimal]:
        positions = dict(self._carried_positions)
        for symbol, quantity in _positions(self.port, delivered).items():
            positions[symbol] = positions.get(symbol, ZERO) + quantity
        return positions

    def _externals(self, trigger: str, found: Mapping[str, Decimal], kind: FindingKind) -> None:
        """Report an external holding or position when it first appears or changes."""
        for name, quantity in sorted(found.items()):
            key = f"{kind}:{name}"
            if self._external.get(key) != quantity:
                self._external[key] = quantity
                self._found(trigger, kind, f"{name} {quantity} not the bot's; never traded")

    def _adopt(self, trigger: str, report: ReconcileReport) -> None:
        """Adopt the futures positions foreign trades explain (each trade once)."""
        if not report.external_positions:
            return
        for fill in report.foreign_fills:
            if fill.symbol in report.external_positions:
                self._foreign_trades.add(fill.trade_id)
        for symbol, change in sorted(report.external_positions.items()):
            held = self.adopted.get(symbol, ZERO) + change
            if held:
                self.adopted[symbol] = held
            else:
                self.adopted.pop(symbol, None)
            self._found(trigger, FindingKind.EXTERNAL_POSITION,
                        f"{symbol} {held} adopted into '{EXTERNAL}' ({change:+}); never traded")  # fmt: skip
        if self.on_external is not None:
            self.on_external(dict(self.adopted))

    def _diverged(self, trigger: str, report: ReconcileReport) -> None:
        text = "; ".join(report.divergences)
        self.divergence = text
        self._found(trigger, FindingKind.DIVERGENCE, text)
        if self.on_divergence is not None:
            self.on_divergence(f"reconcile: {text}")

    def _found(self, trigger: str, kind: FindingKind, detail: str) -> None:
        finding = Finding(self._clock(), trigger, kind, detail)
        self.findings.append(finding)
        level = logging.INFO if kind in _QUIET else logging.WARNING
        _log.log(level, "reconcile while trading (%s): %s: %s", trigger, kind, detail)
        if self.on_finding is not None:
            self.on_finding(finding)


_QUIET = frozenset({FindingKind.FOREIGN_ORDER, FindingKind.EXTERNAL_HOLDING,
                    FindingKind.EXTERNAL_POSITION})  # fmt: skip


def _holdings(port: LiveVenuePort, fills: list[Fill]) -> dict[str, Decimal]:
    """Spot: asset -> what the delivered fills created (bought less sold, less fees in it)."""
    owned: dict[str, Decimal] = {}
    for fill in fills:
        instrument = port.instruments.get(fill.symbol)
        if instrument is None or not instrument.is_spot:
            continue
        sign = 1 if fill.side is Side.BUY else -1
        owned[instrument.base] = owned.get(instrument.base, ZERO) + sign * fill.quantity
        owned[instrument.quote] = owned.get(instrument.quote, ZERO) - sign * fill.notional
        owned[fill.fee_currency] = owned.get(fill.fee_currency, ZERO) - fill.fee
    return owned


def _positions(port: LiveVenuePort, fills: list[Fill]) -> dict[str, Decimal]:
    """Futures: symbol -> the signed position the delivered fills made."""
    positions: dict[str, Decimal] = {}
    for fill in fills:
        instrument = port.instruments.get(fill.symbol)
        if instrument is None or not instrument.is_derivative:
            continue
        signed = fill.quantity if fill.side is Side.BUY else -fill.quantity
        positions[fill.symbol] = positions.get(fill.symbol, ZERO) + signed
    return positions
