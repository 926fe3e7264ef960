"""The repository is self-contained: nothing it ships names a folder outside itself.

The recorded data and the notes once lived in a folder beside the checkout; a clone with nothing
beside it then skipped most tests, and docs sent readers to files they do not have. The data now
ships in the package (:mod:`tradewind.data.recorded`).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tradewind.data.recorded import RECORDED_DATA_ENV, bundled_recorded_dir, recorded_data_dir

ROOT = Path(__file__).resolve().parents[3]
SHIPPED = (
    "src",
    "tests",
    "benchmarks",
    "docs",
    "deploy",
    "README.md",
    "Makefile",
    "Dockerfile",
    ".ci",
)
OUTSIDE = re.compile(r"(\.\./shared\b|\bshared/(data|notes)\b|(^|[\s\"'`=(])/(work|home)/)")


def _shipped_text_files() -> list[Path]:
    found: list[Path] = []
    for name in SHIPPED:
        path = ROOT / name
        candidates = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for candidate in candidates:
            if candidate.suffix in {".parquet", ".feather", ".zip", ".gz", ".png", ".pyc"}:
                continue
            try:
                candidate.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue  # binary data
            found.append(candidate)
    return found


def test_nothing_shipped_names_a_folder_outside_the_repository() -> None:
    files = _shipped_text_files()
    assert len(files) > 100  # the walk saw the package, not an empty folder

    named = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in files
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if OUTSIDE.search(line)
    ]

    assert not named, "\n".join(named)


def test_the_recorded_data_defaults_to_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(RECORDED_DATA_ENV, raising=False)

    folder = recorded_data_dir()

    assert folder == bundled_recorded_dir()
    assert folder.is_relative_to(ROOT / "src" / "tradewind")
    assert (folder / "candles").is_dir()
    assert (folder / "SOURCES.md").is_file()
