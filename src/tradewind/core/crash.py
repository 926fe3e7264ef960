"""Named crash points for kill -9 tests: ``TRADEWIND_CRASH_AT=<point>[:<n>]`` (off by default).

At the ``n``-th time (default the first) the process passes the named point, it writes
``crash point <point> firing`` to stderr and to the log, then kills itself with SIGKILL: no
``finally``, no flush, no atexit, exactly what a power cut or the OOM killer leaves. A test reads
the line to prove its crash happened where it meant (a run whose log lacks it fails).
"""

from __future__ import annotations

import logging
import os
import signal
import sys

ENV = "TRADEWIND_CRASH_AT"

_log = logging.getLogger(__name__)
_hits: dict[str, int] = {}
_WANTED = os.environ.get(ENV)
"""Read once, when the process starts (a kill -9 test sets it for the process it kills): the
points sit on the order path, where an environment lookup per order is measurable."""


def crash_point(name: str) -> None:
    """Die here with SIGKILL if ``TRADEWIND_CRASH_AT`` (as the process started with) names this
    point (and its hit count)."""
    wanted = _WANTED
    if not wanted:
        return
    point, _, count = wanted.partition(":")
    if point != name:
        return
    _hits[name] = hit = _hits.get(name, 0) + 1
    if hit != (int(count) if count else 1):
        return
    _log.critical("crash point %s firing", name)
    sys.stderr.write(f"crash point {name} firing\n")
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGKILL)
