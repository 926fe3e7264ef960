"""Locate the real recorded market data shared beside the checkout (``../shared/data``).

Looked for, in order: ``$TRADEWIND_SHARED_DATA``; ``shared/data`` beside the checkout or beside
any folder above it; the workplace's shared folder ``/work/shared/data``. Tests that need the
files skip, saying where they looked, when none is found.
"""

from __future__ import annotations

import os
from pathlib import Path

_REPO_ROOT = Path(__file__).resolve().parents[3]


def shared_data_dir() -> Path | None:
    """Return the shared data folder, or None when it is not present."""
    env = os.environ.get("TRADEWIND_SHARED_DATA")
    candidates = [Path(env)] if env else []
    candidates += [_REPO_ROOT / "shared" / "data"]
    candidates += [parent / "shared" / "data" for parent in _REPO_ROOT.parents]
    candidates += [Path("/work/shared/data")]
    for path in candidates:
        if (path / "candles").is_dir():
            return path
    return None


def candle_files() -> list[Path]:
    """All shared candle files (spot candles and futures candles, not mark or funding)."""
    root = shared_data_dir()
    if root is None:
        return []
    files = sorted((root / "candles").iterdir())
    files += sorted(p for p in (root / "futures").iterdir() if p.name.endswith("-futures.feather"))
    return files
