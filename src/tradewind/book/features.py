"""Per-bar features from a recorded book and trade stream, aligned to candle timestamps.

Row ``i`` describes the bar opening at ``ts[i]``; it is known at ``known_at[i] = ts[i] + timeframe``
and uses only data stamped before that moment: book state after the last message with
``ts < known_at`` (carried forward over bars with no message), and flows (OFI, volumes) summed over
messages and trades with ``open <= ts < known_at``. Dropping data after a bar's close never changes
that bar's row (the truncation test in the test suite checks this).

Columns (all ``float64[bars]`` except ``ts``/``known_at``):

- book state: ``mid``, ``spread_bps``, ``microprice``, ``weighted_mid``, ``imbalance``,
  ``depth_bid_{b}bps`` / ``depth_ask_{b}bps`` for each band, ``wall_bid_bps`` / ``wall_ask_bps``
  (distance of the nearest wall, NaN if none), ``wall_bid_size`` / ``wall_ask_size``;
- book flow: ``ofi`` (Cont-Kukanov-Stoikov, summed), ``book_updates``;
- trades: ``buy_volume``, ``sell_volume``, ``volume_delta``, ``cvd`` (running, from the first
  trade), ``trades``, ``vwap``, ``whale_trades``, ``whale_volume`` (causal percentile rule).
"""

from __future__ import annotations

import numpy as np

from tradewind.book.book import OrderBook, UpdateStatus
from tradewind.book.flow import large_trades, volume_per_bar
from tradewind.book.ofi import OfiTracker
from tradewind.book.prices import imbalance, microprice, weighted_mid
from tradewind.book.sequencing import Sequencer
from tradewind.book.stream import DecodedBookStream
from tradewind.book.tape import TradeTape
from tradewind.book.walls import WallParams, detect_walls
from tradewind.core.errors import UserError
from tradewind.core.records import BookSide
from tradewind.core.timeframe import Timeframe

BOOK_STATE = ("mid", "spread_bps", "microprice", "weighted_mid", "imbalance")


def _grid(
    timeframe: Timeframe, stamps: list[np.ndarray], start: int | None, end: int | None
) -> np.ndarray:
    present = [s for s in stamps if len(s)]
    if (start is None or end is None) and not present:
        raise UserError("bar_features: no book messages or trades, and no start/end given")
    lo = timeframe.floor(min(int(s[0]) for s in present) if start is None else start)
    hi = timeframe.floor(max(int(s[-1]) for s in present) if end is None else end)
    return np.arange(lo, hi + 1, timeframe.ms, dtype=np.int64)


def _record_state(
    book: OrderBook,
    cols: dict[str, np.ndarray],
    row: int,
    k: int,
    bands: tuple[float, ...],
    walls: WallParams,
) -> None:
    bid, ask = book.best_bid(), book.best_ask()
    top = book.top(k)
    cols["mid"][row] = 0.5 * (bid + ask)
    cols["spread_bps"][row] = (ask - bid) / (0.5 * (bid + ask)) * 1e4
    cols["microprice"][row] = float(
        microprice(bid, book.best_bid_size(), ask, book.best_ask_size())
    )
    cols["weighted_mid"][row] = float(weighted_mid(*top))
    cols["imbalance"][row] = float(imbalance(top.bid_sizes, top.ask_sizes))
    for band in bands:
        depth_bid, depth_ask = book.depth_within_bps(band)
        cols[f"depth_bid_{band:g}bps"][row] = depth_bid
        cols[f"depth_ask_{band:g}bps"][row] = depth_ask
    found = detect_walls(book, walls)
    for side, tag in ((BookSide.BID, "bid"), (BookSide.ASK, "ask")):
        mine = [w for w in found if w.side is side]
        if mine:
            nearest = min(mine, key=lambda w: w.distance_bps)
            cols[f"wall_{tag}_bps"][row] = nearest.distance_bps
            cols[f"wall_{tag}_size"][row] = nearest.size


def _book_columns(
    stream: DecodedBookStream,
    bars: np.ndarray,
    timeframe: Timeframe,
    sequencer: Sequencer | None,
    k: int,
    bands: tuple[float, ...],
    walls: WallParams,
) -> dict[str, np.ndarray]:
    nbar = len(bars)
    names = [*BOOK_STATE, "wall_bid_bps", "wall_ask_bps", "wall_bid_size", "wall_ask_size"]
    names += [f"depth_{s}_{b:g}bps" for b in bands for s in ("bid", "ask")]
    cols = {name: np.full(nbar, np.nan) for name in names}
    cols["ofi"] = np.zeros(nbar)
    cols["book_updates"] = np.zeros(nbar)
    book = OrderBook(stream.symbol, sequencer=sequencer)
    ofi = OfiTracker()
    m = stream.message_count
    first = int(bars[0]) if nbar else 0
    # the state at the close of the last bar before the grid, for bars that start without messages
    before = {name: np.full(1, np.nan) for name in names}
    for i in range(m):
        status = book.apply_message(stream, i)
        b = (int(stream.msg_ts[i]) - first) // timeframe.ms
        if book.needs_resync:
            ofi = OfiTracker()  # the chain of best levels is broken; restart after the resync
        elif status is UpdateStatus.APPLIED:
            e = ofi.update(
                book.best_bid(), book.best_bid_size(), book.best_ask(), book.best_ask_size()
            )
            if 0 <= b < nbar:
                cols["ofi"][b] += e
                cols["book_updates"][b] += 1
        # the state at a bar's close is the state after the bar's last message
        last_in_bar = i == m - 1 or (int(stream.msg_ts[i + 1]) - first) // timeframe.ms != b
        if not last_in_bar or b >= nbar:
            continue
        target, row = (cols, b) if b >= 0 else (before, 0)
        for name in names:
            target[name][row] = np.nan
        if not book.needs_resync:
            _record_state(book, target, row, k, bands, walls)
    # carry the state forward over bars without messages: the book did not change
    seen = np.zeros(nbar, dtype=np.bool_)
    if m:
        msg_bar = (stream.msg_ts - first) // timeframe.ms
        seen[msg_bar[(msg_bar >= 0) & (msg_bar < nbar)]] = True
    last_idx = np.maximum.accumulate(np.where(seen, np.arange(nbar), -1))
    for name in names:
        col = cols[name]
        carried = np.where(last_idx >= 0, col[np.maximum(last_idx, 0)], before[name][0])
        cols[name] = np.where(seen, col, carried)
    return cols


def bar_features(
    timeframe: Timeframe,
    *,
    book: DecodedBookStream | None = None,
    trades: TradeTape | None = None,
    sequencer: Sequencer | None = None,
    start: int | None = None,
    end: int | None = None,
    top_k: int = 5,
    depth_bands_bps: tuple[float, ...] = (10.0, 25.0, 50.0, 100.0),
    wall_params: WallParams | None = None,
    whale_percentile: float = 99.0,
    whale_window: int = 1000,
    whale_min_history: int = 100,
) -> dict[str, np.ndarray]:
    """Turn a recorded book stream and/or trade tape into causal per-bar features.

    Parameters
    ----------
    timeframe
        Bar length; bars sit on the epoch-aligned grid (as candles do).
    book, trades
        The recorded inputs; at least one is needed.
    sequencer
        Update-id rule for the book (none by default).
    start, end
        Timestamps whose bars are the first and last rows; default to the data's span.
    top_k
        Levels per side for the imbalance and the weighted mid.
    depth_bands_bps
        Bands for the depth columns.
    wall_params
        Wall detection parameters.
    whale_percentile, whale_window, whale_min_history
        Large-trade rule (see :func:`tradewind.book.flow.large_trades`); the first
        ``whale_min_history`` trades are its warm-up.

    Returns
    -------
    dict[str, numpy.ndarray]
        ``ts`` (bar open, ms), ``known_at`` (bar close, ms) and the columns listed in the module
        docstring; book columns are absent without a book, trade columns without trades. Rows
        before the first snapshot, or while the book awaits a resync, are NaN.
    """
    if book is None and trades is None:
        raise UserError("bar_features needs a book stream, a trade tape, or both")
    stamps = [x.msg_ts for x in (book,) if x is not None] + [
        t.ts for t in (trades,) if t is not None
    ]
    bars = _grid(timeframe, stamps, start, end)
    out: dict[str, np.ndarray] = {"ts": bars, "known_at": bars + timeframe.ms}
    if book is not None:
        out.update(
            _book_columns(
                book, bars, timeframe, sequencer, top_k, tuple(depth_bands_bps),
                wall_params if wall_params is not None else WallParams(),
            )
        )  # fmt: skip
    if trades is not None:
        volume = volume_per_bar(trades, timeframe, start=int(bars[0]), end=int(bars[-1]))
        out["buy_volume"] = volume.buy
        out["sell_volume"] = volume.sell
        out["volume_delta"] = volume.delta
        out["trades"] = volume.trades.astype(np.float64)
        out["vwap"] = volume.vwap
        # CVD counts trades before the first bar too: it is a running total up to each close
        signed = trades.side.astype(np.float64) * trades.amount
        cum = np.concatenate([[0.0], np.cumsum(signed)])
        out["cvd"] = cum[np.searchsorted(trades.ts, bars + timeframe.ms, side="left")]
        whales = large_trades(
            trades, percentile=whale_percentile, window=whale_window, min_history=whale_min_history
        )
        idx = (trades.ts - bars[0]) // timeframe.ms
        keep = (idx >= 0) & (idx < len(bars)) & whales.mask
        out["whale_trades"] = np.bincount(idx[keep], minlength=len(bars)).astype(np.float64)
        out["whale_volume"] = np.bincount(
            idx[keep], weights=trades.amount[keep], minlength=len(bars)
        )
    return out
