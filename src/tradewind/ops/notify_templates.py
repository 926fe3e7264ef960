"""What each notification says: a title and a few lines of plain text, numbers as a trader reads
them (thousands separators, signed PnL with two decimals, percentages, UTC times).

Every template returns a :class:`Notification` with its ``kind`` (what the ``[notifications]``
``events`` list turns on or off), a ``level`` (info, success, warning, failure: apprise's types),
the engine time it happened at, and a de-duplication ``key``: two notifications with the same
key within the window are one event told twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from tradewind.core.intents import Decision
from tradewind.core.market_events import AlertKind, StreamAlert
from tradewind.core.orders import Order
from tradewind.engine.portfolio import ClosedTrade
from tradewind.engine.strategy_host import StrategyFault
from tradewind.risk.breakers import BreakerEvent, BreakerState

__all__ = [
    "Level",
    "Notification",
    "anomaly",
    "breaker",
    "denied",
    "entry",
    "exit_kind",
    "exited",
    "fault",
    "log_error",
    "money",
    "operator",
    "pct",
    "price",
    "quantity",
    "rejected",
    "stream",
    "when",
]

Level = Literal["info", "success", "warning", "failure"]

_CENT = Decimal("0.01")
_STOPS = frozenset({"stop", "trailing_stop", "breakeven_stop"})
_PROFITS = frozenset({"take_profit", "scale_out"})


@dataclass(frozen=True, slots=True)
class Notification:
    """One message to send: ``kind`` and ``key`` (de-duplication) are for the notifier, ``title``
    and ``body`` for the reader; ``ts`` is the engine time (UTC ms) of the event."""

    kind: str
    title: str
    body: str
    level: Level
    ts: int
    key: str


# -- numbers ---------------------------------------------------------------------------------------


def money(value: Decimal, currency: str = "", *, signed: bool = False) -> str:
    """``1,234.57 USDT`` (two decimals, half up); ``signed`` prefixes ``+`` to gains."""
    rounded = value.quantize(_CENT, rounding=ROUND_HALF_UP)
    text = f"{rounded:+,f}" if signed else f"{rounded:,f}"
    if text in ("+0.00", "-0.00"):
        text = "0.00"
    return f"{text} {currency}" if currency else text


def price(value: Decimal) -> str:
    """A price as the venue quoted it (its own decimals), with thousands separators."""
    return f"{value:,f}"


def quantity(value: Decimal) -> str:
    """A quantity without trailing zeros (``0.105``, ``12``)."""
    text = f"{value.normalize():f}"
    return text


def pct(value: float | Decimal, *, signed: bool = True) -> str:
    """A fraction as a percentage with two decimals (``0.0052`` -> ``+0.52%``)."""
    return f"{float(value):+.2%}" if signed else f"{float(value):.2%}"


def when(ts: int) -> str:
    """UTC ms as ``2022-01-03 08:00 UTC``."""
    return datetime.fromtimestamp(ts / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _duration(ms: int) -> str:
    minutes = max(ms, 0) // 60_000
    days, minutes = divmod(minutes, 1440)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h"
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


# -- trading ---------------------------------------------------------------------------------------


def entry(
    order: Order,
    filled: Decimal,
    average: Decimal,
    fees: Decimal,
    fee_currency: str,
    ts: int,
    currency: str = "",
) -> Notification:
    """A position opened or added to: ``filled`` at ``average`` (all of the order's fills);
    ``currency`` is the one its notional is counted in."""
    direction = "long" if order.side.value == "buy" else "short"
    verb = "Bought" if order.side.value == "buy" else "Sold"
    lines = [
        f"{verb} {quantity(filled)} {order.symbol} at {price(average)} ({order.type.value})",
        f"Notional {money(filled * average, currency)}, fee {money(fees, fee_currency)}",
        f"Strategy {order.strategy_id}" + (f", reason: {order.tag}" if order.tag else ""),
        when(ts),
    ]
    return Notification(
        "entry", f"Entry {direction} {order.symbol} at {price(average)}", "\n".join(lines),
        "info", ts, f"fill:{order.client_id}",
    )  # fmt: skip


def exit_kind(reason: str) -> str:
    """The notification kind of a closed trade: ``stop``, ``take_profit`` or ``exit``."""
    if reason in _STOPS:
        return "stop"
    if reason in _PROFITS:
        return "take_profit"
    return "exit"


def exited(trade: ClosedTrade, currency: str) -> Notification:
    """A position (or part of one) closed, with its PnL net of fees and funding."""
    kind = exit_kind(trade.reason)
    cost = trade.entry_price * trade.quantity
    ratio = trade.pnl / cost if cost else Decimal(0)
    liquidated = trade.reason == "liquidation"
    headings = {"stop": "Stop hit", "take_profit": "Take-profit hit"}
    heading = "Liquidated" if liquidated else headings.get(kind, "Exit")
    lines = [
        f"Closed {trade.side} {quantity(trade.quantity)} {trade.symbol}: entry "
        f"{price(trade.entry_price)}, exit {price(trade.exit_price)}",
        f"PnL {money(trade.pnl, currency, signed=True)} ({pct(ratio)}) after "
        f"{money(trade.fees, currency)} fees"
        + (f" and {money(trade.funding, currency, signed=True)} funding" if trade.funding else ""),
        f"Held {_duration(trade.exit_ts - trade.entry_ts)}; strategy {trade.strategy_id}"
        + (f", reason: {trade.reason}" if trade.reason else ""),
        when(trade.exit_ts),
    ]
    return Notification(
        kind, f"{heading} {trade.symbol} {trade.side}: {money(trade.pnl, currency, signed=True)}",
        "\n".join(lines),
        "failure" if liquidated else ("success" if trade.pnl > 0 else "warning"), trade.exit_ts,
        f"trade:{trade.strategy_id}:{trade.symbol}:{trade.exit_ts}:{trade.quantity}",
    )  # fmt: skip


def breaker(event: BreakerEvent) -> Notification:
    """A circuit breaker moved the account: tripped (REDUCING, HALTED) or lifted (ACTIVE)."""
    meaning = {
        BreakerState.REDUCING: "exits only until it lifts",
        BreakerState.HALTED: "no new exposure until a person resumes",
        BreakerState.ACTIVE: "entries and exits pass again",
    }[event.state]
    lifted = event.state is BreakerState.ACTIVE
    title = (
        f"Breaker lifted: {event.breaker}" if lifted
        else f"Breaker tripped: {event.breaker} -> {event.state.value.upper()}"
    )  # fmt: skip
    lines = [
        event.reason,
        f"Account {event.state.value.upper()}: {meaning}"
        + (f" ({event.symbol})" if event.symbol else ""),
        when(event.ts),
    ]
    level: Level = "success" if lifted else (
        "failure" if event.state is BreakerState.HALTED else "warning"
    )  # fmt: skip
    return Notification(
        "breaker", title, "\n".join(lines), level, event.ts,
        f"breaker:{event.breaker}:{event.state.value}",
    )  # fmt: skip


def denied(decision: Decision, ts: int) -> Notification:
    """The risk gate refused an intent."""
    intent = decision.intent
    lines = [
        f"{intent.action.value.replace('_', ' ')} {intent.symbol} by {intent.strategy_id} refused",
        f"Reason: {decision.reason} ({decision.code})",
        when(ts),
    ]
    return Notification(
        "denied", f"Denied: {intent.action.value.replace('_', ' ')} {intent.symbol}",
        "\n".join(lines), "warning", ts,
        f"denied:{intent.strategy_id}:{intent.symbol}:{decision.code}",
    )  # fmt: skip


# -- errors ----------------------------------------------------------------------------------------


def fault(item: StrategyFault) -> Notification:
    """A strategy raised in a hook and was stopped."""
    lines = [
        f"{item.error} in {item.hook} ({item.kind.value}) at {item.where}",
        f"Strategy {item.strategy_id} on {item.symbol} emits nothing more; its positions stay "
        "under their protective exits unless the error policy says otherwise",
        when(item.ts),
    ]
    return Notification(
        "error", f"Strategy fault: {item.strategy_id}", "\n".join(lines), "failure", item.ts,
        f"fault:{item.strategy_id}:{item.error_type}",
    )  # fmt: skip


def rejected(order: Order, reason: str, ts: int) -> Notification:
    """The venue refused an order."""
    lines = [
        f"{order.side.value} {quantity(order.quantity)} {order.symbol} ({order.type.value}) "
        f"by {order.strategy_id}",
        f"Reason: {reason or 'not given'}",
        when(ts),
    ]
    return Notification(
        "error", f"Order rejected: {order.symbol} {order.side.value}", "\n".join(lines),
        "failure", ts, f"rejected:{order.symbol}:{reason}",
    )  # fmt: skip


def log_error(logger: str, message: str, ts: int) -> Notification:
    """An error the bot logged."""
    first = message.splitlines()[0] if message else ""
    return Notification(
        "error", f"Error in {logger}", f"{message}\n{when(ts)}", "failure", ts,
        f"log:{logger}:{first[:120]}",
    )  # fmt: skip


# -- streams, anomalies, operators -----------------------------------------------------------------

_STREAM_HEADINGS: dict[AlertKind, tuple[str, Level]] = {
    AlertKind.STALE: ("Stream stale", "warning"),
    AlertKind.DISCONNECTED: ("Stream disconnected", "warning"),
    AlertKind.RECONNECTED: ("Stream reconnected", "success"),
    AlertKind.BOOK_RESYNC: ("Order book resynced", "info"),
    AlertKind.FRESH: ("Stream fresh again", "success"),
    AlertKind.BACKFILL_FAILED: ("Backfill failed", "failure"),
}


def stream(alert: StreamAlert) -> Notification:
    """A market-data stream changed health (disconnected, reconnected, stale...)."""
    heading, level = _STREAM_HEADINGS[alert.kind]
    lines = [
        alert.detail or heading,
        f"State {alert.state.value}; markets: {', '.join(alert.symbols) or 'none'}",
        when(alert.received_ms),
    ]
    return Notification(
        "stream", f"{heading}: {alert.stream}", "\n".join(lines), level, alert.received_ms,
        f"stream:{alert.stream}:{alert.kind.value}",
    )  # fmt: skip


def anomaly(kind: str, payload: dict[str, Any], ts: int) -> Notification:
    """An anomaly alert (slippage, latency, daily loss, data quality) from the detectors."""
    message = str(payload.get("message", kind))
    subject = payload.get("symbol") or ""
    return Notification(
        "anomaly", f"Anomaly: {kind.replace('_', ' ')}" + (f" on {subject}" if subject else ""),
        f"{message}\n{when(ts)}", "warning", ts, f"alert:{kind}:{subject}:{message[:120]}",
    )  # fmt: skip


def operator(action: str, payload: dict[str, Any], ts: int, serial: int) -> Notification:
    """An operator acted on the bot (pause, resume, force exit, emergency stop...)."""
    actor = payload.get("actor", "someone")
    channel = payload.get("channel", "")
    lines = [
        f"By {actor}" + (f" over {channel}" if channel else ""),
        f"Reason: {payload.get('reason', '')}",
        f"Outcome: {payload.get('outcome', '')}",
        when(ts),
    ]
    level: Level = "failure" if action == "emergency_stop" else "info"
    return Notification(
        "operator", f"Operator: {action.replace('_', ' ')}", "\n".join(lines), level, ts,
        f"operator:{serial}",
    )  # fmt: skip
