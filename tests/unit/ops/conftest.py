"""Fixtures of the operator tests (the bot they drive is built in ops_bot.py)."""

from ops_bot import bot, minutes

__all__ = ["bot", "minutes"]
