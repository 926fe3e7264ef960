"""Paginated history through ccxt: candles, mark-price candles, funding rates and public trades.

:class:`HistoryFetcher` wraps one synchronous ccxt client. Each ``iter_*`` method walks a time range
``[since, until)`` page by page and yields one pandas frame per page, in the catalog's layout:

- candles and mark candles: ``date`` (open time, ``datetime64[ms, UTC]``), ``open high low close
  volume`` (float64). Mark candles have no volume: Binance sends ``"0"`` in an ignored field, stored
  as NaN so nobody mistakes it for a traded volume;
- funding rates: ``date`` (the exchange's ``fundingTime``, kept as stamped) and ``rate``;
- trades: ``date``, ``id`` (text), ``price``, ``amount``, ``side`` (``buy``/``sell``, the
  aggressor), ``cost``.

Paging. ``until`` is exclusive. Candle and funding pages start at a cursor and ask for the
exchange's maximum page (1000 on Binance); the next cursor is one bar (or 1 ms) after the last row.
A page shorter than asked means the range is exhausted (Binance's semantics), so a finished
download costs no extra empty request. Only closed candles are yielded: a candle whose open time
plus its timeframe lies after the exchange's clock (``fetch_time``, the client's clock where the
exchange has none) is still forming and is left for the next run. The exchange's clock decides,
not the client's: a client clock that runs ahead would take a forming candle for a closed one.
Trades are found by time (Binance allows at most one hour per window) and then followed by trade
id (``fromId``), which cannot skip or repeat a trade even when many share a millisecond.

Retries. Every request goes through :meth:`HistoryFetcher.call`: a transient error
(:func:`~tradewind.connectors.errors.classify`) is retried up to ``max_retries`` times after
``retry_base_delay_s * 2**attempt`` seconds (capped at ``max_delay_s``), or after the server's
``Retry-After`` when that is longer; a user error becomes a one-line ``UserError``; anything else
passes through. No secret reaches a log line or message.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import ccxt
import numpy as np
import pandas as pd

from tradewind.connectors.config import ExchangeConfig
from tradewind.connectors.errors import (
    ErrorClass,
    RetriesExhaustedError,
    classify,
    redact,
    retry_after_s,
    user_error,
)
from tradewind.connectors.instruments import PrecisionMode, instrument_from_ccxt
from tradewind.core.errors import UserError
from tradewind.core.instrument import Instrument
from tradewind.core.timeframe import Timeframe

_log = logging.getLogger(__name__)

T = TypeVar("T")

_BINANCE_PAGE = 1000
_TRADE_WINDOW_MS = 3_600_000
_CANDLE_COLUMNS = ("open", "high", "low", "close", "volume")


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """How often and how patiently to retry a transient failure.

    Parameters
    ----------
    max_retries
        Retries after the first attempt (0: fail at once).
    base_delay_s
        Wait before the first retry; doubled for each further one.
    max_delay_s
        Cap of the exponential wait (a server's ``Retry-After`` is honoured even when longer:
        Binance bans clients that come back early).
    """

    max_retries: int = 5
    base_delay_s: float = 0.5
    max_delay_s: float = 60.0

    @classmethod
    def from_config(cls, cfg: ExchangeConfig) -> RetryPolicy:
        """Take ``max_retries`` and ``retry_base_delay_s`` from the exchange config."""
        return cls(max_retries=cfg.max_retries, base_delay_s=cfg.retry_base_delay_s)

    def delay_s(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before retry number ``attempt`` (0-based)."""
        backoff = min(self.base_delay_s * float(2**attempt), self.max_delay_s)
        return float(max(backoff, retry_after or 0.0))


@dataclass
class FetchStats:
    """What a fetcher did: ccxt calls (one may send several requests), retries, waiting, errors."""

    calls: int = 0
    retries: int = 0
    waited_s: float = 0.0
    retried_errors: list[str] = field(default_factory=list)


class HistoryFetcher:
    """Paginated, retrying history downloads through one synchronous ccxt client.

    Parameters
    ----------
    client
        A ``ccxt.Exchange`` (see :func:`~tradewind.connectors.client.create_client`).
    policy
        Retry policy.
    secrets
        Strings that must never appear in a log line or message (the API key and secret).
    sleep
        Waits between retries (``time.sleep``; tests may record instead).
    """

    def __init__(
        self,
        client: Any,
        *,
        policy: RetryPolicy | None = None,
        secrets: Iterable[str] = (),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.policy = policy or RetryPolicy()
        self.stats = FetchStats()
        self._secrets = [s for s in secrets if s]
        self._sleep = sleep
        self._page = _BINANCE_PAGE if getattr(client, "id", "") == "binance" else None

    @property
    def exchange(self) -> str:
        """The ccxt id of the exchange (``binance``)."""
        return str(getattr(self.client, "id", "exchange"))

    def call(self, method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call a ccxt method, retrying transient errors (module docstring).

        Raises
        ------
        UserError
            For a symbol, credential or parameter the exchange refuses.
        RetriesExhaustedError
            When a transient error outlasts ``max_retries``.
        """
        attempt = 0
        while True:
            self.stats.calls += 1
            try:
                return method(*args, **kwargs)
            except Exception as exc:
                kind = classify(exc)
                if kind is ErrorClass.USER:
                    raise user_error(exc, exchange=self.exchange, secrets=self._secrets) from None
                if kind is not ErrorClass.RETRYABLE:
                    raise
                text = redact(" ".join(str(exc).split()), self._secrets)
                label = f"{type(exc).__name__}: {text}"
                if attempt >= self.policy.max_retries:
                    raise RetriesExhaustedError(
                        f"{self.exchange} still failing after {attempt + 1} attempts: {label}",
                        attempts=attempt + 1,
                        last=exc,
                    ) from None
                wait = self.policy.delay_s(attempt, retry_after_s(self.client))
                _log.warning("retry %d in %.3f s after %s", attempt + 1, wait, label)
                self.stats.retries += 1
                self.stats.retried_errors.append(type(exc).__name__)
                self.stats.waited_s += wait
                self._sleep(wait)
                attempt += 1

    def market(self, symbol: str) -> dict[str, Any]:
        """Load the markets (once) and return ccxt's market dict for ``symbol``.

        Raises
        ------
        UserError
            If the exchange has no such market.
        """
        if not getattr(self.client, "markets", None):
            self.call(self.client.load_markets)
        try:
            market: dict[str, Any] = self.client.market(symbol)
        except Exception as exc:
            if classify(exc) is ErrorClass.USER:
                raise user_error(exc, exchange=self.exchange, secrets=self._secrets) from None
            raise
        return market

    def instrument(self, symbol: str) -> Instrument:
        """Return the :class:`Instrument` of ``symbol`` as the exchange describes it.

        Tick and lot steps, limits, maker/taker fees, fee side and contract terms come from
        ccxt's market dict (``exchange.market(symbol)``).

        Raises
        ------
        UserError
            If the exchange has no such market.
        """
        market = self.market(symbol)
        mode = (
            PrecisionMode.TICK_SIZE
            if getattr(self.client, "precisionMode", None) == ccxt.TICK_SIZE
            else PrecisionMode.DECIMAL_PLACES
        )
        return instrument_from_ccxt(market, exchange=self.exchange, precision_mode=mode)

    def server_ms(self) -> int:
        """Return the exchange's clock in ms (``fetch_time``), or the client's if it has none."""
        if self.client.has.get("fetchTime"):
            return int(self.call(self.client.fetch_time))
        return int(self.client.milliseconds())

    def iter_candles(
        self,
        symbol: str,
        timeframe: str,
        since_ms: int,
        until_ms: int | None = None,
        *,
        mark: bool = False,
    ) -> Iterator[pd.DataFrame]:
        """Yield closed candles (or mark-price candles) with ``since <= open < until``, per page.

        Parameters
        ----------
        symbol
            ccxt symbol (``BTC/USDT``, ``XRP/USDT:USDT``).
        timeframe
            ccxt timeframe (``1m``, ``1h``...).
        since_ms, until_ms
            Range of open times in ms; ``until`` exclusive, the exchange's clock when None.
        mark
            Mark-price candles (``params={'price': 'mark'}``) instead of traded ones.
        """
        step = Timeframe.parse(timeframe).ms
        now = self.server_ms()
        # Only candles closed by the exchange's clock: open + step <= now.
        end = min(until_ms if until_ms is not None else now, now - step + 1)
        cursor = since_ms
        params: dict[str, Any] = {"price": "mark"} if mark else {}
        while cursor < end:
            rows = self.call(
                self.client.fetch_ohlcv,
                symbol,
                timeframe,
                cursor,
                self._page,
                {**params, "until": end - 1},
            )
            page = _candle_frame([r for r in rows if cursor <= r[0] < end], mark=mark)
            if len(page):
                yield page
            if not rows or self._short(rows):
                return
            last = int(rows[-1][0])
            if last + step <= cursor:
                return
            cursor = last + step

    def iter_funding_rates(
        self, symbol: str, since_ms: int, until_ms: int | None = None
    ) -> Iterator[pd.DataFrame]:
        """Yield funding events with ``since <= fundingTime < until``, per page."""
        end = until_ms if until_ms is not None else int(self.client.milliseconds()) + 1
        cursor = since_ms
        while cursor < end:
            rows = self.call(
                self.client.fetch_funding_rate_history,
                symbol,
                cursor,
                self._page,
                {"until": end - 1},
            )
            kept = [r for r in rows if cursor <= (r.get("timestamp") or -1) < end]
            if kept:
                yield pd.DataFrame(
                    {
                        "date": _dates([r["timestamp"] for r in kept]),
                        "rate": np.array([r["fundingRate"] for r in kept], dtype=np.float64),
                    }
                )
            if not rows or self._short(rows):
                return
            last = max(int(r.get("timestamp") or -1) for r in rows)
            if last < cursor:
                return
            cursor = last + 1

    def iter_trades(
        self,
        symbol: str,
        since_ms: int,
        until_ms: int | None = None,
        *,
        after_id: int | None = None,
    ) -> Iterator[pd.DataFrame]:
        """Yield public trades with ``since <= time < until``, per page, oldest first.

        ``after_id`` skips trades up to that id (a resumed download that stopped in the middle of
        a millisecond). Binance only: it pages by aggregate-trade id after the first window.
        """
        end = until_ms if until_ms is not None else int(self.client.milliseconds()) + 1
        cursor = since_ms
        rows: list[dict[str, Any]] = []
        # Find the first trade: one-hour windows forward until one has trades. A range that
        # starts before the market's history would walk empty hours for years, so after the
        # first empty window ask once for the market's oldest trade and jump to it.
        probed = False
        while cursor < end and not rows:
            window_end = min(cursor + _TRADE_WINDOW_MS, end)
            rows = self.call(
                self.client.fetch_trades, symbol, cursor, self._page, {"until": window_end - 1}
            )
            rows = [r for r in rows if after_id is None or int(r["id"]) > after_id]
            if rows:
                break
            cursor = window_end
            if not probed:
                probed = True
                oldest = self.call(self.client.fetch_trades, symbol, None, 1, {"fromId": 0})
                if not oldest:
                    return
                cursor = max(cursor, int(oldest[0]["timestamp"]))
        # Then follow the ids: a short first page only ends its window, a short fromId page
        # ends the exchange's history.
        by_id = False
        while rows:
            kept = [r for r in rows if since_ms <= r["timestamp"] < end]
            if kept:
                yield _trade_frame(kept)
            if len(kept) < len(rows) or (by_id and self._short(rows)):
                return
            by_id = True
            next_id = int(rows[-1]["id"]) + 1
            params = {"fromId": next_id}
            rows = self.call(self.client.fetch_trades, symbol, None, self._page, params)

    def _short(self, rows: list[Any]) -> bool:
        return self._page is not None and len(rows) < self._page


def _dates(ms: Iterable[int]) -> pd.Series:
    values = np.fromiter((int(v) for v in ms), dtype=np.int64)
    return pd.Series(pd.to_datetime(values, unit="ms", utc=True)).astype("datetime64[ms, UTC]")


def _candle_frame(rows: list[list[Any]], *, mark: bool) -> pd.DataFrame:
    # One conversion for the whole page; a missing value (None) becomes NaN.
    values = np.array([r[:6] for r in rows], dtype=np.float64).reshape(len(rows), 6)
    data: dict[str, Any] = {"date": _dates(values[:, 0].astype(np.int64))}
    for i, name in enumerate(_CANDLE_COLUMNS, start=1):
        data[name] = values[:, i]
    if mark:
        # Binance's mark klines put "0" in an ignored volume field: there is no mark volume.
        data["volume"] = np.full(len(rows), np.nan)
    return pd.DataFrame(data)


def _trade_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    for r in rows:
        if r.get("side") not in ("buy", "sell"):
            raise UserError(f"trade {r.get('id')} has no aggressor side (got {r.get('side')!r})")
    return pd.DataFrame(
        {
            "date": _dates(r["timestamp"] for r in rows),
            "id": pd.Series([str(r["id"]) for r in rows], dtype="str"),
            "price": np.array([r["price"] for r in rows], dtype=np.float64),
            "amount": np.array([r["amount"] for r in rows], dtype=np.float64),
            "side": pd.Series([r["side"] for r in rows], dtype="str"),
            "cost": np.array(
                [np.nan if r.get("cost") is None else r["cost"] for r in rows], dtype=np.float64
            ),
        }
    )
