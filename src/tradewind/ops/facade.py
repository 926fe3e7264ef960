"""The control facade: the one way an operator reads or acts on a running bot.

Every front end (the REST API, the CLI, the dashboard, Telegram) is a thin adapter over
:class:`ControlFacade`. Reads come from the running Node's state (what it holds now) and from the
bot's database (what it wrote); actions go through the Node's control port, and each one is written
to the HMAC-chained operator-actions table with who, when, over which channel, why, and what came of
it, in the same call.

The facade is not thread-safe: it must run on the thread that drives the Node (the API serves its
handlers on the trading process's event loop for this reason).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tradewind.config import AppConfig
from tradewind.core.errors import UserError
from tradewind.engine.node import Node
from tradewind.ops import executions, views
from tradewind.ops.errors import NotAvailableError, UnknownNameError
from tradewind.ops.events import EventHub
from tradewind.ops.heartbeat import Heartbeat
from tradewind.ops.jobs import validate_spec
from tradewind.ops.reload import reload_config, set_strategy_params
from tradewind.ops.risk_limits import apply_limits
from tradewind.ops.two_factor import TwoFactor
from tradewind.persistence import queries
from tradewind.persistence.audit import record_operator_action
from tradewind.persistence.bots import BotDatabase
from tradewind.persistence.jobs import enqueue_job, job, jobs
from tradewind.persistence.model_registry import registered_models
from tradewind.persistence.runs import RUN_KINDS
from tradewind.risk.config import RiskConfig

if TYPE_CHECKING:
    from tradewind.connectors.failover import SourceSet
    from tradewind.connectors.polled_sources import PolledSourceSet

__all__ = ["PERIODS", "Actor", "ControlFacade", "LogTail"]

PERIODS = {"day": 86_400_000, "week": 7 * 86_400_000, "month": 30 * 86_400_000}
"""The profit windows, in ms of the bot's own clock (a replay's periods follow its data)."""


@dataclass(frozen=True)
class Actor:
    """Who acts, and through which channel (``api``, ``cli``, ``telegram``, ``dashboard``)."""

    name: str
    channel: str


class LogTail(logging.Handler):
    """A logging handler that keeps the latest ``capacity`` formatted lines for operators."""

    def __init__(self, capacity: int = 500) -> None:
        super().__init__(logging.INFO)
        self.lines: deque[dict[str, Any]] = deque(maxlen=capacity)
        self.setFormatter(logging.Formatter("%(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        """Keep one record (never raises into the logging caller)."""
        try:
            self.lines.append(
                {
                    "at": datetime.fromtimestamp(record.created, UTC).isoformat(),
                    "level": record.levelname,
                    "logger": record.name,
                    "message": self.format(record),
                }
            )
        except Exception:
            self.handleError(record)


def _money(value: Decimal) -> str:
    return format(value.normalize(), "f") if value == value.to_integral() else str(value)


class ControlFacade:
    """Reads and actions on one running bot (a Node and its database).

    Parameters
    ----------
    node
        The running Node; actions go through its control port.
    bot
        The bot's open database: trades and the operator-actions chain live there.
    audit_key
        The HMAC key of the operator-actions chain (from the keystore).
    mode
        ``paper`` or ``live`` (or ``backtest`` for an in-process replay), shown in the status.
    logs
        Where recent log lines come from (attach it to the ``tradewind`` logger).
    health
        A callable giving each component's state (``{"name": {"ok": bool, ...}}``).
    events
        Where each action is announced (``operator.<action>``) to stream listeners.
    heartbeat
        The dead man's switch, when one runs: its loop lag and progress age go into the health.
    config
        The running config (what :meth:`reload_config` compares a reloaded file with).
    config_path
        The file it came from (what :meth:`reload_config` reads again).
    config_overrides
        The command-line values ``config`` was built with, by dotted key (they still win over
        the file on a reload).
    two_factor
        When given, the dangerous actions need a code from the acting operator's authenticator
        (enrolled under the actor's name, ``token:NAME`` or ``telegram:ID``): resuming after an
        emergency stop, reloading the config and changing risk limits. The emergency stop
        itself stays one step.
    risk_config
        The risk rules the bot runs under (what :meth:`set_risk_limits` changes); None when it
        runs without.
    """

    def __init__(
        self,
        node: Node,
        bot: BotDatabase,
        audit_key: bytes,
        *,
        mode: str = "paper",
        logs: LogTail | None = None,
        health: Callable[[], dict[str, dict[str, Any]]] | None = None,
        events: EventHub | None = None,
        heartbeat: Heartbeat | None = None,
        config: AppConfig | None = None,
        config_path: Path | None = None,
        config_overrides: Mapping[str, Any] | None = None,
        two_factor: TwoFactor | None = None,
        risk_config: RiskConfig | None = None,
    ) -> None:
        self.node = node
        self.bot = bot
        self.audit_key = audit_key
        self.mode = mode
        self.logs = logs or LogTail()
        self._health = health
        self.events = events
        self.heartbeat = heartbeat
        self.market_sources: SourceSet | None = None
        """The session's market-data sources when it reads several (their metrics)."""
        self.need_sources: list[SourceSet | PolledSourceSet] = []
        """The session's other ordered needs (trades, books, funding, open interest): their
        switches and active sources as metrics."""
        self.config = config
        self.config_path = config_path
        self.config_overrides = dict(config_overrides or {})
        self.two_factor = two_factor
        self.risk_config = risk_config
        self.job_queued: Callable[[], None] | None = None
        """Called after each queued job (a session starts its worker process on the first)."""
        self._halted = False
        self._costs = views.ExecutionCosts(node)
        self.model_views: Callable[[], list[dict[str, Any]]] | None = None
        """The session's feedback loop (its watched models' live scores), when it has one."""

    # -- reads --------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """The bot at a glance: mode, engine time, pause state, strategies, counts, equity."""
        node = self.node
        faulted = {f.strategy_id for f in node.faults}
        return {
            "bot": self.bot.name,
            "mode": self.mode,
            "engine_time": node.now,
            "paused": node.paused,
            "halted": self._halted,
            "resume_needs_code": self.needs_code("resume"),
            "stopped_entries": dict(node.stopped_entries),
            "strategies": [
                {"id": b.strategy_id, "symbol": b.symbol, "faulted": b.strategy_id in faulted}
                for b in node.bindings
            ],
            "open_orders": sum(1 for o in node.orders.values() if o.is_open),
            "open_positions": len(node.account.open_positions()),
            "equity": _money(node.account.equity()),
        }

    def balances(self) -> dict[str, str]:
        """Ledger balance of every asset (exact decimal text)."""
        return {asset: _money(v) for asset, v in sorted(self.node.account.balances().items())}

    def positions(self) -> list[dict[str, Any]]:
        """Every open position of the bot, by strategy and symbol, marked at the latest complete
        bar's close with its unrealised PnL (:func:`tradewind.ops.views.marked_positions`)."""
        return views.marked_positions(self.node)

    def equity_curve(self, max_points: int = 2000) -> dict[str, Any]:
        """The equity at each bar's close so far (at most ``max_points`` points)."""
        if not 2 <= max_points <= 10_000:
            raise UserError(f"points must be in 2..10000, got {max_points}")
        return views.equity_points(self.node, max_points=max_points)

    def strategies(self) -> list[dict[str, Any]]:
        """The running strategies with their parameters (value, default, range)."""
        return views.strategy_rows(self.node)

    def execution_costs(self) -> dict[str, Any]:
        """Transaction-cost analysis of the bot's done orders with fills, by strategy and order
        type (each measured once, when it is done)."""
        return self._costs.summary()

    def stored_costs(self) -> dict[str, Any]:
        """Every session's execution costs from the database, by strategy, venue and algorithm."""
        return executions.stored_costs(self.bot)

    def parent_orders(self, working_only: bool = False) -> list[dict[str, Any]]:
        """The bot's parent orders as its database holds them (written ahead)."""
        return executions.parent_rows(self.bot, working_only=working_only)

    def runs(self, limit: int = 50, kind: str | None = None) -> list[dict[str, Any]]:
        """The latest stored backtest, optimisation and walk-forward runs in the bot's database
        (``tradewind backtest --bot NAME`` records them), newest first."""
        if kind is not None and kind not in RUN_KINDS:
            raise UserError(f"kind must be one of {', '.join(RUN_KINDS)}, got {kind!r}")
        rows = queries.runs(self.bot.engine, kind=kind, limit=limit)
        return [{k: _plain(v) for k, v in row.items()} for row in rows]

    def run(self, run_id: int) -> dict[str, Any]:
        """One stored run with all its metrics and trades.

        Raises
        ------
        UnknownNameError
            When there is no such run.
        """
        found = queries.run_detail(self.bot.engine, run_id)
        if found is None:
            raise UnknownNameError(f"no run {run_id} in this bot's database")
        found["trades"] = [{k: _plain(v) for k, v in t.items()} for t in found["trades"]]
        return {k: _plain(v) for k, v in found.items()}

    def open_orders(self) -> list[dict[str, Any]]:
        """Every working order (resting, triggered, pending a cancel)."""
        return [
            {
                "client_id": o.client_id,
                "strategy": o.strategy_id,
                "symbol": o.symbol,
                "side": o.side.value,
                "type": o.type.value,
                "quantity": _money(o.quantity),
                "price": None if o.price is None else _money(o.price),
                "trigger_price": None if o.trigger_price is None else _money(o.trigger_price),
                "reduce_only": o.reduce_only,
                "status": o.status.value,
                "filled": _money(o.filled_quantity),
                "created_time": o.created_ts,
            }
            for o in self.node.orders.values()
            if o.is_open
        ]

    def trades(self, limit: int = 50) -> list[dict[str, Any]]:
        """The latest ``limit`` fills the bot recorded, newest first."""
        if not 1 <= limit <= 1000:
            raise UserError(f"limit must be in 1..1000, got {limit}")
        rows = queries.trades(self.bot.engine, self.bot.bot_id, limit=limit)
        return [{k: _plain(v) for k, v in row.items()} for row in rows]

    def profit(self) -> dict[str, dict[str, Any]]:
        """Closed-trade PnL (net of fees and funding) over the last day, week and month of the
        bot's clock, and over the whole session."""
        now = self.node.now
        closed = self.node.portfolio.trades
        out: dict[str, dict[str, Any]] = {}
        for name, span in (*PERIODS.items(), ("all", None)):
            picked = [t for t in closed if span is None or t.exit_ts > now - span]
            wins = sum(1 for t in picked if t.pnl > 0)
            out[name] = {
                "trades": len(picked),
                "wins": wins,
                "pnl": _money(sum((t.pnl for t in picked), Decimal(0))),
                "fees": _money(sum((t.fees for t in picked), Decimal(0))),
            }
        return out

    def performance(self) -> list[dict[str, Any]]:
        """Closed-trade count, win rate and PnL per strategy, best first."""
        by: dict[str, list[Decimal]] = {}
        for t in self.node.portfolio.trades:
            by.setdefault(t.strategy_id, []).append(t.pnl)
        rows = [
            {
                "strategy": s,
                "trades": len(p),
                "win_rate": round(sum(x > 0 for x in p) / len(p), 4),
                "pnl": _money(sum(p, Decimal(0))),
            }
            for s, p in by.items()
        ]
        return sorted(rows, key=lambda r: Decimal(r["pnl"]), reverse=True)

    def risk(self) -> dict[str, Any]:
        """The risk state: breakers in force and their recent trips, pause and stopped symbols."""
        node = self.node
        board = getattr(node.observer, "board", None)
        state = "ACTIVE"
        restrictions: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        if board is not None:
            state, _ = board.blocking(node.now)
            # Upper case, as without a board: PAUSED below and the metrics' levels compare it.
            state = str(getattr(state, "value", state)).upper()
            restrictions = [
                {"breaker": n, "state": str(getattr(s, "value", s)).upper(), "until": u}
                for n, (s, u) in board.restrictions.items()
            ]
            events = [
                {
                    "time": e.ts,
                    "breaker": e.breaker,
                    "state": str(getattr(e.state, "value", e.state)).upper(),
                    "reason": e.reason,
                }
                for e in board.events[-50:]
            ]
        limits = None if self.risk_config is None else self.risk_config.limits.model_dump()
        return {
            "state": "PAUSED" if node.paused and state == "ACTIVE" else state,
            "limits": limits,
            "limits_need_code": self.needs_code("set_risk_limits"),
            "paused": node.paused,
            "stopped_entries": dict(node.stopped_entries),
            "restrictions": restrictions,
            "breaker_events": events,
            "denials": len(node.denials),
        }

    def health(self) -> dict[str, Any]:
        """Each component's state (the Node, the database, the loop and the heartbeat when one
        runs, and whatever the runtime adds: streams, venue, reconciliation), and ``ok`` when
        every one is."""
        components: dict[str, dict[str, Any]] = {
            "node": {
                "ok": not self._halted,
                "engine_time": self.node.now,
                "paused": self.node.paused,
            },
            "database": self._database_health(),
        }
        beat = self.heartbeat
        if beat is not None:
            lag = beat.lag.p99()
            age = beat.progress_age()
            components["event_loop"] = {"ok": lag < 0.25, "lag_p99_s": round(lag, 4)}
            components["progress"] = {"ok": age <= beat.max_silence_s, "age_s": round(age, 1),
                                      "heartbeats_sent": beat.sent}  # fmt: skip
        if self._health is not None:
            components.update(self._health())
        return {
            "ok": all(c.get("ok", False) for c in components.values()),
            "components": components,
        }

    def _database_health(self) -> dict[str, Any]:
        try:
            queries.sessions(self.bot.engine, self.bot.bot_id, limit=1)
        except Exception as exc:
            return {"ok": False, "error": type(exc).__name__}
        return {"ok": True}

    def log_lines(self, limit: int = 100) -> list[dict[str, Any]]:
        """The latest ``limit`` log lines, oldest first."""
        if not 1 <= limit <= 1000:
            raise UserError(f"limit must be in 1..1000, got {limit}")
        return list(self.logs.lines)[-limit:]

    def operator_actions(self, limit: int = 50) -> list[dict[str, Any]]:
        """The latest operator actions recorded for this bot, newest first."""
        rows = queries.operator_actions(self.bot.engine, self.bot.bot_id, limit=limit)
        return [{k: _plain(v) for k, v in row.items()} for row in rows]

    # -- actions ------------------------------------------------------------------------------

    def _act(
        self, actor: Actor, action: str, reason: str, detail: dict[str, Any], do: Callable[[], str]
    ) -> dict[str, Any]:
        if not reason:
            raise UserError(f"{action} needs a reason (it is written to the operator-actions log)")
        try:
            outcome = do()
        except UserError as exc:
            outcome = f"refused: {exc}"
            self._record(actor, action, reason, detail, outcome)
            raise
        self._record(actor, action, reason, detail, outcome)
        if self.events is not None:
            self.events.publish(
                f"operator.{action}",
                {"actor": actor.name, "channel": actor.channel, "reason": reason,
                 "outcome": outcome, **detail},
            )  # fmt: skip
        return {"action": action, "outcome": outcome, **detail}

    def _record(
        self, actor: Actor, action: str, reason: str, detail: dict[str, Any], outcome: str
    ) -> None:
        record_operator_action(
            self.bot.engine, self.audit_key, actor=actor.name, channel=actor.channel,
            action=action, detail={"reason": reason, **detail}, outcome=outcome[:200],
            bot_id=self.bot.bot_id,
        )  # fmt: skip

    def record_login(self, actor: Actor, address: str, refused: str = "") -> None:
        """A dashboard login, or a refused one (``refused`` says why), in the audit trail."""
        outcome = f"refused: {refused}" if refused else "logged in"
        self._record(actor, "login", "dashboard login", {"address": address}, outcome)

    def pause(self, actor: Actor, reason: str) -> dict[str, Any]:
        """No new entries from any strategy; exits and protective stops go on."""
        return self._act(actor, "pause", reason, {}, lambda: self._pause(reason))

    def _pause(self, reason: str) -> str:
        self.node.pause(reason)
        return "paused"

    def needs_code(self, action: str) -> bool:
        """Whether ``action`` (``resume``, ``reload_config``, ``set_risk_limits``) needs a
        two-factor code now."""
        if self.two_factor is None:
            return False
        return action in ("reload_config", "set_risk_limits") or (
            action == "resume" and self._halted
        )

    def _second_factor(self, actor: Actor, action: str, code: str | None) -> None:
        # Inside the action, so a missing or wrong code is recorded as a refusal in the chain.
        if self.two_factor is not None and self.needs_code(action):
            self.two_factor.confirm(actor.name, code)

    def resume(self, actor: Actor, reason: str, code: str | None = None) -> dict[str, Any]:
        """Take new entries again (after a pause, a halt, an emergency stop or a breaker).

        After an emergency stop, with two-factor on, ``code`` must be the operator's current
        authenticator code (each code works once): a stolen token or phone is not enough to put
        the bot back at risk.
        """

        def do() -> str:
            self._second_factor(actor, "resume", code)
            self.node.resume()
            self._halted = False
            return "resumed"

        return self._act(actor, "resume", reason, {}, do)

    def stop_entries(self, actor: Actor, symbol: str, reason: str) -> dict[str, Any]:
        """No new entries in ``symbol``; its exits go on."""

        def do() -> str:
            self.node.stop_entries(self.symbol(symbol), reason)
            return f"entries stopped in {self.symbol(symbol)}"

        return self._act(actor, "stop_entries", reason, {"symbol": symbol}, do)

    def allow_entries(self, actor: Actor, symbol: str, reason: str) -> dict[str, Any]:
        """Take new entries in ``symbol`` again."""

        def do() -> str:
            self.node.allow_entries(self.symbol(symbol))
            return f"entries allowed in {self.symbol(symbol)}"

        return self._act(actor, "allow_entries", reason, {"symbol": symbol}, do)

    def force_exit(
        self, actor: Actor, reason: str, *, symbol: str | None = None, strategy: str | None = None
    ) -> dict[str, Any]:
        """Close one position (``symbol``, optionally one ``strategy``'s) or, with neither, all:
        working orders there are canceled and reduce-only exits sent."""

        def do() -> str:
            market = None if symbol is None else self.symbol(symbol)
            if strategy is not None and strategy not in {b.strategy_id for b in self.node.bindings}:
                raise UnknownNameError(f"no strategy {strategy!r} on this bot")
            held = [
                (s, y) for s, y, _ in self.node.account.open_positions()
                if market in (None, y) and strategy in (None, s)
            ]  # fmt: skip
            self.node.flatten(strategy, f"force exit: {reason}", symbol=market)
            return f"exiting {len(held)} position(s)"

        detail = {"symbol": symbol, "strategy": strategy}
        return self._act(actor, "force_exit", reason, detail, do)

    def emergency_stop(self, actor: Actor, reason: str) -> dict[str, Any]:
        """Cancel every working order, flatten every position the bot owns, and halt new risk
        until a person resumes."""

        def do() -> str:
            orders = sum(1 for o in self.node.orders.values() if o.is_open)
            held = len(self.node.account.open_positions())
            self.node.kill_switch(f"emergency stop: {reason}", halt=True)
            self._halted = True
            return f"halted; canceled {orders} order(s), flattening {held} position(s)"

        return self._act(actor, "emergency_stop", reason, {}, do)

    def reload_config(self, actor: Actor, reason: str, code: str | None = None) -> dict[str, Any]:
        """Re-read the bot's config file: validated whole, only reloadable keys applied; any
        other changed key refuses the reload by name. With two-factor on it needs ``code``."""
        applied: list[str] = []
        path = self.config_path

        def do() -> str:
            self._second_factor(actor, "reload_config", code)
            if self.config is None or path is None:
                raise NotAvailableError("this bot was started without a config file to reload")
            new, changed = reload_config(self.config, path, self.config_overrides)
            self.config = new
            applied.extend(changed)
            return f"applied {', '.join(changed)}" if changed else "no change"

        answer = self._act(actor, "reload_config", reason, {"path": str(path)}, do)
        return {**answer, "applied": applied}

    def set_risk_limits(
        self, actor: Actor, limits: dict[str, Any], reason: str, code: str | None = None
    ) -> dict[str, Any]:
        """Change the running bot's portfolio limits (:mod:`tradewind.ops.risk_limits`: only
        those that take effect at the next decision; others refused by name; the whole change
        validated first). With two-factor on it needs ``code``: loosening a limit puts more at
        risk."""
        applied: dict[str, Any] = {}

        def do() -> str:
            self._second_factor(actor, "set_risk_limits", code)
            if self.risk_config is None:
                raise NotAvailableError(
                    "this bot runs without risk rules: there are no limits to change"
                )
            new, values = apply_limits(self.node.gate, self.risk_config, limits)
            self.risk_config = new
            applied.update(values)
            return "limits set: " + ", ".join(f"{k}={v}" for k, v in values.items())

        answer = self._act(actor, "set_risk_limits", reason, {"limits": limits}, do)
        return {**answer, "applied": applied}

    def set_params(
        self, actor: Actor, strategy: str, params: dict[str, Any], reason: str
    ) -> dict[str, Any]:
        """Change a running hook strategy's parameters (checked as at construction)."""
        values: dict[str, Any] = {}

        def do() -> str:
            found = [b for b in self.node.bindings if b.strategy_id == strategy]
            if not found:
                raise UnknownNameError(f"no strategy {strategy!r} on this bot")
            for binding in found:
                values.update(set_strategy_params(binding, params))
            return "parameters set"

        detail = {"strategy": strategy, "params": params}
        answer = self._act(actor, "set_params", reason, detail, do)
        return {**answer, "values": values}

    def start_job(
        self, actor: Actor, kind: str, spec: dict[str, Any], reason: str
    ) -> dict[str, Any]:
        """Queue a backtest or optimisation for the worker process (validated first)."""
        queued: dict[str, int] = {}

        def do() -> str:
            checked = validate_spec(kind, spec)
            queued["job"] = enqueue_job(
                self.bot.engine, kind=kind, spec=checked, requested_by=actor.name,
                bot_id=self.bot.bot_id,
            )  # fmt: skip
            if self.job_queued is not None:
                self.job_queued()
            return f"{kind} job {queued['job']} queued"

        answer = self._act(actor, "start_job", reason, {"kind": kind}, do)
        return {**answer, "job": queued["job"]}

    def models(self) -> list[dict[str, Any]]:
        """Every registered model of this bot: stage and out-of-sample scores from its card, and,
        for the models this session trades, their live accuracy and mean confidence over the
        latest resolved predictions (None until a full window is resolved)."""
        live = {(v["name"], v["version"]): v for v in (self.model_views or list)()}
        out = []
        for entry in registered_models(self.bot.engine):
            metrics = entry.card.metrics
            watched = live.get((entry.name, entry.version), {})
            out.append({
                "name": entry.name, "version": entry.version, "stage": entry.stage,
                "model_type": entry.card.model_type, "target": entry.card.target,
                "horizon": entry.card.horizon, "symbol": entry.card.symbol,
                "timeframe": entry.card.timeframe,
                "validation_accuracy": metrics.get("accuracy"),
                "baseline_accuracy": metrics.get("baseline_accuracy"),
                "traded": bool(watched), "predictions": watched.get("predictions", 0),
                "resolved": watched.get("resolved", 0), "accuracy": watched.get("accuracy"),
                "confidence": watched.get("confidence"),
                "recalibrations": watched.get("recalibrations", 0),
                "drifted": watched.get("drifted", []),
                "monitored": None if entry.card.monitored is None else list(entry.card.monitored),
            })  # fmt: skip
        return out

    def jobs(self, limit: int = 50) -> list[dict[str, Any]]:
        """The latest jobs of this bot, newest first."""
        return jobs(self.bot.engine, self.bot.bot_id, limit=limit)

    def job(self, job_id: int) -> dict[str, Any]:
        """One job of this bot.

        Raises
        ------
        UnknownNameError
            When there is no such job.
        """
        found = job(self.bot.engine, job_id)
        if found is None or found["bot_id"] != self.bot.bot_id:
            raise UnknownNameError(f"no job {job_id} on this bot")
        return found

    def symbol(self, name: str) -> str:
        """The bot's symbol called ``name`` (``BTC-USDT`` is accepted for ``BTC/USDT``, as URL
        paths need).

        Raises
        ------
        UserError
            When the bot does not trade it.
        """
        symbols = sorted({b.symbol for b in self.node.bindings})
        for candidate in (name, name.replace("-", "/")):
            if candidate in symbols:
                return candidate
        raise UnknownNameError(f"this bot does not trade {name!r}; it trades {', '.join(symbols)}")


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return _money(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value
