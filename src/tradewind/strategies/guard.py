"""The one place a call into a user's strategy code is checked: an exception raised by the
strategy's own file becomes a :class:`~tradewind.core.errors.StrategyError` naming the strategy,
the hook (``signals()``, ``on_bar()`` ...) and the file:line that raised.

A user's strategy failing is the user's to fix, so the CLI shows one line (exit 2), not our
traceback. A built-in strategy (one defined inside the ``tradewind`` package) failing is our bug,
and its exception passes through unchanged so it still looks like one (exit 1).
"""

from __future__ import annotations

import inspect
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tradewind.core.errors import StrategyError, UserError

_PACKAGE = Path(__file__).resolve().parent.parent


@contextmanager
def strategy_call(strategy: object, hook: str) -> Iterator[None]:
    """Run the body as a call of ``strategy``'s ``hook``; re-raise its own errors as StrategyError.

    Raises
    ------
    StrategyError
        When the exception's innermost frame in the strategy's source file is known and that file
        is not part of Tradewind.
    """
    try:
        yield
    except UserError:
        raise
    except Exception as exc:
        where = _user_frame(exc, type(strategy))
        if where is None:
            raise
        name = getattr(strategy, "name", "") or type(strategy).__name__
        raise StrategyError(
            f"strategy {name!r} raised {type(exc).__name__} in {hook}(): {exc} (at {where})"
        ) from exc


def is_builtin(strategy: object) -> bool:
    """True when ``strategy``'s class is defined inside the tradewind package (a built-in
    strategy: its failure is Tradewind's bug, not the user's)."""
    try:
        source = inspect.getsourcefile(type(strategy))
    except TypeError:
        return False
    return source is not None and Path(source).resolve().is_relative_to(_PACKAGE)


def _user_frame(exc: BaseException, cls: type) -> str | None:
    """``file:line`` of the innermost frame of ``exc`` in ``cls``'s source file, unless that file
    belongs to the tradewind package (a built-in strategy) or no frame is in it."""
    try:
        source = inspect.getsourcefile(cls)
    except TypeError:
        return None
    if source is None:
        return None
    path = Path(source).resolve()
    if path.is_relative_to(_PACKAGE):
        return None
    found = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if Path(frame.filename).resolve() == path:
            found = f"{frame.filename}:{frame.lineno}"
    return found


def reraise_from_strategy(strategy: object, hook: str, exc: Exception) -> None:
    """Raise ``exc`` as :func:`strategy_call` would: a StrategyError when the strategy's own file
    raised it, else ``exc`` itself. For hot loops, where a ``try`` costs less than a ``with``."""
    with strategy_call(strategy, hook):
        raise exc
