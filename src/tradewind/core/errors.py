"""Exception types shared by every ring.

A :class:`UserError` is a mistake the user can fix (bad input, bad config, bad file); the CLI turns
it into a one-line message and exit code 2. Everything else is a bug or an outage and keeps its
traceback.
"""

from __future__ import annotations


class TradewindError(Exception):
    """Base class of every error Tradewind raises on purpose."""


class UserError(TradewindError):
    """A mistake in the user's input, file or configuration; the message says how to fix it."""


class DataError(UserError):
    """Market data that breaks the rules of its kind (bad rows, wrong columns, unreadable file)."""


class ConfigError(UserError):
    """A configuration file, environment variable or flag that is unknown or of the wrong type."""


class StrategyError(UserError):
    """A user's strategy raised: the message names the strategy, the hook and its file:line."""
