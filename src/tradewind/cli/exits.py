"""The CLI's exit codes, and the exception a check raises when it found a problem.

======  ==========================================================================
code    meaning
======  ==========================================================================
0       success
1       a bug in Tradewind (the traceback is printed, with a request to report it)
2       a user mistake: a bad flag, value, file or config key (one line says which)
3       a check ran and found a problem: a lookahead leak, a declared warm-up
        shorter than an indicator needs, data with errors (``data validate``)
130     interrupted (Ctrl-C)
======  ==========================================================================
"""

from __future__ import annotations

from tradewind.core.errors import TradewindError

EXIT_OK = 0
EXIT_BUG = 1
EXIT_USER_ERROR = 2
EXIT_CHECK_FAILED = 3
EXIT_INTERRUPTED = 130


class CheckFailedError(TradewindError):
    """A check command finished and found a problem; the message is its one-line verdict."""
