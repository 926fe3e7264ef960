"""The ``tradewind`` command: global options, sub-command groups, and error handling.

User mistakes (:class:`~tradewind.core.errors.UserError`, bad flags) print one line and exit with
code 2; ``--debug`` shows the traceback. Anything else is a bug: it exits 1 with the traceback.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from tradewind import __version__
from tradewind.cli import backtest, config_cmd, data, demo, exchange_sim, records, strategies
from tradewind.cli import db as db_cmd
from tradewind.cli import optimize as optimize_cmd
from tradewind.cli import tax as tax_cmd
from tradewind.cli.context import STATE
from tradewind.config import secret_values
from tradewind.core.errors import UserError
from tradewind.logs import setup_logging

app = typer.Typer(
    name="tradewind",
    help="Tradewind: collect market data, analyse, backtest and trade crypto with one engine.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(data.app, name="data")
app.add_typer(config_cmd.app, name="config")
app.add_typer(strategies.app, name="strategies")
app.command("demo")(demo.demo)
app.command("backtest")(backtest.backtest)
app.command("exchange-sim")(exchange_sim.exchange_sim)
app.command("optimize")(optimize_cmd.optimize)
app.command("walkforward")(optimize_cmd.walkforward)
app.command("montecarlo")(optimize_cmd.montecarlo)
app.command("lookahead")(optimize_cmd.lookahead)
app.command("recursive")(optimize_cmd.recursive)
app.add_typer(db_cmd.app, name="db")
for _query in (records.orders, records.trades, records.positions, records.sessions):
    app.command(_query.__name__)(_query)
app.add_typer(records.runs_app, name="runs")
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
        str | None, typer.Option("--log-level", help="DEBUG, INFO, WARNING or ERROR.")
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
    if STATE.overrides.get("log.level") not in (None, "DEBUG", "INFO", "WARNING", "ERROR"):
        raise UserError(f"--log-level must be DEBUG, INFO, WARNING or ERROR, got {log_level!r}")
    cfg = STATE.config()
    setup_logging(cfg.log, secret_values(cfg))


def run(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns (and, as a script, exits with) the exit code."""
    args = sys.argv[1:] if argv is None else argv
    # Each invocation starts from a clean state (tests and scripts call run() several times).
    STATE.reset()
    STATE.debug = "--debug" in args
    try:
        # Outside standalone mode click returns a command's `typer.Exit` code instead of raising.
        result = app(args=args, prog_name="tradewind", standalone_mode=False)
    except UserError as exc:
        return _user_error(str(exc))
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.Abort:
        STATE.err_console.print("aborted")
        return 130
    except typer.TyperException as exc:
        # Usage errors (unknown option, missing argument, bad value): click's own one-line message.
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            STATE.err_console.print(f"error: {exc}")
        return int(getattr(exc, "exit_code", 2))
    except KeyboardInterrupt:
        STATE.err_console.print("interrupted")
        return 130
    return result if isinstance(result, int) else 0


def _user_error(message: str) -> int:
    if STATE.debug:
        logging.getLogger("tradewind").exception("user error")
    STATE.err_console.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    return 2


if __name__ == "__main__":
    sys.exit(run())
