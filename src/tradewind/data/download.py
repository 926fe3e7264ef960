"""Download exchange history into the catalog, resuming where the stored series ends.

:func:`download` walks ``[since, until)`` through :class:`~tradewind.connectors.history.
HistoryFetcher` and appends every page to the catalog as it arrives, so an interrupted download
keeps what it got and the next run fetches only the rest:

- candles and mark candles resume one bar after the last stored open time;
- funding rates 1 ms after the last stored event;
- trades at the last stored millisecond, skipping ids already stored (several trades can share a
  millisecond, and a page may have ended between them).

Pages are buffered and written together every :data:`FLUSH_ROWS` rows or :data:`FLUSH_SECONDS`
seconds, and always when the download ends, fails or is interrupted (Ctrl-C): appending page by
page would rewrite the whole stored file for every 1,000 rows, quadratic in the series' length.
Only a killed process can lose the unwritten buffer, at most a few seconds of work.

Each page is validated with the rules of its kind before it is stored (:mod:`tradewind.data.
validate`); a page with errors stops the download with a :class:`DataError` naming the row, and
nothing of that page is written. Gaps are warnings, counted in the summary. The market's metadata
(tick and lot steps, limits, fees, fee side, contract terms) is stored from the exchange's own
market description.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from tradewind.connectors.client import create_client, secrets_of
from tradewind.connectors.config import ExchangeConfig
from tradewind.connectors.history import HistoryFetcher, RetryPolicy
from tradewind.core.errors import DataError, UserError
from tradewind.core.timeframe import Timeframe
from tradewind.data.catalog import Catalog, SeriesKey
from tradewind.data.kinds import DataKind
from tradewind.data.meta import MarketMeta, VolumeUnit
from tradewind.data.validate import validate

_log = logging.getLogger(__name__)

FLUSH_ROWS = 50_000
"""Buffered rows that trigger a write to the catalog."""
FLUSH_SECONDS = 5.0
"""Seconds after which buffered rows are written even if fewer than :data:`FLUSH_ROWS`."""

DEFAULT_FUNDING_TIMEFRAME = "8h"
"""Funding interval assumed when none is given (Binance's for most perpetuals)."""


@dataclass(frozen=True)
class DownloadProgress:
    """Where a running download stands, handed to the ``progress`` callback after each page."""

    start_ms: int
    end_ms: int
    reached_ms: int
    """The latest timestamp stored so far."""
    rows: int
    pages: int
    retries: int


@dataclass(frozen=True)
class DownloadSummary:
    """What one :func:`download` call did.

    ``first``/``last`` are the dates of the rows added by this call (None if none were);
    ``resumed_from`` is the stored series' last date when the call resumed one.
    """

    key: SeriesKey
    rows_added: int
    first: pd.Timestamp | None
    last: pd.Timestamp | None
    pages: int
    calls: int
    retries: int
    waited_s: float
    gaps: int
    resumed_from: pd.Timestamp | None
    total_rows: int


def download(
    catalog: Catalog,
    exchange_cfg: ExchangeConfig,
    symbol: str,
    timeframe: str | None,
    kind: DataKind,
    since: datetime,
    until: datetime | None = None,
    *,
    progress: Callable[[DownloadProgress], None] | None = None,
    fetcher: HistoryFetcher | None = None,
) -> DownloadSummary:
    """Download one series into ``catalog`` and return what was added.

    Parameters
    ----------
    catalog
        Where the series is stored (appended to, if it exists).
    exchange_cfg
        The exchange to ask: name, credentials, URL overrides, timeout and retry settings.
    symbol
        ccxt symbol: ``BTC/USDT`` (spot) or ``XRP/USDT:USDT`` (USDT-margined perpetual).
    timeframe
        Candle timeframe (``1m``, ``1h``...); for funding rates the funding interval (``8h`` when
        None); must be None for trades.
    kind
        Candles, mark-price candles, funding rates or trades.
    since, until
        The range, ``until`` exclusive (now when None); naive datetimes are UTC. A stored series
        is resumed after its last row when that is later than ``since``.
    progress
        Called after each validated page.
    fetcher
        A ready fetcher (tests); built from ``exchange_cfg`` when None.

    Returns
    -------
    DownloadSummary
        Rows added, their first and last dates, pages, ccxt calls, retries and gap count.

    Raises
    ------
    UserError
        For a bad symbol, credentials, kind/timeframe combination or range.
    DataError
        If a page breaks its kind's rules (nothing of that page is stored).
    RetriesExhaustedError
        When the exchange keeps failing; pages stored before stay stored.
    """
    if kind is DataKind.BOOK_DELTAS:
        raise UserError("order-book deltas cannot be downloaded as history; record them live")
    if kind is DataKind.TRADES:
        if timeframe is not None:
            raise UserError("trades have no timeframe: leave --timeframe out for --kind trades")
    elif kind is DataKind.FUNDING:
        timeframe = timeframe or DEFAULT_FUNDING_TIMEFRAME
    elif timeframe is None:
        raise UserError(f"{kind.value} need a timeframe, such as 1m or 1h")
    key = SeriesKey(exchange_cfg.name, symbol, timeframe, kind)
    start_ms, end_ms = _ms(since), None if until is None else _ms(until)
    if end_ms is not None and end_ms <= start_ms:
        raise UserError(f"--until ({until}) must be after --since ({since})")
    if fetcher is None:
        fetcher = HistoryFetcher(
            create_client(exchange_cfg),
            policy=RetryPolicy.from_config(exchange_cfg),
            secrets=secrets_of(exchange_cfg),
        )
    instrument = fetcher.instrument(symbol)
    if kind in (DataKind.MARK, DataKind.FUNDING) and instrument.is_spot:
        raise UserError(
            f"{symbol} is a spot market: {kind.value} exist only for perpetual contracts "
            "(use a symbol such as XRP/USDT:USDT)"
        )
    meta = MarketMeta.downloaded(
        instrument, exchange=exchange_cfg.name, volume_unit=VolumeUnit.BASE
    )
    run = _Run(catalog, key, meta, start_ms, end_ms, progress, fetcher)
    return run.go()


class _Run:
    """One download: resume point, page loop, validation and storing."""

    def __init__(
        self,
        catalog: Catalog,
        key: SeriesKey,
        meta: MarketMeta,
        start_ms: int,
        end_ms: int | None,
        progress: Callable[[DownloadProgress], None] | None,
        fetcher: HistoryFetcher,
    ) -> None:
        self.catalog, self.key, self.meta = catalog, key, meta
        self.start_ms, self.end_ms = start_ms, end_ms
        self.progress, self.fetcher = progress, fetcher
        self.tf = key.tf
        self.rows = self.pages = self.gaps = 0
        self.first: pd.Timestamp | None = None
        self.last: pd.Timestamp | None = None
        self.buffer: list[pd.DataFrame] = []
        self.buffered_rows = 0
        self.flushed_at = time.monotonic()

    def go(self) -> DownloadSummary:
        stored_last = self.catalog.last_timestamp(self.key)
        since, after_id = self._resume_point(stored_last)
        self.prev_ms = None if stored_last is None else _ms(stored_last)
        end_for_progress = self.end_ms or int(self.fetcher.client.milliseconds())
        self.progress_end = end_for_progress
        self.progress_start = since
        if self.end_ms is None or since < self.end_ms:
            try:
                for page in self._pages(since, after_id):
                    self._accept(page)
            finally:
                # Keep every validated page, however the loop ended.
                self._flush()
        if self.pages == 0 and not self.catalog.exists(self.key):
            _log.info("%s: the exchange has no rows in the range", self.key)
        elif self.pages == 0:
            # Keep the metadata current even when there was nothing new to add.
            self.meta.save(self.catalog.meta_path(self.key))
        stats = self.fetcher.stats
        total = self.catalog.row_count(self.key) if self.catalog.exists(self.key) else 0
        return DownloadSummary(
            key=self.key,
            rows_added=self.rows,
            first=self.first,
            last=self.last,
            pages=self.pages,
            calls=stats.calls,
            retries=stats.retries,
            waited_s=stats.waited_s,
            gaps=self.gaps,
            resumed_from=stored_last if stored_last is not None and since > self.start_ms else None,
            total_rows=total,
        )

    def _resume_point(self, stored_last: pd.Timestamp | None) -> tuple[int, int | None]:
        if stored_last is None:
            return self.start_ms, None
        last_ms = _ms(stored_last)
        if self.key.kind is DataKind.TRADES:
            if last_ms < self.start_ms:
                return self.start_ms, None
            tail = self.catalog.read(self.key, start=stored_last)
            ids = pd.to_numeric(tail["id"], errors="coerce")
            return last_ms, int(ids.max()) if ids.notna().any() else None
        step = self.tf.ms if self.tf is not None and self.key.kind.is_candles else 1
        return max(self.start_ms, last_ms + step), None

    def _pages(self, since: int, after_id: int | None) -> Iterator[pd.DataFrame]:
        f, key = self.fetcher, self.key
        if key.kind is DataKind.CANDLES or key.kind is DataKind.MARK:
            return f.iter_candles(
                key.symbol, str(key.timeframe), since, self.end_ms, mark=key.kind is DataKind.MARK
            )
        if key.kind is DataKind.FUNDING:
            return f.iter_funding_rates(key.symbol, since, self.end_ms)
        return f.iter_trades(key.symbol, since, self.end_ms, after_id=after_id)

    def _accept(self, page: pd.DataFrame) -> None:
        dates = page["date"].to_numpy(dtype="datetime64[ms]").view(np.int64)
        what = f"{self.key}, page {self.pages + 1} from {page['date'].iloc[0]}"
        report = validate(page, self.key.kind, _grid(self.key, self.tf))
        report.raise_for_errors(what)
        if self.prev_ms is not None:
            self._check_boundary(int(dates[0]), what)
        self.gaps += report.gap_count
        self.buffer.append(page)
        self.buffered_rows += len(page)
        if self.buffered_rows >= FLUSH_ROWS or time.monotonic() - self.flushed_at >= FLUSH_SECONDS:
            self._flush()
        self.pages += 1
        self.rows += len(page)
        self.first = self.first if self.first is not None else page["date"].iloc[0]
        self.last = page["date"].iloc[-1]
        self.prev_ms = int(dates[-1])
        if self.progress is not None:
            self.progress(
                DownloadProgress(
                    start_ms=self.progress_start,
                    end_ms=self.progress_end,
                    reached_ms=self.prev_ms,
                    rows=self.rows,
                    pages=self.pages,
                    retries=self.fetcher.stats.retries,
                )
            )

    def _flush(self) -> None:
        if self.buffer:
            frame = pd.concat(self.buffer, ignore_index=True)
            self.catalog.write(self.key, frame, meta=self.meta, mode="append")
            self.buffer.clear()
            self.buffered_rows = 0
        self.flushed_at = time.monotonic()

    def _check_boundary(self, first_ms: int, what: str) -> None:
        prev = self.prev_ms if self.prev_ms is not None else first_ms - 1
        if self.key.kind is DataKind.TRADES:
            if first_ms < prev:
                raise DataError(f"{what}: row 0 goes back in time before the stored rows")
            return
        if first_ms <= prev:
            raise DataError(f"{what}: row 0 is not after the last stored row ({_stamp(prev)})")
        if self.tf is not None and self.key.kind.is_candles and first_ms - prev > self.tf.ms:
            self.gaps += 1


def _grid(key: SeriesKey, tf: Timeframe | None) -> Timeframe | None:
    return tf if key.kind.has_timeframe else None


def _ms(moment: datetime | pd.Timestamp) -> int:
    stamp = pd.Timestamp(moment)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return int(stamp.value // 1_000_000)


def _stamp(ms: int) -> pd.Timestamp:
    return pd.Timestamp(ms, unit="ms", tz="UTC")
