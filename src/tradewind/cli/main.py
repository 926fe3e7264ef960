"""The ``tradewind`` command: global options, sub-command groups, and error handling.

Exit codes: 0 success; 1 a bug (the traceback is printed, with a line asking for a report);
2 a user mistake (:class:`~tradewind.core.errors.UserError`, bad flags: one line, ``--debug`` adds
the traceback); 3 a check that ran and found a problem (:class:`~tradewind.cli.exits.CheckFailedError`:
a lookahead leak, a warm-up shorter than needed, data with errors); 130 interrupted.

The global options (``--config``, ``--debug``, ``--log-json``, ``--log-level``) may be written
before or after the sub-command: :func:`hoist_global_options` moves them to the front.
"""

from __future__ import annotations

import functools
import logging
import sys
import traceback
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from tradewind import __version__
from tradewind.cli import api_tokens as api_tokens_cmd
from tradewind.cli import audit as audit_cmd
from tradewind.cli import backtest, config_cmd, data, demo, exchange_sim, records, strategies
from tradewind.cli import control as control_cmd
from tradewind.cli import db as db_cmd
from tradewind.cli import drift as drift_cmd
from tradewind.cli import fallback as fallback_cmd
from tradewind.cli import keys as keys_cmd
from tradewind.cli import ml as ml_cmd
from tradewind.cli import optimize as optimize_cmd
from tradewind.cli import tax as tax_cmd
from tradewind.cli import trade as trade_cmd
from tradewind.cli import two_factor as two_factor_cmd
from tradewind.cli.context import STATE
from tradewind.cli.exits import (
    EXIT_BUG,
    EXIT_CHECK_FAILED,
    EXIT_INTERRUPTED,
    EXIT_USER_ERROR,
    CheckFailedError,
)
from tradewind.config import secret_values
from tradewind.core.errors import UserError
from tradewind.logs import LEVELS, RedactingFilter, setup_logging

app = typer.Typer(
    name="tradewind",
    help="Tradewind: collect market data, analyse, backtest and trade crypto with one engine.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    # Markdown keeps "[risk]" and "[[fault]]" in help texts (rich markup would swallow them).
    rich_markup_mode="markdown",
)
app.add_typer(data.app, name="data")
app.add_typer(config_cmd.app, name="config")
app.add_typer(strategies.app, name="strategies")
app.command("demo")(demo.demo)
app.command("backtest")(backtest.backtest)
app.command("exchange-sim")(exchange_sim.exchange_sim)
app.command("trade")(trade_cmd.trade)
app.command("drift")(drift_cmd.drift)
app.command("live-resume")(fallback_cmd.live_resume)
app.command("optimize")(optimize_cmd.optimize)
app.command("walkforward")(optimize_cmd.walkforward)
app.command("montecarlo")(optimize_cmd.montecarlo)
app.command("lookahead")(optimize_cmd.lookahead)
app.command("recursive")(optimize_cmd.recursive)
app.add_typer(db_cmd.app, name="db")
app.add_typer(keys_cmd.app, name="keys")
app.add_typer(audit_cmd.app, name="audit")
app.add_typer(two_factor_cmd.app, name="2fa")
app.add_typer(api_tokens_cmd.app, name="api-token")
app.add_typer(control_cmd.app, name="ctl")
for _query in (records.orders, records.trades, records.positions, records.sessions):
    app.command(_query.__name__)(_query)
app.add_typer(records.runs_app, name="runs")
app.add_typer(ml_cmd.app, name="ml")
# Every group renders help as markdown, whoever declared it: rich markup would swallow "[risk]".
for _group in app.registered_groups:
    if _group.typer_instance is not None:
        _group.typer_instance.rich_markup_mode = "markdown"
app.command("tax")(tax_cmd.tax)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"tradewind {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", "-c", help="TOML config file (default: ./tradewind.toml if present)."
        ),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks and debug logs.")] = False,
    log_json: Annotated[
        bool, typer.Option("--log-json", help="Log JSON lines instead of text.")
    ] = False,
    log_level: Annotated[
        str | None, typer.Option("--log-level", help="DEBUG, INFO, WARNING, ERROR or CRITICAL.")
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Tradewind: collect market data, analyse, backtest and trade crypto with one engine."""
    STATE.debug = debug
    STATE.config_path = config
    if log_json:
        STATE.overrides["log.json_lines"] = True
    if debug:
        STATE.overrides["log.level"] = "DEBUG"
    elif log_level:
        STATE.overrides["log.level"] = log_level.upper()
    if STATE.overrides.get("log.level") not in (None, *LEVELS):
        raise UserError(f"--log-level must be one of {', '.join(LEVELS)}, got {log_level!r}")
    cfg = STATE.config()
    setup_logging(cfg.log, secret_values(cfg))


def run(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns (and, as a script, exits with) the exit code."""
    args = hoist_global_options(sys.argv[1:] if argv is None else list(argv))
    # Each invocation starts from a clean state (tests and scripts call run() several times).
    STATE.reset()
    STATE.debug = "--debug" in args
    try:
        # Outside standalone mode click returns a command's `typer.Exit` code instead of raising.
        # The command tree is built once per process (0.1-0.7 s each time otherwise), so
        # in-process callers (tests, the fuzz) pay for it once.
        result = _command_tree()(args=args, prog_name="tradewind", standalone_mode=False)
    except CheckFailedError as exc:
        STATE.err_console.print(f"check failed: {exc}", markup=False, highlight=False)
        return EXIT_CHECK_FAILED
    except UserError as exc:
        return _user_error(str(exc))
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.Abort:
        STATE.err_console.print("aborted")
        return EXIT_INTERRUPTED
    except typer.TyperException as exc:
        # Usage errors (unknown option, missing argument, bad value): click's own message.
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            STATE.err_console.print(f"error: {exc}", markup=False, highlight=False)
        return int(getattr(exc, "exit_code", EXIT_USER_ERROR))
    except KeyboardInterrupt:
        STATE.err_console.print("interrupted")
        return EXIT_INTERRUPTED
    except Exception as exc:
        return _bug(exc)
    return result if isinstance(result, int) else 0


def _user_error(message: str) -> int:
    if STATE.debug:
        logging.getLogger("tradewind").exception("user error")
    # The message is text, not markup: "[sources]" or "[risk]" in it must print as written.
    STATE.err_console.print(f"[red]error:[/red] {escape(message)}", highlight=False,
                            soft_wrap=True)  # fmt: skip
    return EXIT_USER_ERROR


def _bug(exc: Exception) -> int:
    """Print the traceback (secrets redacted) and ask for a report: a bug must look like one."""
    redact = RedactingFilter(STATE.loaded_secrets())
    text = redact.redact("".join(traceback.format_exception(exc)))
    STATE.err_console.print(text.rstrip(), markup=False, highlight=False, soft_wrap=True)
    summary = redact.redact(f"{type(exc).__name__}: {exc}")
    STATE.err_console.print(
        f"internal error (a bug in Tradewind, not in your input): {summary}\n"
        "Please report it with the traceback above.",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    return EXIT_BUG


# Global options of the root command: written after a sub-command they are moved in front of it.
_GLOBAL_WITH_VALUE = ("--config", "-c", "--log-level")
_GLOBAL_FLAGS = ("--debug", "--log-json")


def hoist_global_options(args: list[str]) -> list[str]:
    """Move global options found after a sub-command to the front, so ``tradewind backtest ...
    --config x.toml --debug`` works like ``tradewind --config x.toml --debug backtest ...``.

    The walk follows click's own command tree: values of a command's options are skipped (so
    ``--param --debug`` stays a value), and everything after ``--`` is left alone.
    """
    command: Any = _command_tree()
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(args):
        token = args[i]
        name = token.split("=", 1)[0]
        if token == "--":
            rest.extend(args[i:])
            break
        if token in _GLOBAL_FLAGS:
            front.append(token)
        elif name in _GLOBAL_WITH_VALUE:
            front.append(token)
            if "=" not in token and i + 1 < len(args):
                front.append(args[i + 1])
                i += 1
        elif token.startswith("-") and len(token) > 1:
            rest.append(token)
            if "=" not in token and _takes_value(command, token) and i + 1 < len(args):
                rest.append(args[i + 1])
                i += 1
        else:
            rest.append(token)
            sub = getattr(command, "commands", {}).get(token)
            if sub is not None:
                command = sub
        i += 1
    return front + rest


@functools.cache
def _command_tree() -> Any:
    """click's command tree of the app (built once: building it takes tens of milliseconds)."""
    return typer.main.get_command(app)


def _takes_value(command: Any, option: str) -> bool:
    for param in command.params:
        names = (*param.opts, *getattr(param, "secondary_opts", ()))
        if option in names:
            return not getattr(param, "is_flag", False) and not getattr(param, "count", False)
    return False


if __name__ == "__main__":
    sys.exit(run())
