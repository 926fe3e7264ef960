"""Update-id rules that decide whether an exchange's book message may be applied.

Each exchange numbers its depth messages differently. A sequencer holds the ids of the last applied
message and answers, for the next one: apply it, drop it (an old or duplicate message, harmless), or
report a gap (a message was lost: the local book is no longer the exchange's and must be rebuilt
from a fresh snapshot). A sequencer never repairs a gap itself; the book reports it.

The rules follow the exchanges' documented procedures, as ccxt.pro implements them:

- Binance spot: after a snapshot with ``lastUpdateId`` L, drop events with ``u <= L``; the first
  applied event must have ``U <= L + 1 <= u``; every later one ``U == previous u + 1``.
- Binance USDT-M futures: drop events with ``u < L``; the first applied event must have
  ``U <= L <= u`` (or ``pu == L``); every later one ``pu == previous u``.
- Bybit v5: a ``snapshot`` message replaces the book whatever its ids; each ``delta`` must carry
  ``u == previous u + 1``; a ``u`` at or below the last applied one is a replay and is dropped.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from enum import Enum

from tradewind.core.errors import UserError


class Verdict(Enum):
    """What to do with one incoming message."""

    APPLY = "apply"
    DROP = "drop"
    GAP = "gap"


class Sequencer(ABC):
    """Continuity rule of one exchange's depth stream.

    ``needs_first_and_prev_ids`` tells whether the rule reads the first id (Binance ``U``) or the
    previous id (``pu``) of a message as well as its last id; record-by-record input
    (:class:`tradewind.core.records.BookDelta`) carries only the last one.
    """

    name: str = "sequencer"
    needs_first_and_prev_ids: bool = False

    def __init__(self) -> None:
        self.has_snapshot = False

    def reset(self) -> None:
        """Forget everything: the next message must be a snapshot."""
        self.has_snapshot = False

    def on_snapshot(self, last_id: int) -> None:
        """Record that a snapshot with update id ``last_id`` has replaced the book."""
        self.has_snapshot = True

    @abstractmethod
    def check(self, first_id: int, last_id: int, prev_id: int) -> tuple[Verdict, str]:
        """Judge a delta message; on APPLY the sequencer advances to it.

        Parameters
        ----------
        first_id, last_id
            First and last update id the message covers (Binance ``U`` and ``u``; Bybit sends one
            id, passed as both).
        prev_id
            The previous message's last id as the exchange states it (Binance USDT-M ``pu``), or -1.

        Returns
        -------
        tuple[Verdict, str]
            The verdict and, for DROP and GAP, a sentence naming the ids involved.
        """


class UnsequencedSequencer(Sequencer):
    """Accept every message: for sources without usable ids (tardis CSV, recorded snapshots)."""

    name = "unsequenced"

    def check(self, first_id: int, last_id: int, prev_id: int) -> tuple[Verdict, str]:
        """Apply every message once a snapshot exists."""
        if not self.has_snapshot:
            return Verdict.GAP, "no snapshot yet"
        return Verdict.APPLY, ""


class BybitSequencer(Sequencer):
    """Bybit v5 ``orderbook.N`` rule: consecutive ``u`` after a snapshot, snapshots reset."""

    name = "bybit"

    def __init__(self) -> None:
        super().__init__()
        self.last_id = -1

    def on_snapshot(self, last_id: int) -> None:
        """Restart the count from the snapshot's ``u``."""
        super().on_snapshot(last_id)
        self.last_id = last_id

    def check(self, first_id: int, last_id: int, prev_id: int) -> tuple[Verdict, str]:
        """Apply ``u == last + 1``, drop ``u <= last``, report a gap otherwise."""
        if not self.has_snapshot:
            return Verdict.GAP, "no snapshot yet"
        if last_id <= self.last_id:
            return Verdict.DROP, f"stale delta u={last_id}, last applied u={self.last_id}"
        if last_id != self.last_id + 1:
            return Verdict.GAP, f"gap: expected u={self.last_id + 1}, got u={last_id}"
        self.last_id = last_id
        return Verdict.APPLY, ""


class BinanceSpotSequencer(Sequencer):
    """Binance spot diff-depth rule (``U``/``u`` against the snapshot's ``lastUpdateId``)."""

    name = "binance-spot"
    needs_first_and_prev_ids = True

    def __init__(self) -> None:
        super().__init__()
        self.snapshot_id = -1
        self.last_id: int | None = None

    def on_snapshot(self, last_id: int) -> None:
        """Remember ``lastUpdateId``; the next applied event must straddle it."""
        super().on_snapshot(last_id)
        self.snapshot_id = last_id
        self.last_id = None

    def check(self, first_id: int, last_id: int, prev_id: int) -> tuple[Verdict, str]:
        """Apply the bridging event and then only ``U == previous u + 1``."""
        if not self.has_snapshot:
            return Verdict.GAP, "no snapshot yet"
        if self.last_id is None:
            if last_id <= self.snapshot_id:
                return Verdict.DROP, f"event u={last_id} is older than snapshot {self.snapshot_id}"
            if not first_id <= self.snapshot_id + 1 <= last_id:
                return Verdict.GAP, (
                    f"gap: first event after snapshot {self.snapshot_id} covers "
                    f"U={first_id}..u={last_id}, which does not contain {self.snapshot_id + 1}"
                )
        elif last_id <= self.last_id:
            return Verdict.DROP, f"stale event u={last_id}, last applied u={self.last_id}"
        elif first_id != self.last_id + 1:
            return Verdict.GAP, f"gap: expected U={self.last_id + 1}, got U={first_id}"
        self.last_id = last_id
        return Verdict.APPLY, ""


class BinanceFuturesSequencer(Sequencer):
    """Binance USDT-M futures diff-depth rule (``pu`` chains each event to the previous one)."""

    name = "binance-futures"
    needs_first_and_prev_ids = True

    def __init__(self) -> None:
        super().__init__()
        self.snapshot_id = -1
        self.last_id: int | None = None

    def on_snapshot(self, last_id: int) -> None:
        """Remember ``lastUpdateId``; the next applied event must cover it."""
        super().on_snapshot(last_id)
        self.snapshot_id = last_id
        self.last_id = None

    def check(self, first_id: int, last_id: int, prev_id: int) -> tuple[Verdict, str]:
        """Apply the bridging event and then only ``pu == previous u``."""
        if not self.has_snapshot:
            return Verdict.GAP, "no snapshot yet"
        if self.last_id is None:
            if last_id < self.snapshot_id:
                return Verdict.DROP, f"event u={last_id} is older than snapshot {self.snapshot_id}"
            if not (first_id <= self.snapshot_id <= last_id or prev_id == self.snapshot_id):
                return Verdict.GAP, (
                    f"gap: first event after snapshot {self.snapshot_id} covers "
                    f"U={first_id}..u={last_id} with pu={prev_id}"
                )
        elif last_id <= self.last_id:
            return Verdict.DROP, f"stale event u={last_id}, last applied u={self.last_id}"
        elif prev_id != self.last_id:
            return Verdict.GAP, f"gap: expected pu={self.last_id}, got pu={prev_id}"
        self.last_id = last_id
        return Verdict.APPLY, ""


def sequencer_for(exchange: str) -> Sequencer:
    """Return a fresh sequencer by name: ``bybit``, ``binance-spot``, ``binance-futures``, ``none``.

    Raises
    ------
    UserError
        If the name is not one of those.
    """
    makers: dict[str, type[Sequencer]] = {
        "bybit": BybitSequencer,
        "binance-spot": BinanceSpotSequencer,
        "binance-futures": BinanceFuturesSequencer,
        "none": UnsequencedSequencer,
    }
    try:
        return makers[exchange]()
    except KeyError:
        raise UserError(
            f"unknown book sequencing rule {exchange!r}; choose one of {', '.join(makers)}"
        ) from None
