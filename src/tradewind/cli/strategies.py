"""``tradewind strategies list | new``: what strategies there are, and a template to start one."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from tradewind.cli.context import STATE
from tradewind.core.errors import UserError
from tradewind.reporting.numbers import format_number
from tradewind.strategies.params import Param
from tradewind.strategies.registry import load_strategy, registered_names
from tradewind.strategies.template import class_name_for, render_template

app = typer.Typer(
    help="List the strategies you can run, or start a new one from a template.",
    no_args_is_help=True,
)


@app.command("list")
def list_strategies(
    name: Annotated[
        str | None,
        typer.Argument(help="Show only this strategy, by name or as path/file.py:Class."),
    ] = None,
) -> None:
    """List the built-in and installed strategies: name, parameters with ranges, description.

    Run one with ``tradewind backtest -s NAME -p PARAM=VALUE``; a strategy in your own file with
    ``-s path/to/file.py:ClassName``.
    """
    names = [name] if name is not None else registered_names()
    for strategy_name in names:
        cls = load_strategy(strategy_name)
        STATE.console.print(
            f"[bold]{strategy_name}[/bold]  (tradewind backtest -s {strategy_name})",
            highlight=False,
        )
        STATE.console.print(_description(cls), markup=False, highlight=False, soft_wrap=True)
        table = Table(show_edge=False, pad_edge=False, box=None, padding=(0, 2, 0, 2))
        for column in ("parameter", "type", "default", "range", "description"):
            table.add_column(column, justify="right" if column == "default" else "left")
        for param_name, param in cls.parameters().items():
            table.add_row(param_name, param.kind.__name__, _value(param.default), _range(param),
                          param.doc)  # fmt: skip
        if cls.parameters():
            STATE.console.print(table)
        else:
            STATE.console.print("  no parameters")
        STATE.console.print()


def _description(cls: type) -> str:
    # The class's own docstring: inspect.getdoc would fall back to the Strategy base class's.
    own = cls.__dict__.get("__doc__")
    doc = inspect.cleandoc(own) if own else getattr(cls, "description", "") or "(no description)"
    return "\n".join(f"  {line}" for line in doc.splitlines())


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return format_number(value)
    return str(value)


def _range(param: Param) -> str:
    if param.choices is not None:
        return " | ".join(param.choices)
    if param.kind is bool:
        return "true | false"
    if param.low is None and param.high is None:
        return "any"
    low = "-inf" if param.low is None else format_number(param.low)
    high = "inf" if param.high is None else format_number(param.high)
    step = f" step {format_number(param.step)}" if param.step is not None else ""
    return f"{low} .. {high}{step}"


@app.command("new")
def new_strategy(
    name: Annotated[str, typer.Argument(help="The strategy's name, snake_case (e.g. my_trend).")],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="File to write (default: ./NAME.py)."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented, working strategy to NAME.py to start from.

    It has indicators, signals, parameters with ranges, a warm-up, a parameter check and event
    hooks, and runs as written: ``tradewind backtest -s NAME.py:ClassName``.
    """
    path = output if output is not None else Path(f"{name}.py")
    source = render_template(name, file_name=str(path))
    if path.exists() and not force:
        raise UserError(f"{path} already exists; pass --force to overwrite it")
    if path.suffix != ".py":
        raise UserError(f"--output must be a .py file, got {path}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None
    spec = f"{path}:{class_name_for(name)}"
    STATE.console.print(f"wrote {path}", highlight=False)
    STATE.console.print(f"  run it:   tradewind backtest -s {spec}", highlight=False)
    STATE.console.print(f"  check it: tradewind lookahead -s {spec}", highlight=False)
