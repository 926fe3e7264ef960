"""Paths to the real recorded market data the tests use.

The data ships inside the package (:mod:`tradewind.data.recorded`), so every clone and every
install has it; ``$TRADEWIND_SHARED_DATA`` points the tests at another folder in the same layout.
"""

from __future__ import annotations

from pathlib import Path

from tradewind.data.recorded import recorded_data_dir


def shared_data_dir() -> Path | None:
    """Return the recorded data folder, or None when it is not present (a broken install)."""
    path = recorded_data_dir()
    return path if (path / "candles").is_dir() else None


def candle_files() -> list[Path]:
    """All recorded candle files (spot candles and futures candles, not mark or funding)."""
    root = shared_data_dir()
    if root is None:
        return []
    files = sorted((root / "candles").iterdir())
    files += sorted(p for p in (root / "futures").iterdir() if p.name.endswith("-futures.feather"))
    return files
