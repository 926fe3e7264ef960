"""How a market's recording maps onto the simulator's clock: one offset per pass of the replay.

The simulator's clock (``serverTime``) is not the recording's time: a recording of January 2018
is replayed *now*. Every market with recorded series gets a :class:`Timeline` when the replay
starts (:meth:`~.exchange.SimExchange.anchor`), and everything it serves goes through it:

    server time = recording time + offset

The recording is looped: pass ``p`` of the replay uses offset ``offset_ms + p * period_ms``, so a
served series is the recording, then the recording again, each pass following the last. Rules
(so a test can reason about them):

- ``align_ms`` is the longest recorded interval of the market (8 hours when it has funding
  rates), so every recorded candle stays on Binance's candle grid in server time; ``offset_ms``
  and ``period_ms`` are multiples of it.
- ``period_ms`` covers the whole recording (first to last candle, trade or book message),
  rounded up to ``align_ms``.
- ``history`` (0..1, the simulator's setting) says how much of the recording is already in the
  past when the replay starts at server time ``S``: the offset is the largest multiple of
  ``align_ms`` at or before ``S - (start + history * span)``, so the replay starts at that point
  of the recording or less than one ``align_ms`` after it. ``history=1`` (the default) serves the
  whole recording as history, every candle of it closed, and replays it again from its start.
- Nothing is served from the future: candles, trades, funding rates and mark prices stop at the
  replay clock (the current candle is served partial, as Binance does).

The offset is published: header ``X-TW-Replay-Offset-Ms`` (the offset now, in ms) on answers that
serve one symbol's recorded series (``klines``, ``markPriceKlines``, ``aggTrades``,
``fundingRate`` and the tickers with ``symbol``), and ``GET /tradewind/v1/replay`` lists every
market's timeline (see :mod:`.market_data`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

OFFSET_HEADER = "X-TW-Replay-Offset-Ms"
"""Response header carrying ``server time - recording time`` of the symbol asked about."""


def _ceil(value: int, unit: int) -> int:
    return -(-value // unit) * unit


@dataclass(frozen=True)
class Timeline:
    """One market's recording on the server clock (see the module docstring).

    ``start_ms`` and ``end_ms`` bound the recording (end exclusive), in recording time;
    ``offset_ms`` is the offset of pass 0; ``anchor_ms`` is the server time the replay started.
    """

    start_ms: int
    end_ms: int
    period_ms: int
    align_ms: int
    offset_ms: int
    anchor_ms: int

    @classmethod
    def anchored(
        cls, start_ms: int, end_ms: int, align_ms: int, anchor_ms: int, history: float
    ) -> Timeline:
        """Build the timeline of a recording ``[start_ms, end_ms)`` for a replay from ``anchor_ms``.

        Raises
        ------
        ValueError
            For ``history`` outside [0, 1] or an empty recording.
        """
        if not 0.0 <= history <= 1.0:
            raise ValueError(f"history must be within [0, 1], got {history}")
        if end_ms <= start_ms:
            raise ValueError("a timeline needs a recording that lasts")
        align = max(1, align_ms)
        period = _ceil(end_ms - start_ms, align)
        point = start_ms + round(history * (end_ms - start_ms))
        offset = (anchor_ms - point) // align * align
        return cls(start_ms, end_ms, period, align, offset, anchor_ms)

    def pass_at(self, server_ms: int) -> int:
        """Return the pass of the replay that server time ``server_ms`` falls in (>= 0)."""
        return max(0, (server_ms - self.offset_ms - self.start_ms) // self.period_ms)

    def offset_at(self, server_ms: int) -> int:
        """Return ``server time - recording time`` at ``server_ms``."""
        return self.offset_ms + self.pass_at(server_ms) * self.period_ms

    def to_recording(self, server_ms: int) -> int:
        """Return the recording time replayed at ``server_ms``."""
        return server_ms - self.offset_at(server_ms)

    def replay_offset(self, server_ms: int) -> int:
        """Return ``server_ms`` as milliseconds since the recording's start in pass 0.

        Replay sources number their steps this way (pass ``p`` adds ``p * period_ms``).
        """
        return server_ms - self.offset_ms - self.start_ms

    def served(
        self, keys: NDArray[np.int64], now_ms: int
    ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
        """Return a recorded series' times on the server clock, pass after pass, up to ``now_ms``.

        ``keys`` are sorted recording times; returns ``(server times, row in the recording,
        pass)``, all sorted by server time and ending at the last row at or before ``now_ms``.
        """
        passes = self.pass_at(now_ms) + 1
        n = len(keys)
        shifts = self.offset_ms + self.period_ms * np.arange(passes, dtype=np.int64)
        times = (keys[None, :] + shifts[:, None]).ravel()
        cut = int(np.searchsorted(times, now_ms, side="right"))
        rows = np.tile(np.arange(n, dtype=np.int64), passes)[:cut]
        laps = np.repeat(np.arange(passes, dtype=np.int64), n)[:cut]
        return times[:cut], rows, laps

    def json(self, now_ms: int) -> dict[str, int]:
        """Render the timeline as ``/tradewind/v1/replay`` publishes it."""
        return {
            "offsetMs": self.offset_at(now_ms),
            "pass": self.pass_at(now_ms),
            "recordingStart": self.start_ms,
            "recordingEnd": self.end_ms,
            "periodMs": self.period_ms,
            "alignMs": self.align_ms,
            "firstPassOffsetMs": self.offset_ms,
            "replayStartedAt": self.anchor_ms,
            "recordingNow": self.to_recording(now_ms),
        }
