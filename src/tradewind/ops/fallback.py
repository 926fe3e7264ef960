"""Fall back to paper after repeated live failures; back to live only by a two-factor action.

systemd restarts a crashed bot (``Restart=on-failure``), which is right for a one-off crash and
wrong for a bot that fails the same way every time with real money: each restart reconciles, sends
orders again, and fails again. So before a live session starts, the bot's own session history is
read: when ``max_failed`` live sessions ended in an error, or never ended (killed), within
``window`` and since the last operator resume, the start is refused for live, recorded in the
audit trail, and the bot runs paper instead. ``tradewind live-resume`` (with the operator's
two-factor code) clears the count.

A fallback is sticky: once one is recorded (after repeated failed starts, or by a live session
whose venue kept failing, :mod:`tradewind.session.venue_fallback`), every later live start falls
back too until an operator resumes; the passing of the window alone never puts the bot back live.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tradewind.persistence.bots import BotDatabase
from tradewind.persistence.queries import failed_sessions, last_action_at

RESUME_ACTION = "live_resume"
"""The audit-trail action that clears the failure count."""
FALLBACK_ACTION = "fallback_to_paper"
"""The audit-trail action recorded when a live start falls back to paper."""


@dataclass(frozen=True)
class FallbackPolicy:
    """How many failed live sessions within how long make the bot fall back to paper."""

    max_failed: int = 3
    window: timedelta = timedelta(minutes=30)


def live_refusal(
    bot: BotDatabase, policy: FallbackPolicy, now: datetime | None = None
) -> str | None:
    """Why a live start must fall back to paper now, or None when it may go live."""
    now = now or datetime.now(UTC)
    since = now - policy.window
    resumed = last_action_at(bot.engine, bot.bot_id, RESUME_ACTION)
    fell_back = last_action_at(bot.engine, bot.bot_id, FALLBACK_ACTION)
    if fell_back is not None and (resumed is None or fell_back > resumed):
        return (
            f"bot {bot.name!r} fell back to paper at {fell_back:%Y-%m-%d %H:%M:%S} UTC and no "
            "operator allowed live since: falling back to paper; `tradewind live-resume` with a "
            "two-factor code allows live again"
        )
    if resumed is not None and resumed > since:
        since = resumed
    failed = failed_sessions(bot.engine, bot.bot_id, "live", since)
    if failed < policy.max_failed:
        return None
    minutes = int(policy.window.total_seconds() // 60)
    return (
        f"{failed} live sessions of bot {bot.name!r} failed within {minutes} minutes: falling "
        "back to paper; `tradewind live-resume` with a two-factor code allows live again"
    )
