"""Notifications: what happens to the bot, told to its operators through apprise (webhooks,
e-mail, ntfy, Slack... any apprise URL), with a daily P&L report and a weekly summary.

The :class:`Notifier` listens where things happen and turns them into messages
(:mod:`tradewind.ops.notify_templates`):

- the Node's bus: fills that open a position (entries), rejected orders, risk denials; and, read
  from the Node after each message and at each :meth:`~Notifier.tick`, the trades it closed
  (exits, stops and take-profits hit), its strategy faults and its breaker trips and lifts;
- the operator event hub: anomaly alerts (``alert.*``) and operator actions (``operator.*``);
- the market feed's :class:`~tradewind.core.market_events.StreamAlert` (:meth:`~Notifier.stream`);
- the ``tradewind`` logger's errors (:meth:`~Notifier.log_handler`).

Between an event and the wire: the kind filter of the config, de-duplication (the same key within
``dedupe_seconds`` is sent once; the next one after the window says how often it repeated), and the
rate cap (at most ``max_per_minute`` a minute of the bot's clock; the rest is held and summarised
in one message when the minute ends, never dropped silently). Reports are due on the bot's clock:
:meth:`~Notifier.tick` is given the time, so a replay's reports follow its data and tests move
time instead of waiting.

Nothing here blocks or breaks the trading loop: the handlers only build text and queue it; a
:class:`Sender` thread does the network work, and a failed delivery is logged (without its URL,
which may hold a token) and counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from tradewind.config import NotificationsConfig
from tradewind.core.events import OrderFilled, OrderRejected
from tradewind.core.intents import Decision
from tradewind.core.market_events import StreamAlert
from tradewind.core.orders import Order
from tradewind.engine.node import Node
from tradewind.logs import RedactingFilter
from tradewind.ops import notify_templates as templates
from tradewind.ops.events import EventHub
from tradewind.ops.facade import ControlFacade
from tradewind.ops.notify_sender import Sender, register_url_parts
from tradewind.ops.notify_templates import Level, Notification
from tradewind.ops.reports import DAY, WEEK, ReportSchedule, account_currency, period_report
from tradewind.ops.reports import render as render_report
from tradewind.ops.secrets import Secret

__all__ = ["Notifier", "Sender"]

log = logging.getLogger(__name__)

_MINUTE = 60_000
_REPORTS = frozenset({"daily_report", "weekly_report"})
_SUMMARY_LINES = 20


class Notifier:
    """Turn what happens to one bot into notifications, and send the scheduled reports.

    Wire it with :meth:`attach` (the Node and the event hub), give it the feed's stream alerts
    with :meth:`stream`, and drive the clock with :meth:`tick` (or :meth:`start`, which ticks with
    ``now`` every second on the running loop). Handlers and :meth:`tick` run on the thread that
    drives the Node (the reports read it through the facade); they only queue text.

    Parameters
    ----------
    config
        The ``[notifications]`` table.
    facade
        The bot's control facade: the reports read closed trades, equity and positions from it
        (None: no reports).
    now
        The bot's clock (UTC ms), for :meth:`start`'s ticking; a replay passes its engine time.
    sender
        Where messages go (default: a :class:`Sender` over ``config.urls``).
    """

    def __init__(
        self,
        config: NotificationsConfig,
        *,
        facade: ControlFacade | None = None,
        now: Callable[[], int] | None = None,
        sender: Sender | None = None,
    ) -> None:
        if sender is None:
            for url in config.urls:
                register_url_parts(url.get_secret_value())
            sender = Sender([Secret(u.get_secret_value()) for u in config.urls])
        self.sender = sender
        self.kinds = frozenset(config.events)
        self.max_per_minute = config.max_per_minute
        self.dedupe_ms = config.dedupe_seconds * 1000
        self.schedule = ReportSchedule(config.report_time, config.weekly_day)
        self.facade = facade
        self.now = now
        self.suppressed = 0
        """Notifications not sent because the same event was sent within the window."""
        self.held = 0
        """Notifications held back by the rate cap (each is counted in a summary)."""
        self.summaries = 0
        self._lock = threading.RLock()
        self._node: Node | None = None
        self._currency = ""
        self._orders: dict[str, Order] = {}
        self._fills: dict[str, list[tuple[Decimal, Decimal, Decimal, str, int]]] = {}
        self._seen = [0, 0, 0]  # closed trades, faults, breaker events already told
        self._clock: int | None = None
        self._next_daily = 0
        self._next_weekly = 0
        self._window = -1
        self._in_window = 0
        self._waiting: list[Notification] = []
        self._last: dict[str, tuple[int, int]] = {}
        self._operator_serial = 0
        self._task: asyncio.Task[None] | None = None

    # -- wiring ---------------------------------------------------------------------------------

    def attach(self, node: Node | None = None, hub: EventHub | None = None) -> None:
        """Listen to ``node``'s bus and state, and to ``hub``'s alerts and operator actions.

        What the Node did before this call is not told.
        """
        if hub is not None:
            hub.subscribe(self._on_hub)
        if node is None:
            return
        with self._lock:
            self._node = node
            self._currency = account_currency(self.facade) if self.facade is not None else ""
            if not self._currency:
                for instrument in node.instruments.values():
                    self._currency = instrument.quote
                    break
            self._seen = [len(node.portfolio.trades), len(node.faults), len(self._board_events())]
        for topic in ("order", "risk.denied"):
            node.bus.subscribe(topic, self._on_bus)

    def log_handler(
        self, level: int = logging.ERROR, secrets: Iterable[str] = ()
    ) -> logging.Handler:
        """A logging handler that tells each record at ``level`` or above as an ``error``
        notification (attach it to the ``tradewind`` logger). The notifier's own records and
        apprise's are left out, so a failing service cannot feed itself.

        It redacts as the log handlers do (``secrets``, the config's, plus every registered
        one): it sits on the ``tradewind`` logger, so it sees a record before the root handler's
        filter has redacted it, and an error's text may hold a secret (a URL with a token).
        """
        handler = _ErrorHandler(self, level)
        handler.addFilter(RedactingFilter(secrets))
        return handler

    def stream(self, alert: StreamAlert) -> None:
        """Tell a market-data stream's change of health (disconnect, reconnect, stale...)."""
        try:
            self._emit(templates.stream(alert))
        except Exception:
            log.exception("notifier failed on a stream alert")

    # -- the clock --------------------------------------------------------------------------------

    def tick(self, now_ms: int) -> None:
        """Advance the notifier's clock to ``now_ms`` (the bot's time, UTC ms): tell what the
        Node did since the last look, end the rate cap's minute (sending its summary), and send
        the reports that fell due."""
        try:
            with self._lock:
                self._advance(now_ms)
                self._poll()
                self._roll_window()
                self._reports()
        except Exception:
            # The caller is the trading loop (or its clock task): log, never raise into it.
            log.exception("notifier tick failed")

    async def start(self, interval_s: float = 1.0) -> None:
        """Start delivering, and (with ``now``) tick every ``interval_s`` on the running loop."""
        self.sender.start()
        if self.now is not None and self._task is None:
            self._task = asyncio.create_task(self._ticking(interval_s), name="notifier-tick")

    async def stop(self, timeout_s: float = 10.0) -> bool:
        """Stop ticking, send what is waiting (the rate cap's summary too) and stop delivering;
        False when ``timeout_s`` ran out first. Runs off the loop: the loop keeps serving."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._last_word()  # here, on the loop that drives the Node: it reads the Node
        return await asyncio.to_thread(self.sender.close, timeout_s)

    def open(self) -> None:
        """Start delivering (for a caller without an event loop: a replay, a test)."""
        self.sender.start()

    def close(self, timeout_s: float = 10.0) -> bool:
        """Send what the rate cap holds as its summary, deliver everything queued, and stop."""
        self._last_word()
        return self.sender.close(timeout_s)

    def _last_word(self) -> None:
        with self._lock:
            if self.now is not None:
                self._advance(self.now())
            self._poll()
            self._flush_waiting()

    @property
    def stats(self) -> dict[str, int]:
        """Counts: delivered, failed, dropped (outbox full), suppressed (duplicates), held (rate
        cap), summaries, pending."""
        return {
            "sent": self.sender.sent, "failed": self.sender.failed,
            "dropped": self.sender.dropped, "suppressed": self.suppressed, "held": self.held,
            "summaries": self.summaries, "pending": self.sender.pending,
        }  # fmt: skip

    async def _ticking(self, interval_s: float) -> None:
        assert self.now is not None
        while True:
            self.tick(self.now())
            await asyncio.sleep(interval_s)

    # -- sources ----------------------------------------------------------------------------------

    def _on_bus(self, topic: str, payload: Any) -> None:
        try:
            with self._lock:
                self._poll()
                self._bus_message(topic, payload)
        except Exception:
            # A notifier's bug must not reach the trading loop that published the message.
            log.exception("notifier failed on %s", topic)

    def _bus_message(self, topic: str, payload: Any) -> None:
        if topic == "order.submitted":
            if not payload.reduce_only:
                self._orders[payload.client_id] = payload
            return
        if topic == "risk.denied":
            assert isinstance(payload, Decision)
            self._emit(templates.denied(payload, payload.intent.ts))
            return
        client_id = getattr(payload, "client_id", "")
        order = self._orders.get(client_id)
        if topic == "order.rejected" and isinstance(payload, OrderRejected):
            rejected = order or (self._node.orders.get(client_id) if self._node else None)
            if rejected is not None:
                self._emit(templates.rejected(rejected, payload.reason, payload.ts))
            self._orders.pop(client_id, None)
            return
        if order is None:
            return  # an exit: told from the trade it closes
        if topic == "order.filled" and isinstance(payload, OrderFilled):
            fill = payload.fill
            fills = self._fills.setdefault(client_id, [])
            fills.append((fill.quantity, fill.price, fill.fee, fill.fee_currency, fill.ts))
            if sum(f[0] for f in fills) >= payload.order_quantity:
                self._entry(order)
        elif topic in ("order.canceled", "order.expired"):
            if self._fills.get(client_id):
                self._entry(order)  # the part that filled before the rest was canceled
            self._orders.pop(client_id, None)

    def _entry(self, order: Order) -> None:
        fills = self._fills.pop(order.client_id)
        self._orders.pop(order.client_id, None)
        filled = sum((f[0] for f in fills), Decimal(0))
        average = sum((f[0] * f[1] for f in fills), Decimal(0)) / filled
        fees = sum((f[2] for f in fills), Decimal(0))
        self._emit(
            templates.entry(
                order, filled, average, fees, fills[-1][3], fills[-1][4], self._currency
            )
        )

    def _on_hub(self, topic: str, payload: Any) -> None:
        if not isinstance(payload, dict):
            return
        ts = payload.get("ts")
        with self._lock:
            at = ts if isinstance(ts, int) else (self._clock or 0)
            kind, _, name = topic.partition(".")
            if kind == "alert":
                self._emit(templates.anomaly(name, payload, at))
            elif kind == "operator":
                self._operator_serial += 1
                self._emit(templates.operator(name, payload, at, self._operator_serial))

    def _board_events(self) -> list[Any]:
        board = getattr(self._node.observer, "board", None) if self._node is not None else None
        return [] if board is None else board.events

    def _poll(self) -> None:
        node = self._node
        if node is None:
            return
        trades, faults, breakers = node.portfolio.trades, node.faults, self._board_events()
        told = self._seen
        if len(trades) == told[0] and len(faults) == told[1] and len(breakers) == told[2]:
            return
        for trade in trades[told[0] :]:
            self._emit(templates.exited(trade, self._currency))
        for item in faults[told[1] :]:
            self._emit(templates.fault(item))
        for event in breakers[told[2] :]:
            self._emit(templates.breaker(event))
        self._seen = [len(trades), len(faults), len(breakers)]

    # -- filter, de-duplication, rate cap ---------------------------------------------------------

    def _advance(self, ts: int) -> None:
        if self._clock is None:
            # Reports fall due from the first due time after the notifier first saw the clock.
            self._next_daily = self.schedule.latest_daily(ts) + DAY
            self._next_weekly = self.schedule.latest_weekly(ts) + WEEK
        if self._clock is None or ts > self._clock:
            self._clock = ts

    def _emit(self, notification: Notification) -> None:
        with self._lock:
            self._advance(notification.ts)
            self._roll_window()
            if notification.kind not in self.kinds:
                return
            if notification.kind in _REPORTS:
                self.sender.put(notification)
                return
            told = self._dedupe(notification)
            if told is None:
                return
            if self._in_window >= self.max_per_minute:
                self._waiting.append(told)
                self.held += 1
                return
            self._in_window += 1
            self.sender.put(told)

    def _dedupe(self, notification: Notification) -> Notification | None:
        if not self.dedupe_ms:
            return notification
        now = notification.ts
        last = self._last.get(notification.key)
        if last is not None and now - last[0] < self.dedupe_ms:
            self._last[notification.key] = (last[0], last[1] + 1)
            self.suppressed += 1
            return None
        self._last[notification.key] = (now, 0)
        if len(self._last) > 10_000:
            self._last = {k: v for k, v in self._last.items() if now - v[0] < self.dedupe_ms}
        if last is not None and last[1]:
            body = (
                f"{notification.body}\n(also {last[1]} more time(s) within "
                f"{self.dedupe_ms // 1000} s of {templates.when(last[0])}, not sent again)"
            )
            return Notification(
                notification.kind, notification.title, body, notification.level, notification.ts,
                notification.key,
            )  # fmt: skip
        return notification

    def _roll_window(self) -> None:
        window = (self._clock or 0) // _MINUTE
        if window != self._window:
            self._flush_waiting()
            self._window = window
            self._in_window = 0

    def _flush_waiting(self) -> None:
        waiting = self._waiting
        if not waiting:
            return
        self._waiting = []
        self.summaries += 1
        kinds = Counter(n.kind for n in waiting)
        lines = [
            f"{len(waiting)} notification(s) over the cap of {self.max_per_minute} a minute, "
            f"from {templates.when(waiting[0].ts)}: "
            + ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items())),
        ]
        lines += [f"- {n.title}" for n in waiting[:_SUMMARY_LINES]]
        if len(waiting) > _SUMMARY_LINES:
            lines.append(f"- and {len(waiting) - _SUMMARY_LINES} more")
        worst: Level = "failure" if any(n.level == "failure" for n in waiting) else "warning"
        title = f"{len(waiting)} more notification(s) held back by the rate cap"
        summary = Notification("summary", title, "\n".join(lines), worst, waiting[-1].ts, "summary")
        self.sender.put(summary)

    # -- reports ----------------------------------------------------------------------------------

    def _reports(self) -> None:
        now = self._clock
        if now is None or self.facade is None:
            return
        if now >= self._next_daily:
            due = self.schedule.latest_daily(now)
            self._next_daily = due + DAY
            if "daily_report" in self.kinds:
                self._emit(render_report(period_report(self.facade, "daily", due - DAY, due)))
        if now >= self._next_weekly:
            due = self.schedule.latest_weekly(now)
            self._next_weekly = due + WEEK
            if "weekly_report" in self.kinds:
                self._emit(render_report(period_report(self.facade, "weekly", due - WEEK, due)))


class _ErrorHandler(logging.Handler):
    def __init__(self, notifier: Notifier, level: int) -> None:
        super().__init__(level)
        self.notifier = notifier

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(("apprise", __name__)):
            return
        try:
            clock = self.notifier._clock
            ts = clock if clock is not None else int(record.created * 1000)
            self.notifier._emit(templates.log_error(record.name, record.getMessage(), ts))
        except Exception:
            self.handleError(record)
