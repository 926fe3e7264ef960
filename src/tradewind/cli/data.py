"""``tradewind data``: import, download, list, show, validate and resample market data."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Import, download, inspect, validate and resample market data.", no_args_is_help=True
)
