"""Operator queries: ``tradewind orders|trades|positions|sessions|runs`` and ``runs compare``.

Each reads a bot's database (``--bot NAME``) or any database (``--db-url URL``; with ``--bot``
too, only that bot's rows) and prints a table with numbers as a trader reads them, or JSON with
``--json`` (money as exact decimal strings, times as ISO-8601 UTC).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

import typer
from rich.table import Table

from tradewind.cli.context import STATE
from tradewind.cli.db import BotOption, UrlOption, database_url
from tradewind.core.errors import UserError
from tradewind.persistence import queries
from tradewind.persistence.engine import Engine, open_database
from tradewind.persistence.runs import RUN_KINDS

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
LimitOption = Annotated[int, typer.Option("--limit", "-n", help="How many rows (newest first).")]


def _open(bot: str | None, db_url: str | None) -> tuple[Engine, int | None]:
    url = database_url(bot, db_url)
    engine = open_database(url, durability=STATE.config().database.durability)
    return engine, (None if bot is None else queries.bot_id(engine, bot))


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value.normalize():,f}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, float):
        return f"{value:,.4f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _with_bot(columns: list[str], bot: str | None) -> list[str]:
    """The table's columns: the bot's name too when rows of every bot are shown."""
    return columns if bot is not None else ["bot", *columns]


def _show(
    title: str, rows: Sequence[dict[str, Any]], as_json: bool, columns: Sequence[str] | None = None
) -> None:
    if as_json:
        typer.echo(json.dumps([{k: _plain(v) for k, v in r.items()} for r in rows], indent=2))
        return
    if not rows:
        STATE.console.print(f"{title}: none")
        return
    names = list(columns or rows[0].keys())
    # Tables show the columns an operator reads; --json has every field.
    table = Table(title=title)
    for name in names:
        sample = next((r[name] for r in rows if r.get(name) is not None), None)
        numeric = isinstance(sample, Decimal | int | float) and not isinstance(sample, bool)
        table.add_column(name.replace("_", " "), justify="right" if numeric else "left")
    for row in rows:
        table.add_row(*(_text(row.get(name)) for name in names))
    STATE.console.print(table)


def _run(query: Callable[[Engine, int | None], list[dict[str, Any]]], bot: str | None,
         db_url: str | None) -> list[dict[str, Any]]:  # fmt: skip
    engine, owner = _open(bot, db_url)
    try:
        return query(engine, owner)
    finally:
        engine.dispose()


def orders(
    bot: BotOption = None,
    db_url: UrlOption = None,
    open_only: Annotated[bool, typer.Option("--open", help="Only working orders.")] = False,
    limit: LimitOption = 50,
    as_json: JsonOption = False,
) -> None:
    """List orders with their status, fills and prices."""
    rows = _run(lambda e, b: queries.orders(e, b, open_only=open_only, limit=limit), bot, db_url)
    columns = ["time", "client_id", "symbol", "side", "type", "quantity", "price", "status",
               "filled_quantity", "average_price"]  # fmt: skip
    _show("Orders", rows, as_json, _with_bot(columns, bot))


def trades(
    bot: BotOption = None,
    db_url: UrlOption = None,
    limit: LimitOption = 50,
    profit: Annotated[
        bool, typer.Option("--profit", help="Totals per symbol over every fill instead.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """List executed trades (fills), or a profit report over all of them (--profit)."""
    if profit:
        _show("Cash flow per symbol", _run(queries.profit_report, bot, db_url), as_json)
        return
    rows = _run(lambda e, b: queries.trades(e, b, limit=limit), bot, db_url)
    columns = ["time", "strategy", "symbol", "side", "price", "quantity", "fee", "fee_currency",
               "trade_id"]  # fmt: skip
    _show("Trades", rows, as_json, _with_bot(columns, bot))


def positions(
    bot: BotOption = None,
    db_url: UrlOption = None,
    flat: Annotated[bool, typer.Option("--all", help="Include flat positions.")] = False,
    as_json: JsonOption = False,
) -> None:
    """List positions and balances as last saved."""
    engine, owner = _open(bot, db_url)
    try:
        held = queries.positions(engine, owner, include_flat=flat)
        cash = queries.balances(engine, owner)
    finally:
        engine.dispose()
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "positions": [{k: _plain(v) for k, v in r.items()} for r in held],
                    "balances": [{k: _plain(v) for k, v in r.items()} for r in cash],
                },
                indent=2,
            )
        )
        return
    _show("Positions", held, False, _with_bot(["strategy", "symbol", "quantity", "average_price",
                                                "entry_at", "realized_pnl"], bot))  # fmt: skip
    _show("Balances", cash, False, _with_bot(["asset", "total", "updated_at"], bot))


def sessions(
    bot: BotOption = None,
    db_url: UrlOption = None,
    limit: LimitOption = 50,
    as_json: JsonOption = False,
) -> None:
    """List the bot's sessions (one per start)."""
    rows = _run(lambda e, b: queries.sessions(e, b, limit=limit), bot, db_url)
    columns = ["session", "mode", "strategies", "started_at", "ended_at", "end_reason"]
    _show("Sessions", rows, as_json, _with_bot(columns, bot))


runs_app = typer.Typer(
    help="The registry of backtest, optimisation and walk-forward runs.",
    invoke_without_command=True,
)


@runs_app.callback()
def runs(
    ctx: typer.Context,
    bot: BotOption = None,
    db_url: UrlOption = None,
    kind: Annotated[
        str | None, typer.Option("--kind", help="backtest, optimisation or walkforward.")
    ] = None,
    limit: LimitOption = 50,
    as_json: JsonOption = False,
) -> None:
    """List registered runs with their headline metrics."""
    ctx.ensure_object(dict)["runs_target"] = (bot, db_url)
    if ctx.invoked_subcommand is not None:
        return
    if kind is not None and kind not in RUN_KINDS:
        raise UserError(f"--kind must be one of {', '.join(RUN_KINDS)}, got {kind!r}")
    engine, _ = _open(bot, db_url)
    try:
        rows = queries.runs(engine, kind=kind, limit=limit)
    finally:
        engine.dispose()
    columns = ["run", "kind", "strategy", "symbols", "timeframe", "data_start", "data_end",
               "total_return", "sharpe_ratio", "max_drawdown", "trade_count", "win_rate"]  # fmt: skip
    _show("Runs", rows, as_json, None if as_json else columns)


@runs_app.command("compare")
def compare(
    ctx: typer.Context,
    by: Annotated[str, typer.Option("--by", help="strategy or regime.")] = "strategy",
    bot: BotOption = None,
    db_url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Compare the registered backtests' trades by strategy or by market regime at entry."""
    if by not in ("strategy", "regime"):
        raise UserError(f"--by must be strategy or regime, got {by!r}")
    outer_bot, outer_url = (ctx.obj or {}).get("runs_target", (None, None))
    engine, _ = _open(bot or outer_bot, db_url or outer_url)
    try:
        rows = queries.compare_runs(engine, by)  # type: ignore[arg-type]
    finally:
        engine.dispose()
    _show(f"Backtest trades by {by}", rows, as_json)
