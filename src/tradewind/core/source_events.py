"""What a set of market-data sources says about itself: failovers between sources, data-quality
findings from cross-checking them, and receive-latency alerts.

These sit beside :mod:`.market_events` (whose :class:`~.market_events.BarClosed` carries the
venue a bar came from): a :class:`SourceSwitched` is emitted every time the active source of a
data need changes, a :class:`DataQuality` when sources disagree (or agree again) or when a print
is rejected as an outlier, a :class:`LatencyAlert` when a stream's receive lag crosses its
threshold (and when it falls back below it).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum


class SwitchReason(StrEnum):
    """Why the active source changed."""

    SILENT = "silent"
    """The active source sent nothing for longer than the failover allowance."""
    ERROR = "error"
    """The active source's connection failed or its own watchdog declared it stale."""
    RECOVERED = "recovered"
    """A source of higher priority has been healthy for the switch-back delay."""


@dataclass(frozen=True, slots=True)
class SourceSwitched:
    """The active source of ``need`` (``candles``) moved from ``previous`` to ``active``.

    ``silent_s`` is how long ``previous`` had been silent when the switch was made; ``count`` is
    the number of switches of this source set so far, this one included.
    """

    need: str
    previous: str
    active: str
    reason: SwitchReason
    detail: str
    silent_s: float
    count: int
    received_ms: int


class QualityKind(StrEnum):
    """What a cross-check found."""

    DIVERGENCE = "divergence"
    """A source's mid is further from the other sources' than the threshold: no new entries."""
    CONVERGED = "converged"
    """Every source is back within the threshold: the divergence state clears."""
    OUTLIER = "outlier"
    """A print more than k x MAD away from the other sources' recent mids: rejected."""


@dataclass(frozen=True, slots=True)
class DataQuality:
    """A cross-check finding on ``symbol``: ``source``'s ``price`` against ``reference`` (the
    median of the other sources' mids), ``deviation_bps`` apart."""

    symbol: str
    kind: QualityKind
    source: str
    price: Decimal
    reference: Decimal
    deviation_bps: Decimal
    detail: str
    received_ms: int


@dataclass(frozen=True, slots=True)
class LatencyAlert:
    """The receive lag of ``stream`` on ``source`` crossed ``threshold_ms``: ``raised`` is True
    when its rolling p99 went above, False when it came back below."""

    source: str
    stream: str
    p50_ms: float
    p99_ms: float
    threshold_ms: float
    raised: bool
    received_ms: int


SourceEvent = SourceSwitched | DataQuality | LatencyAlert
"""Everything a source set says about its sources."""
