"""Request weight and order-count limits, reported and enforced as Binance does.

Every REST answer carries ``X-MBX-USED-WEIGHT-1M`` (weight used by this client IP in the current
minute) and, after an order is placed, ``X-MBX-ORDER-COUNT-10S`` and ``X-MBX-ORDER-COUNT-1D`` (the
account's new orders in the current 10-second and day windows). Windows are fixed calendar
windows of the wall clock, as Binance's are.

Enforcement:

- Weight above the per-minute limit: HTTP 429 ``-1003`` with ``Retry-After`` (seconds to the end
  of the minute). A client that sends another request while a 429's ``Retry-After`` is running is
  banned: HTTP 418 ``-1003`` "IP banned until ...", for ``ban_s`` (doubling on each repeat, as
  Binance scales bans from 2 minutes to 3 days).
- Orders above the 10-second (or daily) count: HTTP 429 ``-1015``; the order is not placed.

Weights follow Binance's tables for the endpoints served (depth by ``limit``, ``openOrders``
without a symbol 80, and so on); anything not listed weighs 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field

_WEIGHTS: dict[str, int] = {
    "/api/v3/exchangeInfo": 20,
    "/api/v3/klines": 2,
    "/api/v3/aggTrades": 2,
    "/api/v3/trades": 25,
    "/api/v3/historicalTrades": 25,
    "/api/v3/order": 4,
    "/api/v3/openOrders": 6,
    "/api/v3/allOrders": 20,
    "/api/v3/myTrades": 20,
    "/api/v3/account": 20,
    "/api/v3/orderList/oco": 1,
    "/api/v3/ticker/24hr": 2,
    "/api/v3/ticker/bookTicker": 2,
    "/fapi/v1/exchangeInfo": 1,
    "/fapi/v1/klines": 5,
    "/fapi/v1/openOrders": 1,
    "/fapi/v1/allOrders": 5,
    "/fapi/v1/userTrades": 5,
    "/fapi/v2/account": 5,
    "/fapi/v3/account": 5,
    "/fapi/v2/balance": 5,
    "/fapi/v3/balance": 5,
    "/fapi/v2/positionRisk": 5,
    "/fapi/v3/positionRisk": 5,
}
_DEPTH_WEIGHTS = ((100, 5), (500, 25), (1000, 50), (5000, 250))


def request_weight(path: str, params: dict[str, str]) -> int:
    """Return the weight Binance counts for a request to ``path`` with ``params``."""
    if path.endswith("/depth"):
        try:
            limit = int(params.get("limit") or 100)
        except ValueError:
            limit = 100
        return next((w for top, w in _DEPTH_WEIGHTS if limit <= top), 250)
    if path.endswith("/openOrders") and "symbol" not in params:
        return 80 if path.startswith("/api/") else 40
    return _WEIGHTS.get(path, 1)


@dataclass
class LimitConfig:
    """The limits enforced (Binance spot's defaults)."""

    weight_per_minute: int = 6000
    weight_window_ms: int = 60_000
    """Length of the weight window (a minute on Binance; shorter to test budgets quickly)."""
    orders_per_10s: int = 100
    orders_per_day: int = 200_000
    ban_s: int = 120


@dataclass
class _Window:
    start: int = 0
    used: int = 0

    def add(self, now_ms: int, length_ms: int, amount: int) -> int:
        start = now_ms - now_ms % length_ms
        if start != self.start:
            self.start, self.used = start, 0
        self.used += amount
        return self.used


@dataclass
class RateLimits:
    """Weight per client IP and order counts per account, with 429 then 418 bans."""

    config: LimitConfig = field(default_factory=LimitConfig)
    _weights: dict[str, _Window] = field(default_factory=dict)
    _retry_until: dict[str, int] = field(default_factory=dict)
    _banned_until: dict[str, int] = field(default_factory=dict)
    _ban_count: dict[str, int] = field(default_factory=dict)
    _orders_10s: dict[int, _Window] = field(default_factory=dict)
    _orders_day: dict[int, _Window] = field(default_factory=dict)

    def admit(self, ip: str, weight: int, now_ms: int) -> tuple[str | None, int, int]:
        """Count a request and say whether it may be served.

        Returns
        -------
        tuple
            ``(verdict, used_weight, retry_after_s)`` where verdict is None (serve it), ``"429"``
            or ``"418"``.
        """
        banned = self._banned_until.get(ip, 0)
        if now_ms < banned:
            return "418", self._weight(ip).used, _ceil_s(banned - now_ms)
        retry_until = self._retry_until.get(ip, 0)
        if now_ms < retry_until:
            # Asked again while told to wait: Binance bans the IP.
            count = self._ban_count.get(ip, 0) + 1
            self._ban_count[ip] = count
            until = now_ms + self.config.ban_s * 1000 * 2 ** (count - 1)
            self._banned_until[ip] = until
            self._retry_until.pop(ip, None)
            return "418", self._weight(ip).used, _ceil_s(until - now_ms)
        window = self.config.weight_window_ms
        used = self._weight(ip).add(now_ms, window, weight)
        if used > self.config.weight_per_minute:
            until = now_ms - now_ms % window + window
            self._retry_until[ip] = until
            return "429", used, _ceil_s(until - now_ms)
        return None, used, 0

    def used_weight(self, ip: str) -> int:
        """Weight used by ``ip`` in the current minute."""
        return self._weight(ip).used

    def count_order(self, account_id: int, now_ms: int) -> tuple[str | None, int, int]:
        """Count a new order of an account; returns ``(exceeded_window, count_10s, count_1d)``."""
        w10 = self._orders_10s.setdefault(account_id, _Window())
        wday = self._orders_day.setdefault(account_id, _Window())
        n10 = w10.add(now_ms, 10_000, 1)
        nday = wday.add(now_ms, 86_400_000, 1)
        if n10 > self.config.orders_per_10s:
            return "10 SECOND", n10, nday
        if nday > self.config.orders_per_day:
            return "1 DAY", n10, nday
        return None, n10, nday

    def reset(self) -> None:
        """Forget every window, retry and ban (between test phases)."""
        self._weights.clear()
        self._retry_until.clear()
        self._banned_until.clear()
        self._ban_count.clear()
        self._orders_10s.clear()
        self._orders_day.clear()

    def _weight(self, ip: str) -> _Window:
        found = self._weights.get(ip)
        if found is None:
            found = self._weights[ip] = _Window()
        return found


def _ceil_s(ms: int) -> int:
    return max(1, -(-ms // 1000))
