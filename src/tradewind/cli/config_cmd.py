"""``tradewind config``: inspect the effective configuration."""

from __future__ import annotations

import typer

from tradewind.cli.context import STATE
from tradewind.config import render_toml

app = typer.Typer(
    help="Inspect the effective configuration.", no_args_is_help=True, rich_markup_mode="markdown"
)


@app.command("show")
def show() -> None:
    """Print the effective config (defaults < file < TRADEWIND__* env < flags) as TOML to copy.

    No secret is printed: a set one is a comment naming the environment variable to give it by.
    """
    text = render_toml(STATE.config())
    STATE.console.print(text, markup=False, highlight=False, soft_wrap=True, end="")
