"""Circuit breakers: the states ACTIVE -> REDUCING -> HALTED and the detectors that move them.

- ACTIVE: entries and exits pass.
- REDUCING: exits only; lifted automatically when its cause expires (the UTC period rolls, a
  cooldown ends, the venue's error rate falls back).
- HALTED: no new exposure until a person resumes (:meth:`BreakerBoard.resume`); protective exits
  and the kill switch's flattening still run.

Every trip and every lift is a :class:`BreakerEvent` with its time, bar, breaker and reason; the
backtest result lists them, and notifications and the dashboard will read the same list.

Detectors here: equity-based (daily, weekly, monthly loss, max drawdown) with the compiled scan of
:mod:`tradewind.sim.equity_scan` over the mark-to-market equity between fills; market-based
(intraday crash per symbol and market-wide, flash-crash z-score) precomputed causally over the bar
arrays; consecutive losses; the venue's order error rate.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from tradewind.core.errors import UserError
from tradewind.series.bars import BarSeries, FloatArray, IntArray
from tradewind.sim import equity_scan


class BreakerState(StrEnum):
    """How much trading the breakers allow."""

    ACTIVE = "active"
    REDUCING = "reducing"
    HALTED = "halted"


_RANK = {BreakerState.ACTIVE: 0, BreakerState.REDUCING: 1, BreakerState.HALTED: 2}

LOSS_BREAKERS = ("daily_loss", "weekly_loss", "monthly_loss")
DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class BreakerEvent:
    """One transition: ``breaker`` moved the account to ``state`` at ``ts`` (bar ``bar`` of
    ``symbol``; ``symbol`` is empty for account-wide breakers and ``bar`` indexes the run's
    timeline)."""

    ts: int
    bar: int
    symbol: str
    breaker: str
    state: BreakerState
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class BreakerRules:
    """Breaker settings; each is off when ``None``. Fractions are of equity (0.02 = 2%).

    Parameters
    ----------
    daily_loss, weekly_loss, monthly_loss
        Loss from the equity at the start of the UTC day / week (Monday) / calendar month that
        puts the account in REDUCING until the period ends.
    max_drawdown
        Drawdown from peak equity that HALTS the account (``kill_on_drawdown``: and flattens it).
    crash_drop, crash_window
        Intraday crash: a symbol's close ``crash_drop`` below its highest close of the last
        ``crash_window`` bars puts the account in REDUCING for ``cooldown_bars``.
    market_crash_drop
        The same test on the average drop over every traded symbol.
    flash_zscore, flash_window
        Flash crash: a bar's log return this many standard deviations below the mean of the
        ``flash_window`` returns before it.
    max_consecutive_losses, loss_cooldown_bars
        After this many losing trades in a row (per strategy), REDUCING for the cooldown.
    stale_after_ms
        No new entries while the latest bar of the symbol is older than this.
    max_error_rate, error_window
        REDUCING while more than this fraction of the last ``error_window`` orders were rejected.
    """

    daily_loss: float | None = None
    weekly_loss: float | None = None
    monthly_loss: float | None = None
    max_drawdown: float | None = None
    kill_on_drawdown: bool = False
    crash_drop: float | None = None
    crash_window: int = 60
    market_crash_drop: float | None = None
    flash_zscore: float | None = None
    flash_window: int = 60
    cooldown_bars: int = 60
    max_consecutive_losses: int | None = None
    loss_cooldown_bars: int = 60
    stale_after_ms: int | None = None
    max_error_rate: float | None = None
    error_window: int = 20

    def __post_init__(self) -> None:
        for name in (*LOSS_BREAKERS, "max_drawdown", "crash_drop", "market_crash_drop"):
            value = getattr(self, name)
            if value is not None and not 0 < value < 1:
                raise UserError(f"{name} must be a fraction in (0, 1), got {value}")
        if self.max_error_rate is not None and not 0 < self.max_error_rate < 1:
            raise UserError(f"max_error_rate must be in (0, 1), got {self.max_error_rate}")
        for name in ("crash_window", "flash_window", "cooldown_bars", "error_window"):
            if getattr(self, name) < 2:
                raise UserError(f"{name} must be at least 2")

    @property
    def watches_equity(self) -> bool:
        """True when a loss or drawdown breaker is set."""
        return any(getattr(self, n) is not None for n in (*LOSS_BREAKERS, "max_drawdown"))


@dataclass
class BreakerBoard:
    """The state machine: the active restrictions, each with its state and when it lifts."""

    events: list[BreakerEvent] = field(default_factory=list)
    restrictions: dict[str, tuple[BreakerState, int | None]] = field(default_factory=dict)

    def state(self, now: int) -> BreakerState:
        """The account's state at ``now``, lifting (with an event) what has expired."""
        for name, (_, until) in sorted(self.restrictions.items(), key=lambda kv: kv[1][1] or 0):
            if until is not None and until <= now:
                del self.restrictions[name]
                self.events.append(
                    BreakerEvent(until, -1, "", name, self._worst(), f"{name} expired")
                )
        return self._worst()

    def blocking(self, now: int) -> tuple[BreakerState, str]:
        """The state at ``now`` and the breaker that sets it (empty when ACTIVE)."""
        state = self.state(now)
        for name, (held, _) in self.restrictions.items():
            if held is state:
                return state, name
        return state, ""

    def trip(
        self,
        name: str,
        state: BreakerState,
        until: int | None,
        *,
        ts: int,
        bar: int,
        symbol: str = "",
        reason: str,
    ) -> None:
        """Put restriction ``name`` in place (``until`` None: until a manual resume)."""
        current = self.restrictions.get(name)
        if current is not None and _RANK[current[0]] > _RANK[state]:
            return  # never soften a stricter restriction of the same breaker
        self.restrictions[name] = (state, until)
        self.events.append(BreakerEvent(ts, bar, symbol, name, self._worst(), reason))

    def lift(self, name: str, ts: int, reason: str) -> None:
        """Lift restriction ``name`` now (its cause cleared)."""
        if self.restrictions.pop(name, None) is not None:
            self.events.append(BreakerEvent(ts, -1, "", name, self._worst(), reason))

    def resume(self, ts: int, reason: str = "manual resume") -> None:
        """Clear every restriction, HALTED included: a person decided to trade again."""
        if self.restrictions:
            self.restrictions.clear()
            self.events.append(BreakerEvent(ts, -1, "", "resume", BreakerState.ACTIVE, reason))

    def _worst(self) -> BreakerState:
        worst = BreakerState.ACTIVE
        for state, _ in self.restrictions.values():
            if _RANK[state] > _RANK[worst]:
                worst = state
        return worst


class EquityWatch:
    """Loss-limit and drawdown breakers over the mark-to-market equity on the run's timeline.

    Balances are constant between fills, so after each fill (:meth:`rebalance`) one compiled scan
    (:func:`tradewind.sim.equity_scan.scan_equity`) finds the first bar where a limit is reached;
    the result is cached until the next fill. The equity is the one the backtest reports: quote
    cash plus each base balance at its symbol's latest close.
    """

    def __init__(
        self,
        rules: BreakerRules,
        bars: dict[str, BarSeries],
        base_of: dict[str, str],
        quote: str,
        initial_equity: float,
    ) -> None:
        self.rules = rules
        self.assets = [base_of[s] for s in bars]
        self.quote = quote
        self.timeline: IntArray = np.empty(0, dtype=np.int64)
        self.closes: FloatArray = np.empty((len(bars), 0), dtype=np.float64)
        self.periods = equity_scan.period_ids(self.timeline)
        self.extend(bars)
        self.close_ms = min(b.timeframe.ms for b in bars.values())
        self.limits = np.array(
            [np.nan if getattr(rules, n) is None else getattr(rules, n) for n in LOSS_BREAKERS],
            dtype=np.float64,
        )
        self.drawdown = np.nan if rules.max_drawdown is None else float(rules.max_drawdown)
        self.armed = np.zeros(3, dtype=np.int64)
        self.cash = initial_equity
        self.quantities = np.zeros(len(self.assets), dtype=np.float64)
        self.state = np.array([initial_equity, initial_equity], dtype=np.float64)
        self.starts = np.full(3, initial_equity, dtype=np.float64)
        self.position = 0
        self._cached: tuple[int, int, FloatArray, FloatArray] | None = None

    def extend(self, bars: Mapping[str, BarSeries]) -> None:
        """Take ``bars`` (the same symbols, in the same order) with bars closed since: a trading
        session's growing series, never a different past.

        The timeline, the closes and the periods are made again over the longer series; those of
        the old bars do not change, so the state carried so far (the balances, the peak, the
        period starts, where the scan stands) stays valid. A scan that found no breach is done
        again over the longer timeline (the scan is causal: a breach at bar ``j`` reads bars
        ``0..j`` only).
        """
        self.timeline = np.unique(np.concatenate([b.ts for b in bars.values()]))
        rows = []
        for series in bars.values():
            at = np.searchsorted(series.ts, self.timeline, side="right") - 1
            rows.append(np.where(at >= 0, series.close[np.maximum(at, 0)], series.close[0]))
        self.closes = np.ascontiguousarray(np.vstack(rows), dtype=np.float64)
        self.periods = equity_scan.period_ids(self.timeline)
        self._cached = None

    def timeline_index(self, symbol_ts: int) -> int:
        """Position on the timeline of a bar opening at ``symbol_ts``."""
        return int(np.searchsorted(self.timeline, symbol_ts))

    def rebalance(self, at: int, balances: dict[str, float]) -> None:
        """New balances count from timeline bar ``at`` (a fill there): carry the state to it with
        the old ones, then take the new ones."""
        if at > self.position:
            equity_scan.scan_equity(
                self.cash, self.quantities, self.closes, self.periods, self.position, at,
                self.state, self.starts, self.limits, self.armed, self.drawdown, False,
            )  # fmt: skip
            self.position = at
        self.cash = balances.get(self.quote, 0.0)
        self.quantities = np.array([balances.get(a, 0.0) for a in self.assets], dtype=np.float64)
        self._cached = None

    def next_trip(self) -> tuple[int, int] | None:
        """``(close time in ms, timeline bar)`` of the next breach with the current balances."""
        if self._cached is None:
            state, starts = self.state.copy(), self.starts.copy()
            bar, mask = equity_scan.scan_equity(
                self.cash, self.quantities, self.closes, self.periods, self.position,
                len(self.timeline), state, starts, self.limits, self.armed, self.drawdown, True,
            )  # fmt: skip
            self._cached = (int(bar), int(mask), state, starts)
        bar = self._cached[0]
        if bar < 0:
            return None
        return int(self.timeline[bar]) + self.close_ms, bar

    def take(self) -> list[tuple[str, int, int, float]]:
        """Consume the cached breach: ``[(breaker, bar, period end ms or -1, loss), ...]``."""
        if self._cached is None or self._cached[0] < 0:
            return []
        bar, mask, state, starts = self._cached
        equity = state[1]
        out: list[tuple[str, int, int, float]] = []
        for p, name in enumerate(LOSS_BREAKERS):
            if mask & (1 << p):
                period = int(self.periods[p, bar])
                self.armed[p] = period + 1
                later = np.flatnonzero(self.periods[p, bar:] > period)
                # The next period's first bar; a session that holds none yet: the period's end
                # on the calendar (where that bar opens on a timeline without gaps).
                end = int(self.timeline[bar + later[0]]) if later.size else _period_end(p, period)
                out.append((name, bar, end, 1.0 - equity / starts[p]))
        if mask & (1 << equity_scan.DRAWDOWN):
            self.drawdown = np.nan  # HALTED needs a person; no second trip
            out.append(("max_drawdown", bar, -1, 1.0 - equity / state[0]))
        self.state, self.starts = state, starts
        self.position = bar + 1
        self._cached = None
        return out


def _period_end(kind: int, period: int) -> int:
    """Start (UTC ms) of the period after ``period``, numbered as
    :func:`~tradewind.sim.equity_scan.period_ids` numbers them (day, week, month: ``kind``)."""
    if kind == 0:
        return (period + 1) * DAY_MS
    if kind == 1:
        return (7 * (period + 1) - 3) * DAY_MS
    return int(np.datetime64(period + 1, "M").astype("datetime64[ms]").astype(np.int64))


class MarketWatch:
    """Intraday-crash and flash-crash breakers, precomputed causally per bar from prices only."""

    def __init__(self, rules: BreakerRules, bars: Mapping[str, BarSeries]) -> None:
        self.rules = rules
        self.hits: list[tuple[int, str, int, str]] = []  # (close ms, symbol, bar, reason)
        self.times = np.empty(0, dtype=np.int64)
        self.pointer = 0
        self.resume_at = 0
        """Hits before this time (ms) change nothing: the cooldown of a trip covers them."""
        self.extend(bars)

    def extend(self, bars: Mapping[str, BarSeries]) -> None:
        """Find the hits over ``bars`` (the same symbols with bars closed since: a trading
        session's growing series). The detectors are causal, so the hits on the old bars are the
        same and the new ones come after them: where the watch stands carries over."""
        rules = self.rules
        self.bars = bars
        self.hits = []
        drops: list[FloatArray] = []
        for symbol, series in bars.items():
            if rules.crash_drop is not None or rules.market_crash_drop is not None:
                drop = equity_scan.window_drop(series.close, rules.crash_window)
                drops.append(drop)
                if rules.crash_drop is not None:
                    for i in np.flatnonzero(drop <= -rules.crash_drop):
                        self._add(
                            series,
                            symbol,
                            int(i),
                            f"crash: {symbol} {drop[i]:.2%} in {rules.crash_window} bars",
                        )
            if rules.flash_zscore is not None:
                z = equity_scan.return_zscore(series.close, rules.flash_window)
                for i in np.flatnonzero(z <= -rules.flash_zscore):
                    self._add(
                        series, symbol, int(i), f"flash crash: {symbol} return z-score {z[i]:.1f}"
                    )
        if rules.market_crash_drop is not None and drops:
            first = next(iter(bars.values()))
            aligned = []
            for series, drop in zip(bars.values(), drops, strict=True):
                at = np.searchsorted(series.ts, first.ts, side="right") - 1
                aligned.append(np.where(at >= 0, drop[np.maximum(at, 0)], np.nan))
            mean = np.nanmean(np.vstack(aligned), axis=0) if len(aligned) > 1 else aligned[0]
            for i in np.flatnonzero(mean <= -rules.market_crash_drop):
                self._add(first, "", int(i), f"market-wide crash: average {mean[i]:.2%}")
        self.hits.sort()
        self.times = np.array([h[0] for h in self.hits], dtype=np.int64)
        self.skip_until(self.resume_at)

    def _add(self, series: BarSeries, symbol: str, i: int, reason: str) -> None:
        self.hits.append((int(series.ts[i]) + series.timeframe.ms, symbol, i, reason))

    def next_trip(self, not_before: int) -> tuple[int, str, int, str] | None:
        """The first precomputed hit at or after ``not_before`` (ms)."""
        start = int(np.searchsorted(self.times, not_before, side="left"))
        self.pointer = max(self.pointer, start)
        if self.pointer >= len(self.hits):
            return None
        return self.hits[self.pointer]

    def consume(self) -> None:
        """Step past the hit just handled."""
        self.pointer += 1

    def skip_until(self, ts: int) -> None:
        """Step past every hit before ``ts`` (a trip's cooldown covers them), those found later
        included."""
        self.resume_at = max(self.resume_at, ts)
        self.pointer = max(self.pointer, int(np.searchsorted(self.times, self.resume_at, "left")))


@dataclass
class LossStreak:
    """Consecutive losing trades per strategy."""

    limit: int
    counts: dict[str, int] = field(default_factory=dict)

    def record(self, strategy_id: str, pnl: float) -> bool:
        """Count one closed trade; True when the streak reaches the limit (the count restarts)."""
        count = self.counts.get(strategy_id, 0) + 1 if pnl < 0 else 0
        if count >= self.limit:
            self.counts[strategy_id] = 0
            return True
        self.counts[strategy_id] = count
        return False


@dataclass
class ErrorRate:
    """Share of rejected orders among the last ``window`` orders."""

    window: int
    outcomes: deque[bool] = field(default_factory=deque)

    def record(self, rejected: bool) -> float | None:
        """Add one outcome; the rate once the window is full, else None."""
        self.outcomes.append(rejected)
        if len(self.outcomes) > self.window:
            self.outcomes.popleft()
        if len(self.outcomes) < self.window:
            return None
        return sum(self.outcomes) / self.window
