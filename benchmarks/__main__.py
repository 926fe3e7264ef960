"""Run every benchmark module (``benchmarks/bench_*.py``) and print one table.

Each module exposes ``run(quick: bool) -> list[Row]``; it must check the result it times before it
returns a speed. ``python -m benchmarks [name ...] [--quick]`` runs a subset.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import traceback

from rich.console import Console
from rich.table import Table

import benchmarks
from benchmarks.common import Row


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "s":
        for scale, suffix in ((1.0, "s"), (1e-3, "ms"), (1e-6, "us"), (1e-9, "ns")):
            if value >= scale:
                return f"{value / scale:.3g} {suffix}"
        return f"{value / 1e-9:.3g} ns"
    return f"{value:.4g} {unit}"


def main(argv: list[str]) -> int:
    """Run the selected benchmarks and print the table; return a process exit code."""
    quick = "--quick" in argv
    wanted = [a for a in argv if not a.startswith("-")]
    names = sorted(
        m.name for m in pkgutil.iter_modules(benchmarks.__path__) if m.name.startswith("bench_")
    )
    if wanted:
        names = [n for n in names if any(w in n for w in wanted)]
    console = Console(width=max(160, Console().width))
    rows: list[Row] = []
    failed = 0
    for name in names:
        console.print(f"[bold]running {name}[/bold]")
        try:
            module = importlib.import_module(f"benchmarks.{name}")
            rows.extend(module.run(quick))
        except Exception:
            failed += 1
            console.print(f"[red]{name} failed:[/red]\n{traceback.format_exc()}")
    table = Table(title="Tradewind benchmarks (ratio > 1: Tradewind is better)")
    for col in ("group", "benchmark", "tradewind", "peer", "peer value", "ratio", "target", "note"):
        table.add_column(col)
    for row in rows:
        ratio = row.ratio
        table.add_row(
            row.group,
            row.name,
            _fmt(row.ours, row.unit),
            row.peer_name,
            _fmt(row.peer, row.unit),
            "-" if ratio is None else f"{ratio:.2f}x",
            row.target,
            row.note,
        )
    console.print(table)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
