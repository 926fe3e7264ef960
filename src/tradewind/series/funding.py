"""Funding events of a perpetual as arrays (times, rates, optional marks)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tradewind.core.errors import UserError


@dataclass(frozen=True)
class FundingSeries:
    """Funding events of one perpetual: times (UTC ms), rates per event, optional mark prices."""

    ts: npt.NDArray[np.int64]
    rate: npt.NDArray[np.float64]
    mark: npt.NDArray[np.float64] | None = None

    def __post_init__(self) -> None:
        if len(self.ts) != len(self.rate) or (
            self.mark is not None and len(self.mark) != len(self.ts)
        ):
            raise UserError("funding series: ts, rate and mark must have the same length")
        if len(self.ts) > 1 and not bool(np.all(np.diff(self.ts) > 0)):
            raise UserError("funding series: times must be strictly increasing")
        if not bool(np.all(np.isfinite(self.rate))):
            raise UserError("funding series: rates must be finite numbers")
