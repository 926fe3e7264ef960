"""Reconcile before trading, and keep reconciling: the exchange against what the database says.

:func:`reconcile` asks the venue port for open orders, fills since the last stored one, balances
and positions, and compares them with :class:`StoredState` (what the database holds after a
restart, or the running engine's view). The answer is a :class:`ReconcileReport`:

- every order the database thinks is open (or unknown) is found in the exchange's open-order
  list, or else looked up by client id, and its state now is reported, with the fills the
  database has not booked (each trade id once);
- an order the exchange does not know is reported *missing* (lost, never resent);
- open orders that are not the bot's (another client-id prefix: made by hand) are reported as
  *foreign*; on futures they are adopted into the ``external`` pseudo-strategy, or cancelled when
  ``foreign="cancel"``;
- spot: the bot owns only what its own fills created. A balance beyond that is *external*:
  reported, and never sold (not by "flatten all", not by the emergency stop). A balance *below*
  what the bot's fills created is a divergence nothing explains;
- futures: the position the bot's stored and new fills make must equal the exchange's; a
  difference explained by foreign fills is adopted as ``external``; anything else is a divergence.

A report with divergences means the start must stop (fail closed): :func:`reconcile` raises
:class:`ReconcileError` carrying the report when ``strict``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from tradewind.core.errors import TradewindError
from tradewind.core.events import VenueOrder
from tradewind.core.money import ZERO
from tradewind.core.orders import Fill
from tradewind.core.ports import EXTERNAL
from tradewind.core.records import Side
from tradewind.venues.live.port import LiveVenuePort

__all__ = ["EXTERNAL", "ReconcileError", "ReconcileReport", "StoredState", "reconcile"]


@dataclass(frozen=True)
class StoredState:
    """What the database says (the bot's own view, by client id)."""

    open_orders: Mapping[str, str]
    """Client id -> symbol of every order stored as not yet ended (unknown included)."""
    last_fill_ts: int
    """Time (UTC ms) of the newest stored fill (0: none)."""
    trade_ids: frozenset[str]
    """Exchange trade ids already booked."""
    holdings: Mapping[str, Decimal] = field(default_factory=dict)
    """Spot: asset -> quantity the bot's booked fills created."""
    positions: Mapping[str, Decimal] = field(default_factory=dict)
    """Futures: symbol -> signed position of the bot's booked fills."""


@dataclass
class ReconcileReport:
    """What the exchange says beside what the database says."""

    orders: dict[str, VenueOrder] = field(default_factory=dict)
    """Stored open orders the exchange knows, as it knows them now."""
    missing: list[str] = field(default_factory=list)
    """Stored open orders the exchange does not know (lost; never resent)."""
    new_fills: list[Fill] = field(default_factory=list)
    """The bot's fills the database has not booked, oldest first."""
    foreign_orders: list[VenueOrder] = field(default_factory=list)
    """Open orders the bot did not make."""
    foreign_fills: list[Fill] = field(default_factory=list)
    """Fills of orders the bot did not make, not among the stored trade ids, oldest first."""
    cancelled: list[str] = field(default_factory=list)
    """Foreign orders cancelled (``foreign="cancel"``)."""
    external_holdings: dict[str, Decimal] = field(default_factory=dict)
    """Spot balances beyond what the bot's fills created: reported, never sold."""
    external_positions: dict[str, Decimal] = field(default_factory=dict)
    """Futures positions adopted into the ``external`` pseudo-strategy."""
    divergences: list[str] = field(default_factory=list)
    """What nothing explains: the start stops."""

    @property
    def ok(self) -> bool:
        """True when trading may start."""
        return not self.divergences

    def summary(self) -> str:
        """A few lines for the operator."""
        lines = [
            f"orders checked {len(self.orders) + len(self.missing)}, missing {len(self.missing)}, "
            f"new fills {len(self.new_fills)}, foreign orders {len(self.foreign_orders)}",
        ]
        if self.external_holdings:
            held = ", ".join(f"{a} {q}" for a, q in sorted(self.external_holdings.items()))
            lines.append(f"external spot balances (never sold): {held}")
        if self.external_positions:
            held = ", ".join(f"{s} {q}" for s, q in sorted(self.external_positions.items()))
            lines.append(f"adopted into '{EXTERNAL}': {held}")
        lines.extend(f"DIVERGENCE: {d}" for d in self.divergences)
        return "\n".join(lines)


class ReconcileError(TradewindError):
    """The exchange and the database differ in a way nothing explains: do not trade."""

    def __init__(self, report: ReconcileReport) -> None:
        super().__init__("reconciliation found unexplained divergences:\n" + report.summary())
        self.report = report


async def reconcile(
    port: LiveVenuePort,
    stored: StoredState,
    *,
    own_prefix: str,
    foreign: Literal["adopt", "cancel"] = "adopt",
    strict: bool = True,
    settling: Collection[str] = (),
) -> ReconcileReport:
    """Compare the exchange with ``stored``; return the report (raise on divergence if
    ``strict``).

    ``own_prefix`` is the start of every client id the bot makes (its
    :class:`~tradewind.core.orders.ClientIdFactory` prefix); other orders are foreign.
    ``settling`` names the bot's orders a running port is still following (sent, not yet
    ended): an exchange listing them as open is no divergence (a reconcile while trading).
    """
    report = ReconcileReport()
    working = await port.open_orders()
    # An order still working is answered by the open-order list (one request a symbol); only the
    # stored orders that list lacks (ended, or lost) are looked up one by one, by client id.
    listed = {o.client_id: o for o in working}
    for client_id in sorted(stored.open_orders):
        found = listed.get(client_id) or await port.order(client_id)
        if found is None:
            report.missing.append(client_id)
        else:
            report.orders[client_id] = found
    fills = await port.fills(stored.last_fill_ts)
    own = [f for f in fills if f.client_id.startswith(own_prefix)]
    report.new_fills = [f for f in own if f.trade_id not in stored.trade_ids]
    # A foreign trade already adopted (its id stored) explains nothing again.
    foreign_fills = [
        f for f in fills
        if not f.client_id.startswith(own_prefix) and f.trade_id not in stored.trade_ids
    ]  # fmt: skip
    report.foreign_fills = foreign_fills
    for order in working:
        if order.client_id.startswith(own_prefix):
            if order.client_id not in stored.open_orders and order.client_id not in settling:
                report.divergences.append(
                    f"order {order.client_id} is open on the exchange but not stored as open"
                )
            continue
        report.foreign_orders.append(order)
        if foreign == "cancel" and port.instruments[order.symbol].is_derivative:
            port.cancel(order.client_id, 0)
            report.cancelled.append(order.client_id)
    await _spot(port, stored, report)
    await _futures(port, stored, report, foreign_fills)
    if strict and not report.ok:
        raise ReconcileError(report)
    return report


async def _spot(port: LiveVenuePort, stored: StoredState, report: ReconcileReport) -> None:
    spot = [i for i in port.instruments.values() if i.is_spot]
    if not spot:
        return
    owned = {asset: Decimal(q) for asset, q in stored.holdings.items()}
    for fill in report.new_fills:
        instrument = port.instruments[fill.symbol]
        if not instrument.is_spot:
            continue
        sign = 1 if fill.side is Side.BUY else -1
        owned[instrument.base] = owned.get(instrument.base, ZERO) + sign * fill.quantity
        owned[instrument.quote] = owned.get(instrument.quote, ZERO) - sign * fill.notional
        owned[fill.fee_currency] = owned.get(fill.fee_currency, ZERO) - fill.fee
    balances = await port.balances()
    bases = {i.base for i in spot}
    for asset in sorted(bases | {a for a in owned if a in bases}):
        have = balances.get(asset, ZERO)
        mine = max(owned.get(asset, ZERO), ZERO)
        if have < mine:
            report.divergences.append(
                f"{asset}: the bot's fills created {mine}, the exchange holds only {have}"
            )
        elif have > mine:
            report.external_holdings[asset] = have - mine


async def _futures(
    port: LiveVenuePort, stored: StoredState, report: ReconcileReport, foreign_fills: list[Fill]
) -> None:
    symbols = [s for s, i in port.instruments.items() if i.is_derivative]
    if not symbols:
        return
    exchange = await port.positions()
    for symbol in symbols:
        mine = Decimal(stored.positions.get(symbol, ZERO))
        for fill in report.new_fills:
            if fill.symbol == symbol:
                mine += fill.quantity if fill.side is Side.BUY else -fill.quantity
        external = sum(
            ((f.quantity if f.side is Side.BUY else -f.quantity) for f in foreign_fills
             if f.symbol == symbol),
            ZERO,
        )  # fmt: skip
        have = exchange.get(symbol, ZERO)
        if have == mine:
            continue
        if external and have == mine + external:
            report.external_positions[symbol] = external
            continue
        report.divergences.append(
            f"{symbol}: the bot's fills make a position of {mine}, the exchange holds {have}"
        )
