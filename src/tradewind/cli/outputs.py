"""Where commands write their outputs: a path the user named, checked before the work starts.

A folder or file that cannot be written (a parent that is a file, no permission, a read-only disk)
is the user's to fix, so it is a one-line :class:`~tradewind.core.errors.UserError` naming the
flag, never a traceback at the end of a long run.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from tradewind.core.errors import UserError

T = TypeVar("T")


def writable_dir(path: Path, flag: str) -> Path:
    """Create ``path`` (and its parents) and prove a file can be written in it; return it."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".tradewind-write-check-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise UserError(f"{flag} {path}: cannot write there ({_why(exc)})") from None
    return path


def writable_file(path: Path | None, flag: str) -> None:
    """Check early that ``path``'s folder can hold it (nothing is written to ``path`` itself)."""
    if path is None:
        return
    if path.is_dir():
        raise UserError(f"{flag} {path}: is a folder; give a file name")
    try:
        writable_dir(path.parent, flag)
    except UserError:
        raise UserError(f"{flag} {path}: its folder {path.parent} cannot be written") from None


def write_output(path: Path, flag: str, write: Callable[[Path], T]) -> T:
    """Run ``write(path)``; an OSError becomes a UserError naming ``flag`` and the path."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return write(path)
    except OSError as exc:
        raise UserError(f"{flag} {path}: cannot write there ({_why(exc)})") from None


def _why(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__
