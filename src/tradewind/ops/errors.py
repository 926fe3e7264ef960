"""The operator's mistakes the API answers with their own status codes."""

from __future__ import annotations

from tradewind.core.errors import UserError

__all__ = ["NotAvailableError", "UnknownNameError"]


class UnknownNameError(UserError):
    """The operator named a symbol, strategy or job this bot does not have (404)."""


class NotAvailableError(UserError):
    """The action is not possible in the bot's present state or set-up (409)."""
