"""In-process CLI runs through ``tradewind.cli.main.run`` (the console script's entry point), in an
empty working folder with no ``TRADEWIND__*`` variables, so no user config leaks in."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from rich.console import Console

from tradewind.cli.context import STATE
from tradewind.cli.main import run


@dataclass(frozen=True)
class Outcome:
    """Exit code and captured output of one CLI run."""

    code: int
    out: str
    err: str


CliRunner = Callable[..., Outcome]


@pytest.fixture
def cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> CliRunner:
    """Run ``tradewind ARGS...`` in process from an empty folder; return code, stdout, stderr."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    for name in list(os.environ):
        if name.startswith("TRADEWIND__"):
            monkeypatch.delenv(name)
    monkeypatch.setattr(STATE, "console", Console(width=200, no_color=True))
    monkeypatch.setattr(STATE, "err_console", Console(stderr=True, width=200, no_color=True))

    def invoke(*args: str | Path) -> Outcome:
        capsys.readouterr()
        code = run([str(a) for a in args])
        out, err = capsys.readouterr()
        return Outcome(code, out, err)

    return invoke
