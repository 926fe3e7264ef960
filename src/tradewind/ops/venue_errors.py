"""Repeated venue errors within a window: the venue's health, and the trigger of the in-session
fallback to paper.

A live session counts every failed request to the exchange that says the venue is in trouble
(an answer that proves nothing: a 5xx, a timeout, a dropped connection; or a refusal that is the
venue's, not the order's: a rate limit, maintenance, authentication, the clock). Refusals of one
order (funds, a filter, a bad symbol) and "not found" answers to lookups are the order's business
and do not count. ``max_errors`` within ``window_s`` seconds trip the window once; the session then
protects its positions and falls back to paper (:mod:`tradewind.session.venue_fallback`).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from tradewind.connectors.order_errors import CommandFailure, Outcome, Refusal
from tradewind.core.errors import UserError

__all__ = ["VENUE_REFUSALS", "VenueErrorPolicy", "VenueErrors"]

VENUE_REFUSALS = frozenset({Refusal.RATE_LIMIT, Refusal.MAINTENANCE, Refusal.AUTH, Refusal.CLOCK})
"""Refusals that speak of the venue or the account, not of one order: they count."""


@dataclass(frozen=True)
class VenueErrorPolicy:
    """When a live session gives up on the venue, and what it does with its positions.

    Parameters
    ----------
    max_errors
        Venue errors within ``window_s`` that trip the fallback.
    window_s
        The sliding window, in seconds.
    on_trip
        ``stop``: confirm a native stop order on the exchange for every open position (placing
        one ``stop_distance`` from the last close where none rests), flattening a position whose
        stop is not confirmed; ``flatten``: close every position at market.
    stop_distance
        How far from the last close a placed stop triggers (a fraction).
    confirm_s
        How long to wait for the exchange to confirm each stop (or each flattening).
    """

    max_errors: int = 5
    window_s: float = 60.0
    on_trip: Literal["stop", "flatten"] = "stop"
    stop_distance: Decimal = Decimal("0.05")
    confirm_s: float = 15.0

    def __post_init__(self) -> None:
        if self.max_errors < 1:
            raise UserError(f"venue errors: max_errors must be at least 1, got {self.max_errors}")
        if not self.window_s > 0:
            raise UserError(f"venue errors: window_s must be positive, got {self.window_s}")
        if self.on_trip not in ("stop", "flatten"):
            raise UserError(f"venue errors: on_trip must be stop or flatten, got {self.on_trip!r}")
        if not 0 < self.stop_distance < 1:
            raise UserError(
                f"venue errors: stop_distance must be in (0, 1), got {self.stop_distance}"
            )
        if not self.confirm_s > 0:
            raise UserError(f"venue errors: confirm_s must be positive, got {self.confirm_s}")


def counts(failure: CommandFailure) -> bool:
    """Whether ``failure`` speaks of the venue (see the module docstring)."""
    if failure.outcome is Outcome.AMBIGUOUS:
        return True
    return failure.outcome is Outcome.REFUSED and failure.refusal in VENUE_REFUSALS


class VenueErrors:
    """The venue errors of one session within the policy's window; trips once."""

    def __init__(
        self, policy: VenueErrorPolicy, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.policy = policy
        self._clock = clock
        self._recent: deque[float] = deque()
        self.total = 0
        """Venue errors since the session started."""
        self.last: str = ""
        """The latest venue error's message (secrets redacted by the classifier)."""
        self.tripped_at: float | None = None
        """When the window tripped (the clock's seconds), None while it has not."""

    def failed(self, failure: CommandFailure) -> None:
        """Count one failed request when it speaks of the venue; trip at ``max_errors``."""
        if not counts(failure):
            return
        now = self._clock()
        self.total += 1
        self.last = failure.reason
        self._recent.append(now)
        if self.recent(now) >= self.policy.max_errors and self.tripped_at is None:
            self.tripped_at = now

    def recent(self, now: float | None = None) -> int:
        """Venue errors within the window ending ``now``."""
        now = self._clock() if now is None else now
        while self._recent and self._recent[0] < now - self.policy.window_s:
            self._recent.popleft()
        return len(self._recent)

    @property
    def tripped(self) -> bool:
        """Whether ``max_errors`` came within the window at some point this session."""
        return self.tripped_at is not None

    def health(self) -> dict[str, Any]:
        """The venue's state for ``/health``: not ok once tripped, or while the window holds
        more than half the errors that trip it."""
        recent = self.recent()
        return {
            "ok": not self.tripped and recent * 2 <= self.policy.max_errors,
            "errors_in_window": recent,
            "window_s": self.policy.window_s,
            "max_errors": self.policy.max_errors,
            "errors_total": self.total,
            "last_error": self.last,
            "tripped": self.tripped,
        }
