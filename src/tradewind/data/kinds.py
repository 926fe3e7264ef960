"""The kinds of market data the catalog stores, and the columns each kind has.

Every stored frame has a ``date`` column (``datetime64[ms, UTC]``): the candle's OPEN time for
candle kinds, the event time for funding rates, trades and book deltas. The other columns depend on
the kind (see :data:`COLUMNS`).
"""

from __future__ import annotations

from enum import StrEnum

from tradewind.core.errors import UserError


class DataKind(StrEnum):
    """What a stored series holds."""

    CANDLES = "candles"
    """Traded OHLCV candles (spot or contract)."""
    MARK = "mark"
    """Mark-price candles; the volume may be missing (NaN)."""
    FUNDING = "funding_rate"
    """Funding-rate events: one ``rate`` per funding time; rates may be negative."""
    TRADES = "trades"
    """Public trades: ``id, price, amount, side`` (aggressor), optionally ``cost``."""
    BOOK_DELTAS = "book_deltas"
    """L2 order-book level changes: ``side, price, size, sequence, is_snapshot``."""

    @property
    def is_candles(self) -> bool:
        """True for the OHLCV kinds (traded and mark-price candles)."""
        return self in (DataKind.CANDLES, DataKind.MARK)

    @property
    def has_timeframe(self) -> bool:
        """True for the kinds stored per timeframe (candles, mark, funding)."""
        return self in (DataKind.CANDLES, DataKind.MARK, DataKind.FUNDING)


DATE = "date"
OHLCV = ("open", "high", "low", "close", "volume")

COLUMNS: dict[DataKind, tuple[str, ...]] = {
    DataKind.CANDLES: (DATE, *OHLCV),
    DataKind.MARK: (DATE, *OHLCV),
    DataKind.FUNDING: (DATE, "rate"),
    DataKind.TRADES: (DATE, "id", "price", "amount", "side"),
    DataKind.BOOK_DELTAS: (DATE, "side", "price", "size", "sequence", "is_snapshot"),
}
"""Required columns per kind, in storage order."""

RECEIVED = "received_ms"
"""Optional column of live recordings: this machine's clock (UTC ms) when the row arrived; the
``date`` is the exchange's time."""

OPTIONAL_COLUMNS: dict[DataKind, tuple[str, ...]] = {
    DataKind.CANDLES: (RECEIVED,),
    DataKind.MARK: (RECEIVED,),
    DataKind.FUNDING: (RECEIVED,),
    DataKind.TRADES: ("cost", RECEIVED),
    DataKind.BOOK_DELTAS: (RECEIVED,),
}
"""Columns a kind may carry in addition to the required ones."""


def parse_kind(text: str) -> DataKind:
    """Parse a kind name (``candles``, ``mark``, ``funding_rate`` or ``funding``, ``trades``...).

    Raises
    ------
    UserError
        If the name is not a known kind.
    """
    cleaned = text.strip().lower()
    if cleaned == "funding":
        cleaned = DataKind.FUNDING.value
    try:
        return DataKind(cleaned)
    except ValueError:
        names = ", ".join(k.value for k in DataKind)
        raise UserError(f"unknown data kind {text!r}: expected one of {names}") from None
