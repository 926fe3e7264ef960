"""Progress bars for jobs that can take more than a couple of seconds."""

from __future__ import annotations

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from tradewind.cli.context import STATE


def progress_bar() -> Progress:
    """A rich progress bar on stderr, so stdout stays clean for tables and JSON."""
    return Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=STATE.err_console,
        transient=False,
    )
