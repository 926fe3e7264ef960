"""Cross-verification of prices from several sources: divergence and outliers.

Every source's mid of a symbol (best bid + best ask, halved; a price aggregator's price) is
compared with the other sources' as it arrives, on this machine's receive clock:

- **Divergence.** Each source's latest mid (younger than ``window_ms``) is compared with the
  median of the other sources' latest mids. When any is further than ``threshold_bps``, the
  symbol enters the *data divergence* state (a :class:`~tradewind.core.source_events.DataQuality`
  ``DIVERGENCE`` event): a session takes no new entries on it. It clears (``CONVERGED``) when
  every fresh mid is back within the threshold, or when the diverging source falls silent for
  ``window_ms`` and the sources left agree.
- **Outliers.** A print more than ``k x MAD`` away from the median of the other sources' accepted
  mids over the last ``window_ms`` (5 s) is rejected: it does not enter the window others are
  judged against, and an ``OUTLIER`` event is raised (once per spell: a source already in the
  divergence state is not reported print by print). ``k`` is 5 by default. The MAD has a floor
  of ``mad_floor_bps`` of the median, because venues' books often sit still for seconds (MAD 0)
  and a venue's constant offset of a few bps is not an outlier.

With two sources a divergence says that they disagree, not which one is wrong; with three or
more, the median of the others names the odd one out (the event's ``source``).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal
from statistics import median

from tradewind.core.errors import UserError
from tradewind.core.source_events import DataQuality, QualityKind

_BPS = Decimal(10_000)
_CENT = Decimal("0.01")


def deviation_bps(price: Decimal, reference: Decimal) -> Decimal:
    """Return ``price - reference`` in basis points of ``reference`` (two decimals)."""
    return ((price - reference) / reference * _BPS).quantize(_CENT)


@dataclass
class _Symbol:
    accepted: dict[str, deque[tuple[int, Decimal]]] = field(default_factory=dict)
    latest: dict[str, tuple[int, Decimal]] = field(default_factory=dict)
    diverging: str | None = None
    outlier_spell: set[str] = field(default_factory=set)


@dataclass
class CrossCheck:
    """Divergence state and outlier rejection over the mids of several sources.

    Parameters
    ----------
    threshold_bps
        Distance from the other sources' median mid beyond which a symbol is divergent.
    outlier_k
        Multiple of the MAD beyond which a print is an outlier.
    window_ms
        How long a mid counts (the outlier window and the freshness of latest mids).
    mad_floor_bps
        The smallest MAD assumed, in bps of the median.
    """

    threshold_bps: Decimal = Decimal(20)
    outlier_k: Decimal = Decimal(5)
    window_ms: int = 5_000
    mad_floor_bps: Decimal = Decimal(2)
    outliers: int = 0
    _symbols: dict[str, _Symbol] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.threshold_bps <= 0 or self.outlier_k <= 0 or self.mad_floor_bps < 0:
            raise UserError("cross-check threshold_bps and outlier_k must be > 0, "
                            "mad_floor_bps >= 0")  # fmt: skip
        if self.window_ms <= 0:
            raise UserError(f"cross-check window_ms must be > 0, got {self.window_ms}")

    def observe(self, source: str, symbol: str, mid: Decimal, at_ms: int) -> list[DataQuality]:
        """Record ``source``'s ``mid`` of ``symbol`` received at ``at_ms``; return findings."""
        state = self._symbols.setdefault(symbol, _Symbol())
        since = at_ms - self.window_ms
        for prints in state.accepted.values():
            while prints and prints[0][0] < since:
                prints.popleft()
        events: list[DataQuality] = []
        others = [p for s, q in state.accepted.items() if s != source for _, p in q]
        outlier = False
        if others:
            reference = median(others)
            mad = median(abs(p - reference) for p in others)
            band = self.outlier_k * max(mad, reference * self.mad_floor_bps / _BPS)
            outlier = abs(mid - reference) > band
            if outlier:
                self.outliers += 1
                if source not in state.outlier_spell and state.diverging != source:
                    events.append(DataQuality(
                        symbol, QualityKind.OUTLIER, source, mid, reference,
                        deviation_bps(mid, reference),
                        f"more than {self.outlier_k} x MAD ({band:.8g}) from the other sources' "
                        f"mids over {self.window_ms} ms: rejected", at_ms,
                    ))  # fmt: skip
                state.outlier_spell.add(source)
            else:
                state.outlier_spell.discard(source)
        if not outlier:
            state.accepted.setdefault(source, deque()).append((at_ms, mid))
        state.latest[source] = (at_ms, mid)
        events += self._judge(symbol, state, since, at_ms)
        return events

    def _judge(self, symbol: str, state: _Symbol, since: int, at_ms: int) -> list[DataQuality]:
        fresh = {s: p for s, (t, p) in state.latest.items() if t >= since}
        worst: tuple[Decimal, str, Decimal, Decimal] | None = None
        for source, price in fresh.items():
            others = [p for s, p in fresh.items() if s != source]
            if not others:
                continue
            reference = median(others)
            gap = deviation_bps(price, reference)
            if worst is None or abs(gap) > abs(worst[0]):
                worst = (gap, source, price, reference)
        if worst is None:
            if state.diverging is None or not fresh:
                return []
            # The diverging source (or all but one) fell silent: nothing disagrees any more.
            source, price = next(iter(fresh.items()))
            state.diverging = None
            return [DataQuality(symbol, QualityKind.CONVERGED, source, price, price, Decimal(0),
                                "the other sources fell silent: nothing left to disagree",
                                at_ms)]  # fmt: skip
        gap, source, price, reference = worst
        if abs(gap) > self.threshold_bps and state.diverging is None:
            state.diverging = source
            return [DataQuality(symbol, QualityKind.DIVERGENCE, source, price, reference, gap,
                                f"{gap} bps from the other sources (threshold "
                                f"{self.threshold_bps} bps): no new entries", at_ms)]  # fmt: skip
        if abs(gap) <= self.threshold_bps and state.diverging is not None:
            state.diverging = None
            return [DataQuality(symbol, QualityKind.CONVERGED, source, price, reference, gap,
                                f"every source within {self.threshold_bps} bps again",
                                at_ms)]  # fmt: skip
        return []

    def prices(self, symbol: str) -> dict[str, tuple[int, Decimal]]:
        """Return each source's latest mid of ``symbol`` and when it was received (outliers
        included: they are judged for divergence, not kept for the outlier window)."""
        state = self._symbols.get(symbol)
        return {} if state is None else dict(state.latest)

    def divergent_symbols(self) -> set[str]:
        """Return the symbols in the data divergence state (no new entries on them)."""
        return {symbol for symbol, state in self._symbols.items() if state.diverging is not None}
