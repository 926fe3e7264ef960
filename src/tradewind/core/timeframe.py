"""Candle timeframes such as ``1m``, ``4h`` or ``1d``.

A bar's timestamp is its open time (UTC, milliseconds since the epoch). The bar is known only at
``open + timeframe``: that is the earliest moment anything may act on its close.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tradewind.core.errors import UserError

_UNIT_MS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_PATTERN = re.compile(r"^(\d+)([smhdw])$")


@dataclass(frozen=True, slots=True, order=True)
class Timeframe:
    """A fixed-length candle interval, ordered by length.

    Calendar months are not fixed-length and are refused: resampling and gap detection need a grid.
    """

    ms: int

    def __post_init__(self) -> None:
        if self.ms <= 0:
            raise UserError(f"a timeframe must be positive, got {self.ms} ms")

    @classmethod
    def parse(cls, text: str) -> Timeframe:
        """Parse ``"1m"``, ``"15m"``, ``"4h"``, ``"1d"``, ``"1w"`` or ``"30s"``.

        Raises
        ------
        UserError
            If the text is not a count followed by one of s, m, h, d, w.
        """
        match = _PATTERN.match(text.strip())
        if match is None or int(match.group(1)) == 0:
            hint = " (calendar months are not supported)" if text.strip().endswith("M") else ""
            raise UserError(
                f"invalid timeframe {text!r}: expected a count and a unit s, m, h, d or w, "
                f"such as 1m, 15m, 4h, 1d{hint}"
            )
        return cls(int(match.group(1)) * _UNIT_MS[match.group(2)])

    @property
    def seconds(self) -> int:
        """Length in whole seconds."""
        return self.ms // 1000

    def floor(self, ts_ms: int) -> int:
        """Return the open time of the bar of this timeframe that contains ``ts_ms``.

        Bars are aligned to the Unix epoch (weeks therefore start on Thursday, as on the epoch; use
        days for exchange-aligned weekly sessions).
        """
        return ts_ms - ts_ms % self.ms

    def is_aligned(self, ts_ms: int) -> bool:
        """Tell whether ``ts_ms`` is a bar open time on this timeframe's grid."""
        return ts_ms % self.ms == 0

    def close_time(self, open_ms: int) -> int:
        """Return the moment a bar opened at ``open_ms`` is complete and may be acted on."""
        return open_ms + self.ms

    def divides(self, other: Timeframe) -> bool:
        """Tell whether bars of ``other`` are made of whole bars of this timeframe."""
        return other.ms % self.ms == 0

    def __str__(self) -> str:
        for unit in ("w", "d", "h", "m", "s"):
            size = _UNIT_MS[unit]
            if self.ms % size == 0:
                return f"{self.ms // size}{unit}"
        return f"{self.ms}ms"
