"""The daily P&L report and the weekly summary: when they are due, what they count, what they say.

A report covers the closed trades whose exit falls in ``(start, end]``, the same rule as the
control facade's ``profit()`` windows, so a daily report made at its due time says what
``profit()["day"]`` says at that moment. Times are the bot's clock (UTC ms): the schedule never
reads a wall clock, so a replay's reports follow its data and tests move time instead of waiting.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from tradewind.engine.portfolio import ClosedTrade
from tradewind.ops.facade import ControlFacade
from tradewind.ops.notify_templates import Level, Notification, money, pct, price, quantity, when

__all__ = ["DAY", "WEEK", "PeriodReport", "ReportSchedule", "period_report", "render"]

DAY = 86_400_000
WEEK = 7 * DAY
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday (Monday is 0)


class ReportSchedule:
    """Due times of the daily report (every day at ``report_time`` UTC) and of the weekly
    summary (``weekly_day`` at the same time)."""

    def __init__(self, report_time: str = "08:00", weekly_day: str = "monday") -> None:
        hours, _, minutes = report_time.partition(":")
        self.offset = (int(hours) * 60 + int(minutes)) * 60_000
        self.weekday = _WEEKDAYS.index(weekly_day.lower())

    def latest_daily(self, now: int) -> int:
        """The latest daily due time at or before ``now``."""
        due = now // DAY * DAY + self.offset
        return due if due <= now else due - DAY

    def latest_weekly(self, now: int) -> int:
        """The latest weekly due time at or before ``now``."""
        due = self.latest_daily(now)
        while (due // DAY + _EPOCH_WEEKDAY) % 7 != self.weekday:
            due -= DAY
        return due


@dataclass(frozen=True)
class PeriodReport:
    """What a report counts: the closed trades of ``(start, end]`` and the account at ``end``."""

    kind: str
    """``daily`` or ``weekly``."""
    bot: str
    start: int
    end: int
    currency: str
    trades: list[ClosedTrade]
    equity: Decimal
    positions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def pnl(self) -> Decimal:
        """Closed-trade PnL, net of fees and funding."""
        return sum((t.pnl for t in self.trades), Decimal(0))

    @property
    def fees(self) -> Decimal:
        """Fees paid on the closed trades."""
        return sum((t.fees for t in self.trades), Decimal(0))

    @property
    def wins(self) -> int:
        """Trades that made money."""
        return sum(1 for t in self.trades if t.pnl > 0)


def period_report(facade: ControlFacade, kind: str, start: int, end: int) -> PeriodReport:
    """Count the closed trades of ``(start, end]`` and read the account now from the facade."""
    node = facade.node
    picked = [t for t in node.portfolio.trades if start < t.exit_ts <= end]
    return PeriodReport(
        kind=kind, bot=facade.bot.name, start=start, end=end, currency=account_currency(facade),
        trades=picked, equity=Decimal(facade.status()["equity"]), positions=facade.positions(),
    )  # fmt: skip


def account_currency(facade: ControlFacade) -> str:
    """The currency PnL and equity are counted in (the first instrument's quote or settlement)."""
    for instrument in facade.node.instruments.values():
        return instrument.settle_currency if instrument.is_derivative else instrument.quote
    return ""


def render(report: PeriodReport) -> Notification:
    """The report as a notification: headline numbers, best and worst trade, equity, open
    positions, PnL per strategy, and for the weekly summary PnL per day."""
    cur = report.currency
    n = len(report.trades)
    day = datetime.fromtimestamp(report.end / 1000, UTC)
    if report.kind == "weekly":
        first = datetime.fromtimestamp((report.start + 1) / 1000, UTC)
        title = f"Weekly summary {first:%Y-%m-%d} to {day:%Y-%m-%d}: " + money(
            report.pnl, cur, signed=True
        )
    else:
        title = f"Daily report {day:%Y-%m-%d}: {money(report.pnl, cur, signed=True)}"
    span = "7 days" if report.kind == "weekly" else "24 h"
    lines = [f"{report.bot}, the {span} to {when(report.end)}"]
    if n:
        lines += [
            f"Closed trades: {n} ({report.wins} won, {n - report.wins} lost, "
            f"win rate {pct(report.wins / n, signed=False)})",
            f"PnL: {money(report.pnl, cur, signed=True)} after {money(report.fees, cur)} fees",
        ]
        best = max(report.trades, key=lambda t: t.pnl)
        worst = min(report.trades, key=lambda t: t.pnl)
        lines += [
            f"Best: {money(best.pnl, cur, signed=True)} {best.symbol} {best.side} "
            f"({best.strategy_id}, {when(best.exit_ts)})",
            f"Worst: {money(worst.pnl, cur, signed=True)} {worst.symbol} {worst.side} "
            f"({worst.strategy_id}, {when(worst.exit_ts)})",
        ]
    else:
        lines.append("Closed trades: none")
    lines.append(f"Equity: {money(report.equity, cur)}")
    if report.positions:
        held = "; ".join(
            f"{p['symbol']} {quantity(Decimal(p['quantity']))} at "
            f"{price(Decimal(p['average_price']))} ({p['strategy']})"
            for p in report.positions
        )
        lines.append(f"Open positions: {len(report.positions)}: {held}")
    else:
        lines.append("Open positions: none")
    if n:
        lines.append("By strategy:")
        by: dict[str, list[Decimal]] = {}
        for t in report.trades:
            by.setdefault(t.strategy_id, []).append(t.pnl)
        for strategy, pnls in sorted(by.items(), key=lambda kv: -sum(kv[1])):
            lines.append(
                f"  {strategy}: {len(pnls)} trades, {money(sum(pnls, Decimal(0)), cur, signed=True)}"
            )
    if report.kind == "weekly":
        lines.append("By day:")
        for start in range(report.start, report.end, DAY):
            picked = [t for t in report.trades if start < t.exit_ts <= start + DAY]
            total = sum((t.pnl for t in picked), Decimal(0))
            label = datetime.fromtimestamp((start + DAY) / 1000, UTC).strftime("%a %Y-%m-%d")
            lines.append(f"  to {label}: {len(picked)} trades, {money(total, cur, signed=True)}")
    kind = f"{report.kind}_report"
    level: Level = "success" if report.pnl > 0 else ("warning" if report.pnl < 0 else "info")
    return Notification(kind, title, "\n".join(lines), level, report.end, f"{kind}:{report.end}")
