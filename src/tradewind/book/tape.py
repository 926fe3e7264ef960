"""Trades and top-of-book quotes as arrays: the fast path for trade-flow analytics."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from tradewind.core.errors import DataError
from tradewind.core.records import Quote, Side, Trade

BUY = 1
SELL = -1


@dataclass(frozen=True, slots=True)
class TradeTape:
    """Public trades in time order.

    Attributes
    ----------
    symbol
        Instrument name.
    ts
        ``int64[n]`` trade time, UTC ms, non-decreasing.
    price, amount
        ``float64[n]`` price and base-unit size.
    side
        ``int8[n]`` aggressor side: +1 buy (lifted the ask), -1 sell (hit the bid).
    trade_id
        ``int64[n]`` exchange trade id, -1 where not numeric.
    """

    symbol: str
    ts: np.ndarray
    price: np.ndarray
    amount: np.ndarray
    side: np.ndarray
    trade_id: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.ts)
        for name in ("price", "amount", "side", "trade_id"):
            if len(getattr(self, name)) != n:
                raise DataError(
                    f"trade tape: {name} has {len(getattr(self, name))} rows, ts has {n}"
                )
        if n > 1 and np.any(np.diff(self.ts) < 0):
            first = int(np.flatnonzero(np.diff(self.ts) < 0)[0]) + 1
            raise DataError(f"trade tape {self.symbol}: timestamps go backwards at row {first}")
        if n and not np.all(np.isin(self.side, (BUY, SELL))):
            raise DataError(f"trade tape {self.symbol}: side must be +1 (buy) or -1 (sell)")
        if n and (np.any(~(self.price > 0)) or np.any(~(self.amount >= 0))):
            raise DataError(f"trade tape {self.symbol}: prices must be > 0 and amounts >= 0")

    def __len__(self) -> int:
        return len(self.ts)

    def head(self, n: int) -> TradeTape:
        """The first ``n`` trades (views)."""
        return TradeTape(
            self.symbol,
            self.ts[:n],
            self.price[:n],
            self.amount[:n],
            self.side[:n],
            self.trade_id[:n],
        )

    def until(self, ts_ms: int) -> TradeTape:
        """Trades strictly before ``ts_ms`` (views)."""
        return self.head(int(np.searchsorted(self.ts, ts_ms, side="left")))

    def trade(self, k: int) -> Trade:
        """Trade ``k`` as a core record (float values through their shortest repr)."""
        return Trade(
            ts=int(self.ts[k]),
            symbol=self.symbol,
            price=Decimal(repr(float(self.price[k]))),
            amount=Decimal(repr(float(self.amount[k]))),
            side=Side.BUY if self.side[k] == BUY else Side.SELL,
            trade_id=str(int(self.trade_id[k])) if self.trade_id[k] >= 0 else "",
        )

    def to_trades(self) -> Iterator[Trade]:
        """Yield core records (float values through their shortest repr)."""
        for k in range(len(self.ts)):
            yield self.trade(k)


@dataclass(frozen=True, slots=True)
class QuoteTape:
    """Best bid and ask over time (``int64`` ts in UTC ms, ``float64`` prices and sizes)."""

    symbol: str
    ts: np.ndarray
    bid: np.ndarray
    bid_size: np.ndarray
    ask: np.ndarray
    ask_size: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.ts)
        for name in ("bid", "bid_size", "ask", "ask_size"):
            if len(getattr(self, name)) != n:
                raise DataError(
                    f"quote tape: {name} has {len(getattr(self, name))} rows, ts has {n}"
                )
        if n > 1 and np.any(np.diff(self.ts) < 0):
            raise DataError(f"quote tape {self.symbol}: timestamps go backwards")

    def __len__(self) -> int:
        return len(self.ts)

    def to_quotes(self) -> Iterator[Quote]:
        """Yield core records."""
        for k in range(len(self.ts)):
            yield Quote(
                ts=int(self.ts[k]),
                symbol=self.symbol,
                bid=Decimal(repr(float(self.bid[k]))),
                bid_size=Decimal(repr(float(self.bid_size[k]))),
                ask=Decimal(repr(float(self.ask[k]))),
                ask_size=Decimal(repr(float(self.ask_size[k]))),
            )


def tape_from_trades(trades: list[Trade]) -> TradeTape:
    """Build a tape from core records (in the order given)."""
    return TradeTape(
        symbol=trades[0].symbol if trades else "",
        ts=np.array([t.ts for t in trades], dtype=np.int64),
        price=np.array([float(t.price) for t in trades], dtype=np.float64),
        amount=np.array([float(t.amount) for t in trades], dtype=np.float64),
        side=np.array([BUY if t.side is Side.BUY else SELL for t in trades], dtype=np.int8),
        trade_id=np.array(
            [int(t.trade_id) if t.trade_id.isdigit() else -1 for t in trades], dtype=np.int64
        ),
    )
