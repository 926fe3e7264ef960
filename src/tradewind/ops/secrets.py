"""A secret value that never shows itself: not in a repr, a str, a format, a log or a pickle.

Every :class:`Secret` registers its value with the log redaction filter when it is made, so even
a value revealed and passed on (to ccxt, say) is removed from any log line or traceback later.
"""

from __future__ import annotations

import hmac
from typing import NoReturn

from tradewind.logs import register_secret

_MASK = "***"


class Secret:
    """Hold a secret string; :meth:`reveal` is the one way to read it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError("a Secret holds a string")
        self._value = value
        register_secret(value)

    def reveal(self) -> str:
        """The secret itself; hand it only to the code that must use it (a client, a signer)."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret('{_MASK}')"

    def __str__(self) -> str:
        return _MASK

    def __format__(self, spec: str) -> str:
        return _MASK

    def __eq__(self, other: object) -> bool:
        # Constant time: a comparison must not leak how many leading characters matched.
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash((Secret, len(self._value)))

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Secret cannot be pickled or copied out of the process")
