"""Text files a user names on the command line (a fault plan, a risk config): read with a one-line
:class:`~tradewind.core.errors.UserError` naming the flag when the file is missing, a folder,
unreadable or not text, never a traceback."""

from __future__ import annotations

from pathlib import Path

from tradewind.core.errors import UserError


def read_text(path: Path, flag: str) -> str:
    """The text of ``path``, which the user gave as ``flag``."""
    if path.is_dir():
        raise UserError(f"{flag} {path}: is a folder; give a file")
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{flag} {path}: no such file") from None
    except UnicodeDecodeError:
        raise UserError(f"{flag} {path}: not a text file (it is not UTF-8)") from None
    except OSError as exc:
        raise UserError(f"{flag} {path}: cannot read it ({exc.strerror or exc})") from None


def catalog_folder(path: Path, flag: str = "--data-dir", *, must_exist: bool = True) -> Path:
    """The catalog folder the user named: a file there, or (to read from) no folder at all, is
    refused, rather than read as an empty catalog or passed over for the bundled data."""
    if path.exists() and not path.is_dir():
        raise UserError(f"{flag} {path}: is a file; give the catalog folder")
    if must_exist and not path.exists():
        raise UserError(f"{flag} {path}: no such folder")
    return path
