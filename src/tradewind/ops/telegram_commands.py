"""What each Telegram command does: one control-facade call, and the answer in words.

Kept apart from the transport (:mod:`tradewind.ops.telegram`, which guards, rate-limits, asks for
confirmations and talks to Telegram): a command here takes the sender and the words after the
command and returns the message to send; a destructive one returns its question and the action to
run once confirmed, or a plain message when there is nothing to confirm. A :class:`UserError`
raised here (an unknown symbol, a refused job) becomes a "⛔" answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tradewind.core.errors import UserError
from tradewind.ops.facade import Actor, ControlFacade
from tradewind.ops.telegram_text import (
    balances_text,
    escape,
    health_text,
    help_text,
    job_text,
    jobs_text,
    positions_text,
    profit_text,
    quote_of,
    risk_text,
    status_text,
)
from tradewind.ops.two_factor import TwoFactorError
from tradewind.persistence.model_registry import registered_models

__all__ = ["COMMANDS", "Ask", "CommandCall", "Commands"]

COMMANDS: tuple[tuple[str, str], ...] = (
    ("status", "the bot at a glance"),
    ("profit", "closed-trade PnL: 24 h, 7 days, 30 days, session"),
    ("balance", "balances and equity"),
    ("positions", "open positions"),
    ("risk", "risk state, breakers, stopped symbols"),
    ("health", "each component's health"),
    ("pause", "[reason]: no new entries; exits and stops go on"),
    ("resume", "[reason]: take new entries again (also after an emergency stop)"),
    ("stopentry", "SYMBOL [reason]: no new entries in SYMBOL"),
    ("allowentry", "SYMBOL [reason]: take entries in SYMBOL again"),
    ("forceexit", "SYMBOL|all [reason]: close positions at market (asks to confirm)"),
    ("emergency_stop", "[reason]: cancel all, flatten all, halt (asks to confirm)"),
    ("reload_config", "re-read the config file (asks to confirm)"),
    ("risk_limits", "NAME=VALUE ... [CODE] [reason]: change portfolio limits (off: none)"),
    ("blacklist", "SYMBOL [reason]: stop trading SYMBOL (asks to confirm); alone: the list"),
    ("optimize", "[STRATEGY] [TRIALS] [bars=N]: queue an optimisation"),
    ("backtest", "STRATEGY [name=value ...]: queue a backtest"),
    ("jobs", "[ID]: the latest jobs, or one job's result"),
    ("ml_retrain", "retrain the registered ML model"),
    ("help", "this list"),
)
"""Every command with its one-line help (also sent to Telegram as the command menu)."""

Ask = tuple[str, Callable[[Actor], str]] | str
"""A destructive command's question and action, or a message when there is nothing to ask."""


@dataclass(frozen=True)
class CommandCall:
    """One command as a handler sees it: who sent it and its words after the command."""

    user_id: int
    args: list[str]

    @property
    def actor(self) -> Actor:
        """The sender as the operator-actions chain records them (``telegram:<user id>``)."""
        return Actor(f"telegram:{self.user_id}", "telegram")

    def reason(self, skip: int, default: str) -> str:
        """The free text after the first ``skip`` words, or ``default``."""
        return " ".join(self.args[skip:]).strip() or default


class Commands:
    """Every command of the Telegram bot over one control facade.

    Parameters
    ----------
    facade
        The running bot's control facade. When it has two-factor on, resuming after an emergency
        stop needs a code from the user's authenticator (``/resume CODE [reason]``; the user is
        enrolled as ``telegram:<id>``).
    """

    def __init__(self, facade: ControlFacade) -> None:
        self.facade = facade

    def answers(self) -> dict[str, Callable[[CommandCall], str]]:
        """The commands answered at once, by name."""
        return {
            "status": self._status,
            "profit": self._profit,
            "balance": self._balance,
            "positions": lambda _: positions_text(self.facade.positions()),
            "risk": lambda _: risk_text(self.facade.risk()),
            "health": lambda _: health_text(self.facade.health()),
            "jobs": self._jobs,
            "help": lambda _: help_text(list(COMMANDS)),
            "start": lambda _: help_text(list(COMMANDS)),
            "pause": self._pause,
            "resume": self._resume,
            "stopentry": self._stop_entry,
            "allowentry": self._allow_entry,
            "optimize": self._optimize,
            "backtest": self._backtest,
            "ml_retrain": self._ml_retrain,
            "risk_limits": self._risk_limits,
        }

    def asks(self) -> dict[str, Callable[[CommandCall], Ask]]:
        """The destructive commands, by name: each gives its question and its action."""
        return {
            "forceexit": self._ask_force_exit,
            "emergency_stop": self._ask_emergency_stop,
            "reload_config": self._ask_reload,
            "blacklist": self._ask_blacklist,
        }

    # -- reads ---------------------------------------------------------------------------------

    def _currency(self) -> str:
        return quote_of([b.symbol for b in self.facade.node.bindings])

    def _status(self, call: CommandCall) -> str:
        return status_text(self.facade.status(), self._currency())

    def _profit(self, call: CommandCall) -> str:
        return profit_text(self.facade.profit(), self._currency())

    def _balance(self, call: CommandCall) -> str:
        equity = self.facade.status()["equity"]
        return balances_text(self.facade.balances(), equity, self._currency())

    def _jobs(self, call: CommandCall) -> str:
        if not call.args:
            return jobs_text(self.facade.jobs(limit=10))
        if not call.args[0].lstrip("#").isdigit():
            raise UserError(f"/jobs takes a job number, got {call.args[0]!r}")
        return job_text(self.facade.job(int(call.args[0].lstrip("#"))))

    # -- immediate actions ---------------------------------------------------------------------

    def _pause(self, call: CommandCall) -> str:
        self.facade.pause(call.actor, call.reason(0, "paused from Telegram"))
        return "⏸ Paused: no new entries. Exits and protective stops go on. /resume to undo."

    def _resume(self, call: CommandCall) -> str:
        code = None
        if self.facade.needs_code("resume"):
            # After an emergency stop, with two-factor on, a second factor: a stolen phone with an
            # open chat must not be enough to put the bot back at risk. Each code works once.
            code = call.args[0] if call.args else None
        try:
            self.facade.resume(call.actor, call.reason(0 if code is None else 1,
                                                       "resumed from Telegram"), code=code)  # fmt: skip
        except TwoFactorError as exc:
            raise TwoFactorError(
                f"{exc}. After an emergency stop, /resume needs your authenticator's code: "
                "/resume CODE [reason]"
            ) from None
        return "▶️ Resumed: the bot takes new entries again."

    def _risk_limits(self, call: CommandCall) -> str:
        limits: dict[str, int | float | None] = {}
        rest: list[str] = []
        for word in call.args:
            name, equals, value = word.partition("=")
            if equals:
                limits[name] = _limit_value(name, value)
            else:
                rest.append(word)
        if not limits:
            raise UserError(
                "usage: /risk_limits NAME=VALUE ... [CODE] [reason], e.g. /risk_limits "
                "max_positions=3 max_total_exposure=0.5 (off turns a limit off)"
            )
        # With two-factor on, loosening a limit takes a second factor, as resuming does.
        code = rest[0] if rest and self.facade.needs_code("set_risk_limits") else None
        reason = " ".join(rest[0 if code is None else 1 :]) or "risk limits from Telegram"
        try:
            answer = self.facade.set_risk_limits(call.actor, limits, reason, code=code)
        except TwoFactorError as exc:
            raise TwoFactorError(
                f"{exc}. Changing risk limits needs your authenticator's code: "
                "/risk_limits NAME=VALUE ... CODE [reason]"
            ) from None
        applied = ", ".join(f"{k}={v}" for k, v in answer["applied"].items())
        return f"🛡 Risk limits set: {escape(applied)}. /risk shows what is in force."

    def _stop_entry(self, call: CommandCall) -> str:
        symbol = self._symbol_arg(call, "stopentry")
        answer = self.facade.stop_entries(call.actor, symbol, call.reason(1, "from Telegram"))
        return f"⛔ {escape(answer['outcome'])}; exits go on. /allowentry {symbol} to undo."

    def _allow_entry(self, call: CommandCall) -> str:
        symbol = self._symbol_arg(call, "allowentry")
        answer = self.facade.allow_entries(call.actor, symbol, call.reason(1, "from Telegram"))
        return f"▶️ {escape(answer['outcome'])}."

    def _symbol_arg(self, call: CommandCall, command: str) -> str:
        if not call.args:
            symbols = sorted({b.symbol for b in self.facade.node.bindings})
            raise UserError(f"/{command} needs a symbol: one of {', '.join(symbols)}")
        return self.facade.symbol(call.args[0].upper())

    def _optimize(self, call: CommandCall) -> str:
        words, spec = _split_options(call.args, "optimize")
        if words and not words[0].isdigit():
            spec["strategy"] = words.pop(0)
        else:
            names = sorted({b.strategy.name for b in self.facade.node.bindings})
            if len(names) != 1:
                raise UserError("/optimize needs a strategy name: /optimize STRATEGY [TRIALS]")
            spec["strategy"] = names[0]
        if words:
            if not words[0].isdigit() or len(words) > 1:
                raise UserError(f"/optimize takes a number of trials, got {' '.join(words)!r}")
            spec["trials"] = int(words[0])
        reason = f"optimize {spec['strategy']} from Telegram"
        answer = self.facade.start_job(call.actor, "optimize", spec, reason)
        return _queued(answer["job"], "optimisation", spec["strategy"])

    def _backtest(self, call: CommandCall) -> str:
        words, options = _split_options(call.args, "backtest")
        if len(words) != 1:
            raise UserError("/backtest needs one strategy: /backtest STRATEGY [name=value ...]")
        strategy = words[0]
        spec: dict[str, Any] = {"strategy": strategy}
        params = {k: v for k, v in options.items() if k not in ("bars", "stake")}
        spec.update({k: v for k, v in options.items() if k in ("bars", "stake")})
        if params:
            spec["params"] = params
        reason = f"backtest {strategy} from Telegram"
        answer = self.facade.start_job(call.actor, "backtest", spec, reason)
        return _queued(answer["job"], "backtest", strategy)

    def _ml_retrain(self, call: CommandCall) -> str:
        if len(call.args) == 2:
            spec = {"model": call.args[0], "data": call.args[1]}
            reason = f"retrain {call.args[0]} from Telegram"
            answer = self.facade.start_job(call.actor, "ml_retrain", spec, reason)
            return _queued(answer["job"], "retraining", call.args[0])
        models = registered_models(self.facade.bot.engine)
        if not models:
            return (
                "No ML model is registered, so there is nothing to retrain. Train and register "
                "one first (<code>tradewind ml train ... --register NAME</code>)."
            )
        listed = ", ".join(f"{escape(m.name)} v{m.version} ({escape(m.stage)})" for m in models)
        return (
            f"Registered: {listed}. Usage: <code>/ml_retrain NAME CANDLE_FILE</code> queues a "
            "retraining on the jobs worker; the new version is promoted only if it beats the "
            "production one out of sample."
        )

    # -- destructive actions (asked first) -----------------------------------------------------

    def _ask_force_exit(self, call: CommandCall) -> Ask:
        if not call.args:
            return "Usage: /forceexit SYMBOL or /forceexit all (then confirm)."
        target = call.args[0]
        symbol = None if target.lower() == "all" else self.facade.symbol(target.upper())
        held = [p for p in self.facade.positions() if symbol in (None, p["symbol"])]
        if not held:
            where = "" if symbol is None else f" in {symbol}"
            return f"No open position{escape(where)}: nothing to exit."
        reason = call.reason(1, "force exit from Telegram")
        lines = [f"⚠️ <b>Force exit {'ALL' if symbol is None else escape(symbol)}</b>: close"]
        lines.extend(f"  • {escape(str(p['symbol']))} {escape(str(p['quantity']))} "
                     f"({escape(str(p['strategy']))})" for p in held)  # fmt: skip
        lines.append("at market, and cancel their working orders?")

        def run(actor: Actor) -> str:
            answer = self.facade.force_exit(actor, reason, symbol=symbol)
            return f"Force exit {symbol or 'all'}: {answer['outcome']}"

        return "\n".join(lines), run

    def _ask_emergency_stop(self, call: CommandCall) -> tuple[str, Callable[[Actor], str]]:
        status = self.facade.status()
        reason = call.reason(0, "emergency stop from Telegram")
        question = (
            f"🛑 <b>EMERGENCY STOP</b>: cancel {status['open_orders']} working order(s), flatten "
            f"{status['open_positions']} position(s) at market and halt all new risk until "
            "/resume?"
        )

        def run(actor: Actor) -> str:
            return f"Emergency stop: {self.facade.emergency_stop(actor, reason)['outcome']}"

        return question, run

    def _ask_reload(self, call: CommandCall) -> tuple[str, Callable[[Actor], str]]:
        path = self.facade.config_path
        if path is None:
            raise UserError("this bot was started without a config file to reload")
        reason = call.reason(0, "config reload from Telegram")
        question = (
            f"🔄 Reload the config from <code>{escape(path.name)}</code>? Only keys that "
            "can change while running are applied; any other change refuses the reload."
        )

        def run(actor: Actor) -> str:
            return f"Config reload: {self.facade.reload_config(actor, reason)['outcome']}"

        return question, run

    def _ask_blacklist(self, call: CommandCall) -> Ask:
        if not call.args:
            stopped = self.facade.status()["stopped_entries"]
            if not stopped:
                return "No symbol is blacklisted. /blacklist SYMBOL stops trading one."
            return "Blacklisted (no new entries):\n" + "\n".join(
                f"  • {escape(s)}: {escape(r)}" for s, r in sorted(stopped.items())
            )
        symbol = self.facade.symbol(call.args[0].upper())
        reason = "blacklisted: " + call.reason(1, "from Telegram")
        question = (
            f"⚠️ <b>Blacklist {escape(symbol)}</b>: no new entries in it from any strategy "
            f"until /allowentry {escape(symbol)}? Open positions there keep their exits."
        )

        def run(actor: Actor) -> str:
            answer = self.facade.stop_entries(actor, symbol, reason)
            return f"{symbol} blacklisted: {answer['outcome']}"

        return question, run


def _queued(job_id: int, what: str, strategy: str) -> str:
    return (
        f"🧪 {what.capitalize()} of {escape(strategy)} queued as job #{job_id}; "
        f"the job worker runs it. /jobs {job_id} shows its result."
    )


def _split_options(args: list[str], command: str) -> tuple[list[str], dict[str, Any]]:
    """The plain words and the ``name=value`` options of a command, values read as JSON
    (numbers, true/false) or else kept as typed."""
    words: list[str] = []
    options: dict[str, Any] = {}
    for arg in args:
        name, eq, text = arg.partition("=")
        if not eq:
            words.append(arg)
        elif not name:
            raise UserError(f"/{command}: {arg!r} has no name before '='")
        else:
            options[name] = _value(text)
    return words, options


def _value(text: str) -> Any:
    # Numbers and true/false as JSON; anything else stays the text the user typed.
    try:
        return json.loads(text)
    except ValueError:
        return text


def _limit_value(name: str, text: str) -> int | float | None:
    """A limit's value from a command word: ``off`` (or ``none``) turns it off."""
    if text.lower() in ("off", "none"):
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        raise UserError(f"{name} takes a number (or off), got {text!r}") from None
