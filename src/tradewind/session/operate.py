"""What an operator gets around a running session: its database, the control facade, the REST API
with the web dashboard, and notifications.

:class:`SessionOps` is handed to a :class:`~tradewind.session.paper.PaperSession`; when the
session's Node exists it opens the bot's database (SQLite in the bot's folder by default), starts
a session row, records every order before it is sent and every fill as it comes
(:class:`~tradewind.engine.recording.RepositoryRecorder` on the Node's bus), builds the control
facade over the Node and the database, serves the API (and dashboard) on the session's own event
loop when asked, attaches the notifier when the config has notification URLs, and starts the
Telegram bot when the config has a ``[telegram]`` table. Everything runs
on the session's loop: the facade is not thread-safe, and the Node is driven from that loop. The
one exception is the jobs worker: the first backtest or optimisation queued through the facade
starts it in a separate process (:class:`~tradewind.ops.jobs.JobWorker`), stopped with the session.

From that loop too come systemd's notifications (``READY=1`` once trading can start, watchdog beats
carrying the audit chain's head, ``STOPPING=1``) when the session runs under systemd, and the
dead man's switch when the config has a ``[heartbeat]`` table: a blocked loop silences both.

The audit chain of operator actions is signed with the keystore's ``audit`` key when a keystore is
given; a paper session without one uses a key generated for the bot and kept in its folder
(owner-only), so the chain still detects edits by anyone without that file.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tradewind.config import AppConfig, secret_values
from tradewind.core.errors import UserError
from tradewind.core.instrument import Instrument
from tradewind.core.market_events import AlertKind, StreamAlert, StreamState
from tradewind.core.orders import Order, OrderStatus
from tradewind.core.repository import OrderTransition, RiskEvent, TransitionSource
from tradewind.core.source_events import DataQuality
from tradewind.engine.bus import MessageBus
from tradewind.engine.node import Node
from tradewind.engine.recording import RepositoryRecorder
from tradewind.engine.resume import ResumedAccount, resume_account, resume_parents
from tradewind.execution.parent import Parent
from tradewind.ops.api import LoginLimiter, build_app
from tradewind.ops.events import EventHub
from tradewind.ops.facade import ControlFacade
from tradewind.ops.heartbeat import Heartbeat
from tradewind.ops.jobs import JobWorker
from tradewind.ops.keystore import Keystore
from tradewind.ops.metrics import BotMetrics
from tradewind.ops.model_watch import ModelWatch
from tradewind.ops.notifications import Notifier
from tradewind.ops.server import bound_port, server_for
from tradewind.ops.session_anomalies import SessionAnomalies
from tradewind.ops.systemd import watchdog_beats
from tradewind.ops.telegram import TelegramBot, telegram_token
from tradewind.ops.two_factor import TwoFactor
from tradewind.persistence.audit import ChainHead, chain_head
from tradewind.persistence.bots import BotDatabase, account_hash, bot_folder, open_bot
from tradewind.persistence.execution import ExecutionStore, StoredParent
from tradewind.risk.breakers import BreakerEvent, BreakerState
from tradewind.session.driver import BarDriver, StepReport
from tradewind.session.execution_recorder import ExecutionRecorder

__all__ = ["ServeOptions", "SessionOps"]

log = logging.getLogger(__name__)

_KEY_FILE = "audit.key"  # where `tradewind audit verify` looks (cli.audit.BOT_KEY_FILE)


@dataclass
class ServeOptions:
    """Where to serve the API and dashboard (``port`` 0: any free port)."""

    host: str = "127.0.0.1"
    port: int = 0


class SessionOps:
    """The operator's side of one session (see the module docstring).

    Parameters
    ----------
    config
        The running config (database folder, notifications).
    bot
        The bot's name: its folder and database.
    serve
        Serve the API and dashboard; None does not.
    audit_key
        The key of the operator-action chain (the keystore's); None uses the bot's own file.
    keystore
        The open keystore, for secrets the config names by entry (the Telegram token).
    mode
        ``paper`` or ``live``: how the session row and the facade name the session.
    two_factor
        When given, the facade's dangerous actions need the acting operator's code.
    fallback
        A live bot trading paper after repeated live failures (:mod:`tradewind.ops.fallback`):
        its paper account starts afresh and its stored live state (account binding, positions,
        balances) is left as it was.
    config_path
        The file ``config`` was read from: what the facade's config reload reads again (without
        it a reload is refused as having no file to read).
    config_overrides
        The command-line values ``config`` was built with (they still win on a reload).
    """

    def __init__(
        self,
        config: AppConfig,
        bot: str,
        *,
        serve: ServeOptions | None = None,
        audit_key: bytes | None = None,
        keystore: Keystore | None = None,
        mode: str = "paper",
        two_factor: TwoFactor | None = None,
        fallback: bool = False,
        config_path: Path | None = None,
        config_overrides: Mapping[str, Any] | None = None,
    ) -> None:
        self.config = config
        self.config_path = config_path
        self.config_overrides = config_overrides
        self.fallback = fallback
        self.mode = mode
        self.bot = bot
        self.serve = serve
        self._audit_key = audit_key
        self.keystore = keystore
        self.two_factor = two_factor
        self.telegram: TelegramBot | None = None
        self.database: BotDatabase | None = None
        self.facade: ControlFacade | None = None
        self.events = EventHub()
        self.notifier: Notifier | None = None
        self.session_id: int | None = None
        self.models: ModelWatch | None = None
        self.recorder: RepositoryRecorder | None = None
        self.execution: ExecutionRecorder | None = None
        """Writes the parent orders ahead and the execution costs at each checkpoint."""
        self.url: str | None = None
        self._server: Any = None
        self._beats: list[asyncio.Task[None]] = []
        self._log_handler: logging.Handler | None = None
        self._serving: asyncio.Task[None] | None = None
        self._worker: JobWorker | None = None
        self._streams: dict[str, dict[str, Any]] = {}
        self._components: dict[str, Callable[[], dict[str, Any]]] = {}
        self._rate_budget_use: Callable[[], float] | None = None
        self._breakers_seen = 0
        self._driver: BarDriver | None = None
        self.anomalies: SessionAnomalies | None = None
        """The anomaly detectors (API latency, daily loss, data quality, slippage), once
        started."""
        self._metrics: BotMetrics | None = None

    def open_database(self) -> BotDatabase:
        """The bot's database (opened, and made on the bot's first start, once)."""
        if self.database is None:
            cfg = self.config.database
            self.database = open_bot(
                self.bot, bots_dir=cfg.bots_dir, url=cfg.url, durability=cfg.durability
            )
        return self.database

    def _checked_database(self) -> BotDatabase:
        """The bot's database, refused when the bot traded in the other trading mode (a live
        bot's fallback to paper excepted)."""
        database = self.open_database()
        if self.fallback:
            return database
        other = sorted(database.session_modes() & {"paper", "live"} - {self.mode})
        if other:
            raise UserError(
                f"bot {self.bot!r} has traded in {other[0]} mode; a {self.mode} session never "
                "continues that account: use another --bot name"
            )
        return database

    def bind_account(self, exchange: str, account: str) -> None:
        """Bind the bot to the exchange account it trades (its first start), or refuse another.

        Only a fingerprint is stored (:func:`~tradewind.persistence.bots.account_hash`), never
        the key itself.

        Raises
        ------
        UserError
            When the bot traded another account, or in the other trading mode.
        """
        if self.fallback:
            return  # a live bot trading paper for a while: it stays bound to its live account
        self._checked_database().bind_account(account_hash(exchange, account))

    def resume(self, instruments: dict[str, Instrument]) -> ResumedAccount | None:
        """The account the bot's earlier sessions left (None on its first start).

        Raises
        ------
        UserError
            When the bot's earlier sessions ran in another mode (a paper session never continues
            a live account, nor the reverse), or it holds a position in a market ``instruments``
            does not list.
        """
        database = self._checked_database()
        if self.fallback:
            return None  # the paper account of a fallback starts afresh; the live one stays
        with database.repository() as repository:
            try:
                return resume_account(repository, instruments)
            except KeyError as error:
                raise UserError(
                    f"bot {self.bot!r} cannot resume: {error.args[0]}; trade that market too, or "
                    "use another --bot name"
                ) from None

    async def start(
        self,
        driver: BarDriver,
        *,
        strategies: list[str],
        parameters: dict[str, Any],
        resumed: ResumedAccount | None = None,
    ) -> None:
        """Open the database and start recording (carrying on ``resumed``'s orders), the facade,
        the API and notifications."""
        database = self._checked_database()
        self.session_id = database.start_session(
            mode=self.mode, strategies=strategies, parameters=parameters,
            config_hash="", code_version="",
        )  # fmt: skip
        node = driver.node
        self._driver = driver
        audit_key = self.audit_key
        # Orders, fills and risk events are chained into the audit trail as they are stored.
        repository = database.repository(self.session_id, audit_key=audit_key)
        self.recorder = RepositoryRecorder(
            repository, node.portfolio, fills_before=resumed.fills if resumed is not None else 0
        )
        if resumed is not None:
            self.recorder.adopt(resumed.orders.values())
        self.recorder.attach(node.bus)
        store = ExecutionStore(database.engine, database.bot_id, self.session_id)
        self.execution = ExecutionRecorder(store, node)
        self.execution.attach(node.bus)
        # The 3-sigma slippage alert judges against the bot's stored executions, not only this
        # session's.
        node.desk.costs.learn(store.costs())
        self.events.attach(node.bus)
        self.facade = ControlFacade(
            node, database, audit_key, mode=self.mode, events=self.events,
            config=self.config, config_path=self.config_path,
            config_overrides=self.config_overrides, two_factor=self.two_factor,
            health=self._stream_health, risk_config=driver.prepared.spec.risk,
        )  # fmt: skip
        self.facade.job_queued = self._start_worker
        risk = driver.prepared.spec.risk
        self.anomalies = SessionAnomalies(
            self.events, daily_loss_limit=None if risk is None else risk.breakers.daily_loss
        )
        self.anomalies.attach(node.bus)
        watch = ModelWatch(database.engine, driver.strategies, self.config.ml, self.events.publish,
                           bot_id=database.bot_id)  # fmt: skip
        self.models = watch if watch.active else None
        self.facade.model_views = watch.views
        self._start_beats(node.bus, database)
        if self.config.notifications.enabled:
            self.notifier = Notifier(self.config.notifications, facade=self.facade,
                                     now=lambda: node.now)  # fmt: skip
            self.notifier.attach(node, self.events)
            self._log_handler = self.notifier.log_handler(secrets=secret_values(self.config))
            logging.getLogger("tradewind").addHandler(self._log_handler)
            await self.notifier.start()
        if self.config.telegram is not None:
            token = telegram_token(self.config.telegram, self.keystore)
            telegram = TelegramBot(self.facade, self.config.telegram, token)
            await telegram.start()
            self.telegram = telegram  # only once it polls: commands sent earlier are dropped
        if self.serve is not None:
            self._metrics = BotMetrics(self.facade)
            self._metrics.attach(node.bus)
            self._metrics.rate_budget_use = self._rate_budget_use
            api = self.config.api
            limiter = LoginLimiter(api.max_failed_logins, api.login_window_s)
            app = build_app(self.facade, events=self.events, metrics=self._metrics,
                            limiter=limiter)  # fmt: skip
            self._server = server_for(app, host=self.serve.host, port=self.serve.port)
            self._serving = asyncio.get_running_loop().create_task(self._server.serve())
            while not self._server.started:
                if self._serving.done():
                    self._serving.result()  # raises what stopped it (a port in use)
                await asyncio.sleep(0.02)
            self.url = f"http://{self.serve.host}:{bound_port(self._server)}"
            log.info(
                "operator API and dashboard at %s (dashboard: %s/dashboard)", self.url, self.url
            )

    def stepped(
        self, driver: BarDriver, report: StepReport, bar_to_order_s: float | None = None
    ) -> None:
        """A closed instant was traded: the account's checkpoint, the bar -> order latency when
        it sent orders (``bar_to_order_s``, for /metrics), and the feedback loop of the
        registered models traded."""
        self.checkpoint(report.close_ms)
        self.record_breakers(driver)
        if self.anomalies is not None:
            self.anomalies.closed(report.close_ms, driver.node.account.equity())
        if self._metrics is not None and bar_to_order_s is not None:
            self._metrics.bar_to_order.observe(bar_to_order_s)
        if self.models is not None:
            self.models.on_close(driver.bars, report.bars, report.close_ms)

    def record_breakers(self, driver: BarDriver) -> None:
        """Each breaker transition since the last call (a trip, a lift, a resume), from the risk
        engine's board: a risk-event row and its own audit row (channel ``engine``, action
        ``risk.breaker``) in one transaction, and ``risk.breaker`` on the Node's bus (the event
        stream)."""
        board = getattr(driver.node.observer, "board", None)
        if board is None or self.recorder is None:
            return
        events = board.events
        for event in events[self._breakers_seen :]:
            self.recorder.repository.record_risk_event(
                RiskEvent(ts=event.ts, kind="breaker", reason=event.reason, symbol=event.symbol,
                          action=event.breaker, code=str(event.state.value).upper())
            )  # fmt: skip
            driver.node.bus.publish("risk.breaker", event.ts, event)
        self._breakers_seen = len(events)

    def breaker_tripped(self, driver: BarDriver, name: str, reason: str) -> None:
        """A breaker outside the risk engine tripped (a live session's order-rate breaker): its
        risk-event row and audit row in one transaction, and ``risk.breaker`` on the bus."""
        if self.recorder is None:
            return
        node = driver.node
        # New entries stop, exits pass: the board's REDUCING.
        event = BreakerEvent(node.now, -1, "", name, BreakerState.REDUCING, reason)
        self.recorder.repository.record_risk_event(
            RiskEvent(ts=event.ts, kind="breaker", reason=reason, action=name,
                      code=str(event.state.value).upper())
        )  # fmt: skip
        node.bus.publish("risk.breaker", event.ts, event)

    def _start_beats(self, bus: MessageBus, database: BotDatabase) -> None:
        """The watchdog (under systemd) and the heartbeat (when configured), both on this loop."""
        loop = asyncio.get_running_loop()

        def head() -> ChainHead | None:
            return chain_head(database.engine)

        def status() -> str:
            now = head()
            if now is None:
                return f"{self.mode} session trading; audit chain empty"
            return (f"{self.mode} session trading; audit chain {now.row_count} rows, "
                    f"last hmac {now.last_hash}")  # fmt: skip

        self._beats.append(loop.create_task(watchdog_beats(status=status)))
        beat = self.config.heartbeat
        if beat is not None:
            heartbeat = Heartbeat(beat.url, lambda: bus.published, interval_s=beat.interval_s,
                                  max_silence_s=beat.max_silence_s, chain_head=head)  # fmt: skip
            assert self.facade is not None
            self.facade.heartbeat = heartbeat
            self._beats.append(loop.create_task(heartbeat.run()))

    def add_health(self, name: str, state: Callable[[], dict[str, Any]]) -> None:
        """One more component of ``/health`` (``state`` gives ``{"ok": bool, ...}`` when asked):
        a live session adds its venue and its reconciliation."""
        self._components[name] = state

    def rate_budget(self, use: Callable[[], float]) -> None:
        """Where ``tradewind_rate_budget_used_ratio`` comes from at each scrape: the share of
        the exchange's shared request-weight budget in use now."""
        self._rate_budget_use = use
        if self._metrics is not None:
            self._metrics.rate_budget_use = use

    def stream_ages(self, ages: dict[str, float]) -> None:
        """Each market connection's silence in seconds (``tradewind_stream_staleness_seconds``)."""
        if self._metrics is not None:
            for stream, age in ages.items():
                self._metrics.staleness.labels(stream=stream).set(age)

    def checkpoint(self, ts: int) -> None:
        """Store the account's positions and balances (what a restart continues from); a
        fallback to paper keeps the live account's stored state as it was."""
        if self.recorder is not None and not self.fallback:
            self.recorder.checkpoint(ts)
        if self.execution is not None:
            self.execution.record_costs()

    def working_parents(self) -> list[StoredParent]:
        """The parent orders the bot's earlier sessions left working, oldest first."""
        database = self._checked_database()
        return ExecutionStore(database.engine, database.bot_id).parents(working_only=True)

    def resume_parents(self, node: Node) -> list[Parent]:
        """Hand the parents the bot's earlier sessions left working back to ``node`` with the
        children they recorded (call it once the stored orders are reconciled, or carried on at
        the venue); returns those still working. Nothing is sent here.

        Raises
        ------
        UserError
            For a parent of a strategy and symbol this session does not trade.
        """
        stored = self.working_parents()
        if not stored:
            return []
        database = self._checked_database()
        with database.repository() as repository:
            orders = repository.load_orders()
        return resume_parents(node, [(s.parent, s.children) for s in stored], orders)

    def end_orders(self, orders: list[Order], ts: int, why: str) -> None:
        """Record orders of an earlier session that this one could not carry on as canceled."""
        if self.recorder is None:
            return
        for order in orders:
            self.recorder.repository.record_transition(
                OrderTransition(
                    order.client_id, OrderStatus.CANCELED, ts, TransitionSource.ENGINE, why
                )
            )

    def alert(self, event: StreamAlert) -> None:
        """A stream alert: into ``/health`` and ``/metrics``, and to the notifier (and so to the
        operators)."""
        self._streams[event.stream] = {"state": event.state.value, "last_alert": event.kind.value,
                                       "symbols": list(event.symbols),
                                       "at_ms": event.received_ms}  # fmt: skip
        if self._metrics is not None and event.kind is AlertKind.RECONNECTED:
            self._metrics.reconnects.labels(stream=event.stream).inc()
        if self.notifier is not None:
            self.notifier.stream(event)
        if self.anomalies is not None:
            self.anomalies.stream(event)

    def data_quality(self, event: DataQuality) -> None:
        """A cross-check finding of the market-data sources: an anomaly alert."""
        if self.anomalies is not None:
            self.anomalies.cross_check(event)

    async def stop(self, reason: str) -> None:
        """Stop serving and notifying; record the end of the session."""
        for task in self._beats:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.telegram is not None:
            await self.telegram.stop()
        if self._log_handler is not None:
            # A later session in this process must not tell its errors to this stopped notifier.
            logging.getLogger("tradewind").removeHandler(self._log_handler)
        if self.notifier is not None:
            await self.notifier.stop()
        if self._server is not None:
            self._server.should_exit = True
            if self._serving is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self._serving, timeout=10)
        if self._worker is not None:
            await asyncio.to_thread(self._worker.stop)
        if self.execution is not None:
            self.execution.record_costs()
        if self._driver is not None:
            self.record_breakers(self._driver)  # what tripped after the last close
        if self.database is not None and self.session_id is not None:
            self.database.end_session(self.session_id, reason)

    def _stream_health(self) -> dict[str, dict[str, Any]]:
        """The market streams as their latest alerts left them (a stream that never alerted is
        live; stale or stopped ones make ``/health`` not ok), and the components the session
        added (:meth:`add_health`)."""
        streams = dict(self._streams)
        ok = all(s["state"] in (StreamState.LIVE, StreamState.STARTING) for s in streams.values())
        components = {"streams": {"ok": ok, "alerted": streams}}
        for name, state in self._components.items():
            components[name] = state()
        return components

    @property
    def worker(self) -> JobWorker | None:
        """The jobs worker this session started (None until a job is queued)."""
        return self._worker

    def _start_worker(self) -> None:
        """Start the jobs worker process at the first queued job (a session that queues none
        spawns none), and again if it died: backtests and optimisations run beside the trading
        loop, never on it."""
        if self._worker is not None and self._worker.process.is_alive():
            return
        assert self.database is not None
        url = self.database.engine.url.render_as_string(hide_password=False)
        self._worker = JobWorker(url).start()

    @property
    def audit_key(self) -> bytes:
        """The audit chain's key: the keystore's when given, else the bot's own file's."""
        if self._audit_key is None:
            self._audit_key = self._bot_key()
        return self._audit_key

    def _bot_key(self) -> bytes:
        """The bot's own audit key (made on first use, owner-only)."""
        folder = bot_folder(self.bot, self.config.database.bots_dir)
        path = Path(folder) / _KEY_FILE
        if not path.exists():
            folder.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                handle.write(secrets.token_hex(32))
        return path.read_text().strip().encode()
