"""Every REST request of the live port: through the shared weight budget, held back while the
exchange says to wait, and each failure classified.

A request first waits out any hold, then takes its weight from the budget every Tradewind process
on the machine shares (:class:`~tradewind.connectors.shared_budget.SharedRateBudget`); the
exchange's weight header corrects the shared count after.

When a failure names a state of the exchange (:class:`~tradewind.connectors.order_errors.
Condition`), the failure stays ambiguous for the order (it is looked up, never resent), and the
gate holds every request back:

- **rate limit** (HTTP 429) and **IP ban** (HTTP 418): for the answer's ``Retry-After``; without
  one, 1 s doubling with each one in a row (at most 60 s; an IP ban at least 60 s);
- **maintenance** (``-1008``, ``OnMaintenance``): 1 s doubling with each one in a row, at most
  30 s, until a request succeeds.

The hold is written to the shared budget too (``ban``), so every process waits, not only this
one. Each is a named :class:`VenueCondition`, kept in :attr:`RequestGate.conditions` and handed to
``on_condition`` (the session journals it and tells the operator).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tradewind.connectors.errors import retry_after_s
from tradewind.connectors.order_errors import CommandFailure, Condition, classify_command_failure
from tradewind.connectors.shared_budget import SharedRateBudget

__all__ = ["RequestGate", "VenueCondition"]

_log = logging.getLogger(__name__)

_FIRST_HOLD_S = 1.0
_MAX_HOLD_S = {Condition.RATE_LIMIT: 60.0, Condition.IP_BAN: 600.0, Condition.MAINTENANCE: 30.0}
_MIN_BAN_S = 60.0
"""An IP ban without ``Retry-After`` waits at least this long (Binance bans for 2 minutes up)."""


@dataclass(frozen=True, slots=True)
class VenueCondition:
    """A named state of the exchange a request met (an event for the journal and the operator)."""

    ts: int
    """When (UTC ms)."""
    condition: Condition
    method: str
    """The ccxt method of the request that met it."""
    hold_s: float
    """How long every request waits from then on."""
    message: str
    """The exchange's own words (secrets redacted), one line."""


class RequestGate:
    """The live port's way to the exchange (see the module docstring).

    Parameters
    ----------
    client
        The async ccxt client.
    budget
        The request-weight budget shared by every process on this account and IP (None: none).
    clock
        Wall clock in UTC ms (the conditions' times).
    """

    def __init__(
        self,
        client: Any,
        budget: SharedRateBudget | None = None,
        *,
        clock: Callable[[], int] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.budget = budget
        self._clock = clock or (lambda: int(time.time() * 1000))
        self._monotonic = monotonic
        self._hold_until = 0.0
        self._in_a_row: dict[Condition, int] = {}
        self.conditions: list[VenueCondition] = []
        """Every named condition met, oldest first."""
        self.on_condition: Callable[[VenueCondition], None] | None = None
        """Told of every named condition as it is met."""
        self.on_failure: Callable[[CommandFailure], None] | None = None
        """Told of every failed request (lookups included), classified."""
        self.on_latency: Callable[[float], None] | None = None
        """Told of every answered request's round trip, in seconds (the session's latency
        anomaly alert)."""

    def holding(self) -> float:
        """Seconds every request still waits (0: none)."""
        return max(0.0, self._hold_until - self._monotonic())

    async def call(self, weight: int, method: str, *args: Any) -> Any:
        """One REST request: wait out the hold, take the weight, send, classify a failure."""
        while (wait := self.holding()) > 0:
            await asyncio.sleep(wait)
        budget = self.budget
        if budget is not None:
            await budget.acquire(weight)
        sent = time.perf_counter()
        try:
            answer = await getattr(self.client, method)(*args)
        except Exception as exc:
            self._failed(method, exc)
            raise
        finally:
            if budget is not None:
                budget.observe(getattr(self.client, "last_response_headers", None) or {})
        if self.on_latency is not None:
            self.on_latency(time.perf_counter() - sent)
        self._in_a_row.clear()
        return answer

    def _failed(self, method: str, exc: Exception) -> None:
        failure = classify_command_failure(exc)
        wait = retry_after_s(self.client)
        condition = failure.condition
        if condition is None:
            if wait is not None and self.budget is not None:
                self.budget.ban(wait)
        else:
            self._hold(method, condition, wait, failure.message)
        if self.on_failure is not None:
            self.on_failure(failure)

    def _hold(self, method: str, condition: Condition, wait: float | None, message: str) -> None:
        count = self._in_a_row.get(condition, 0)
        self._in_a_row[condition] = count + 1
        if wait is None:
            wait = min(_FIRST_HOLD_S * 2**count, _MAX_HOLD_S[condition])
            if condition is Condition.IP_BAN:
                wait = max(wait, _MIN_BAN_S)
        self._hold_until = max(self._hold_until, self._monotonic() + wait)
        if self.budget is not None:
            self.budget.ban(wait)
        event = VenueCondition(self._clock(), condition, method, wait, message)
        self.conditions.append(event)
        _log.warning("exchange %s on %s: every request waits %.1fs (%s)", condition, method,
                     wait, message)  # fmt: skip
        if self.on_condition is not None:
            self.on_condition(event)
