"""Strategy registry: built-ins and plugins by name, and user strategies from their own files.

Registration is explicit (the :func:`register` decorator, or the ``tradewind.strategies`` entry-point
group for installed plugins); nothing is discovered by scanning folders.
"""

from __future__ import annotations

import difflib
import functools
import importlib.util
import sys
import traceback
from importlib.metadata import entry_points
from pathlib import Path
from typing import TypeVar

from tradewind.core.errors import UserError
from tradewind.strategies.base import Strategy

S = TypeVar("S", bound=type[Strategy])
_REGISTRY: dict[str, type[Strategy]] = {}
_ENTRY_POINT_GROUP = "tradewind.strategies"


def register(cls: S) -> S:
    """Class decorator: make a strategy available by its ``name``.

    Raises
    ------
    UserError
        If the class has no name or another class already took it.
    """
    if not cls.name:
        raise UserError(f"strategy class {cls.__name__} needs a `name` to be registered")
    existing = _REGISTRY.get(cls.name)
    if existing is not None and existing is not cls:
        raise UserError(f"strategy name {cls.name!r} is already registered by {existing.__name__}")
    _REGISTRY[cls.name] = cls
    return cls


def _load_builtins_and_plugins() -> None:
    import tradewind.strategies.builtin  # noqa: F401  (registers the built-ins)

    _load_plugins()


@functools.cache
def _load_plugins() -> None:
    """Register the installed plugins' strategies, once a process: reading the distributions'
    entry points costs as much as a short backtest, and what is installed does not change under a
    running program (a plugin that fails raises, and is tried again next time)."""
    for entry in entry_points(group=_ENTRY_POINT_GROUP):
        if entry.name in _REGISTRY:
            continue
        try:
            loaded = entry.load()
        except Exception as exc:
            raise UserError(
                f"strategy plugin {entry.name!r} ({entry.value}) failed to load: {exc}"
            ) from exc
        if isinstance(loaded, type) and issubclass(loaded, Strategy):
            _REGISTRY.setdefault(entry.name, loaded)


def registered_names() -> list[str]:
    """Names of every registered strategy, sorted."""
    _load_builtins_and_plugins()
    return sorted(_REGISTRY)


def get_strategy(name: str) -> type[Strategy]:
    """The strategy class registered as ``name``, with a "did you mean" when it is unknown."""
    _load_builtins_and_plugins()
    try:
        return _REGISTRY[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(_REGISTRY), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise UserError(
            f"unknown strategy {name!r}{hint}; known: {', '.join(sorted(_REGISTRY))}, "
            "or a file as path/to/file.py:ClassName"
        ) from None


def load_strategy(spec: str) -> type[Strategy]:
    """Resolve ``spec``: a registered name, or ``path/to/file.py:ClassName`` for a user's file.

    A user file that fails to import gets a one-line error naming the file and line.
    """
    if ":" not in spec or not spec.split(":", 1)[0].endswith(".py"):
        return get_strategy(spec)
    path_text, class_name = spec.rsplit(":", 1)
    path = Path(path_text)
    if not path.is_file():
        raise UserError(f"strategy file not found: {path}")
    module_name = f"tradewind_user_strategy_{abs(hash(path.resolve()))}"
    module_spec = importlib.util.spec_from_file_location(module_name, path)
    if module_spec is None or module_spec.loader is None:
        raise UserError(f"cannot load strategy file {path}")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[module_name] = module
    try:
        module_spec.loader.exec_module(module)
    except SyntaxError as exc:
        raise UserError(f"{path}:{exc.lineno}: syntax error in strategy file: {exc.msg}") from exc
    except UserError as exc:
        # Our own checks at class definition (a reserved name, a bad Param): the message already
        # says what is wrong; the file and line say where.
        raise type(exc)(f"{path}:{_line_in(path, exc)}: {exc}") from exc
    except Exception as exc:
        line = _line_in(path, exc)
        raise UserError(
            f"{path}:{line}: strategy file failed to import: {type(exc).__name__}: {exc}"
        ) from exc
    found = getattr(module, class_name, None)
    if not (isinstance(found, type) and issubclass(found, Strategy)):
        candidates = [
            n
            for n, v in vars(module).items()
            if isinstance(v, type) and issubclass(v, Strategy) and v is not Strategy
        ]
        raise UserError(
            f"{path} has no Strategy subclass named {class_name!r}; found: {', '.join(candidates) or 'none'}"
        )
    return found


def _line_in(path: Path, exc: BaseException) -> int | str:
    resolved = str(path.resolve())
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if str(Path(frame.filename).resolve()) == resolved:
            return frame.lineno or "?"
    return "?"
