"""The Telegram bot's messages: the control facade's answers written for a trader.

Amounts keep their exact decimal value up to the shown precision and are grouped by thousands
(``12,345.67 USDT``); cash-like assets show cents, coins up to eight decimals with trailing zeros
dropped; PnL carries its sign. Times are the bot's engine time in UTC. Every message is Telegram
HTML, and every value from the bot (a symbol, a reason, an error) is escaped, so a strategy name
with ``<`` in it cannot break or forge the markup.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

__all__ = [
    "amount",
    "balances_text",
    "escape",
    "fit",
    "health_text",
    "help_text",
    "job_text",
    "jobs_text",
    "money",
    "positions_text",
    "profit_text",
    "risk_text",
    "status_text",
]

# Assets whose natural unit is the cent; everything else is a coin shown to 8 decimals.
_CASH = frozenset({"USD", "USDT", "USDC", "BUSD", "DAI", "TUSD", "FDUSD", "EUR", "GBP", "JPY"})


def _decimal(value: Decimal | str | int | float) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def amount(value: Decimal | str | int | float, asset: str = "", *, signed: bool = False) -> str:
    """``value`` grouped by thousands, to cents for cash-like assets and up to 8 decimals (no
    trailing zeros) otherwise, followed by ``asset``; ``signed`` puts ``+`` before gains."""
    number = _decimal(value)
    if asset.upper() in _CASH or not asset:
        text = f"{number.quantize(Decimal('0.01'), ROUND_HALF_EVEN):,.2f}"
    else:
        rounded = number.quantize(Decimal("1e-8"), ROUND_HALF_EVEN)
        text = f"{rounded:,.8f}".rstrip("0").rstrip(".")
    if text in ("-0.00", "-0"):
        text = text[1:]
    if signed and not text.startswith("-") and Decimal(text.replace(",", "")) != 0:
        text = "+" + text
    return f"{text} {escape(asset)}" if asset else text


def money(value: Decimal | str, currency: str) -> str:
    """A cash amount with its sign (PnL, fees)."""
    return amount(value, currency, signed=True)


def _price(value: Decimal | str) -> str:
    number = _decimal(value)
    # Prices below 1 need their significant digits; above, cents are what a trader reads.
    places = 2 if abs(number) >= 1 else 8
    text = f"{number.quantize(Decimal(1).scaleb(-places), ROUND_HALF_EVEN):,.{places}f}"
    return text.rstrip("0").rstrip(".") if places == 8 else text


def _time(ms: int | None) -> str:
    if ms is None:
        return "—"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")


LIMIT = 4000
"""Telegram refuses messages over 4,096 characters; a margin for what its parser counts."""


def fit(text: str, limit: int = LIMIT) -> str:
    """``text`` cut at a line end to fit one message, saying how many lines were left out (a
    bot with hundreds of positions still answers ``/positions``)."""
    if len(text) <= limit:
        return text
    lines = text.split("\n")
    kept: list[str] = []
    size = 0
    for line in lines:
        if size + len(line) + 1 > limit - 40:
            break
        kept.append(line)
        size += len(line) + 1
    return "\n".join(kept) + f"\n… and {len(lines) - len(kept)} more line(s)"


def escape(value: object) -> str:
    """``value`` as text safe inside Telegram HTML (quotes stay: they only matter in attributes)."""
    return html.escape(str(value), quote=False)


def quote_of(symbols: list[str]) -> str:
    """The currency the bot's equity is counted in: the quote of its symbols when they share
    one, else empty."""
    quotes = {s.split("/")[1].split(":")[0] for s in symbols if "/" in s}
    return quotes.pop() if len(quotes) == 1 else ""


def status_text(status: dict[str, Any], currency: str) -> str:
    """``/status``: mode, state, equity, counts, strategies and stopped symbols."""
    if status["halted"]:
        state = "🛑 HALTED (emergency stop; /resume to trade again)"
    elif status["paused"]:
        state = f"⏸ PAUSED: {escape(status['paused'])}"
    else:
        state = "▶️ running"
    lines = [
        f"<b>{escape(status['bot'])}</b> · {escape(status['mode'])} · {state}",
        f"Engine time: {_time(status['engine_time'])}",
        f"Equity: <b>{amount(status['equity'], currency)}</b>",
        f"Open positions: {status['open_positions']} · working orders: {status['open_orders']}",
        "Strategies:",
    ]
    for s in status["strategies"]:
        fault = " ⚠️ faulted" if s["faulted"] else ""
        lines.append(f"  • {escape(s['id'])} on {escape(s['symbol'])}{fault}")
    for symbol, reason in sorted(status["stopped_entries"].items()):
        lines.append(f"⛔ No entries in {escape(symbol)}: {escape(reason)}")
    return "\n".join(lines)


def profit_text(profit: dict[str, dict[str, Any]], currency: str) -> str:
    """``/profit``: closed-trade PnL over the last day, week, month and the session."""
    names = {"day": "24 h", "week": "7 days", "month": "30 days", "all": "Session"}
    lines = ["<b>Profit</b> (closed trades, net of fees and funding)"]
    for key, label in names.items():
        row = profit[key]
        trades = row["trades"]
        rate = f" · {row['wins'] / trades:.0%} won" if trades else ""
        lines.append(
            f"{label}: <b>{money(row['pnl'], currency)}</b> · {trades} trade"
            f"{'' if trades == 1 else 's'}{rate} · fees {amount(row['fees'], currency)}"
        )
    return "\n".join(lines)


def balances_text(balances: dict[str, str], equity: str, currency: str) -> str:
    """``/balance``: each asset's ledger balance and the equity."""
    lines = ["<b>Balance</b>"]
    shown = {a: v for a, v in balances.items() if Decimal(v) != 0}
    if not shown:
        lines.append("No asset held.")
    for asset, value in shown.items():
        lines.append(f"  {escape(asset)}: {amount(value, asset)}")
    lines.append(f"Equity: <b>{amount(equity, currency)}</b>")
    return "\n".join(lines)


def positions_text(positions: list[dict[str, Any]]) -> str:
    """``/positions``: every open position with its size, entry, mark and open PnL."""
    if not positions:
        return "<b>Positions</b>\nNo open position."
    lines = ["<b>Positions</b>"]
    for p in positions:
        base, _, rest = str(p["symbol"]).partition("/")
        quote = rest.split(":")[0]
        size = abs(Decimal(p["quantity"]))
        lines.append(
            f"• <b>{escape(p['symbol'])}</b> {escape(p['side']).upper()} {amount(size, base)} "
            f"@ {_price(p['average_price'])} {escape(quote)}"
        )
        if p.get("unrealized_pnl") is not None:
            lines.append(
                f"   mark {_price(p['mark_price'])} · open PnL "
                f"<b>{money(p['unrealized_pnl'], quote)}</b>"
            )
        lines.append(
            f"   {escape(p['strategy'])} · since {_time(p['entry_time'])} · "
            f"realised {money(p['realized_pnl'], quote)}"
        )
    return "\n".join(lines)


def risk_text(risk: dict[str, Any]) -> str:
    """``/risk``: the state, breakers in force, recent trips, stopped symbols, denials."""
    lines = [f"<b>Risk</b>: {escape(risk['state'])}"]
    if risk["paused"]:
        lines.append(f"Paused: {escape(risk['paused'])}")
    for symbol, reason in sorted(risk["stopped_entries"].items()):
        lines.append(f"No entries in {escape(symbol)}: {escape(reason)}")
    for r in risk["restrictions"]:
        lines.append(
            f"Breaker {escape(r['breaker'])}: {escape(r['state'])} until {_time(r['until'])}"
        )
    if not risk["restrictions"]:
        lines.append("No breaker in force.")
    events = risk["breaker_events"][-5:]
    if events:
        lines.append("Latest breaker events:")
        lines.extend(
            f"  {_time(e['time'])} {escape(e['breaker'])} → {escape(e['state'])}: {escape(e['reason'])}"
            for e in events
        )
    limits = {k: v for k, v in (risk.get("limits") or {}).items()
              if v is not None and k.startswith(("max_", "min_"))}  # fmt: skip
    if limits:
        lines.append("Limits: " + ", ".join(f"{escape(k)} {v}" for k, v in sorted(limits.items())))
    lines.append(f"Orders refused by the risk engine: {risk['denials']:,}")
    return "\n".join(lines)


def health_text(health: dict[str, Any]) -> str:
    """``/health``: every component's state, with the figures it reports."""
    lines = [f"<b>Health</b>: {'✅ all good' if health['ok'] else '❌ something is wrong'}"]
    for name, component in health["components"].items():
        mark = "✅" if component.get("ok") else "❌"
        extra = ", ".join(
            f"{escape(k)} {escape(_plain(k, v))}" for k, v in component.items() if k != "ok"
        )
        lines.append(f"{mark} {escape(name)}" + (f": {extra}" if extra else ""))
    return "\n".join(lines)


def _plain(key: str, value: Any) -> str:
    if key.endswith("time") and isinstance(value, int):
        return _time(value)
    return str(value)


def jobs_text(jobs: list[dict[str, Any]]) -> str:
    """``/jobs``: the latest jobs with their state."""
    if not jobs:
        return "<b>Jobs</b>\nNo job yet: /backtest STRATEGY or /optimize STRATEGY queues one."
    lines = ["<b>Jobs</b> (newest first; /jobs ID for one)"]
    lines.extend(
        f"#{j['id']} {escape(j['kind'])} {escape(j['spec'].get('strategy', ''))}: {escape(j['state'])}"
        for j in jobs
    )
    return "\n".join(lines)


def job_text(job: dict[str, Any]) -> str:
    """``/jobs ID``: one job's request and, when it ran, its result or error."""
    lines = [
        f"<b>Job #{job['id']}</b> {escape(job['kind'])} · {escape(job['state'])}",
        f"Strategy: {escape(job['spec'].get('strategy', ''))}",
    ]
    result = job.get("result") or {}
    metrics = result.get("metrics") or {}
    labels = {
        "total_return": "Return",
        "max_drawdown": "Max drawdown",
        "sharpe_ratio": "Sharpe",
        "trade_count": "Trades",
        "final_equity": "Final equity",
        "total_pnl": "PnL",
    }
    for key, label in labels.items():
        value = metrics.get(key)
        if value is None:
            continue
        if key in ("total_return", "max_drawdown"):
            lines.append(f"{label}: {float(value):.2%}")
        elif key == "sharpe_ratio":
            lines.append(f"{label}: {float(value):.2f}")
        elif key == "trade_count":
            lines.append(f"{label}: {int(value):,}")
        else:
            lines.append(f"{label}: {amount(str(value))}")
    for best in result.get("best") or []:
        lines.append(f"Best: {escape(best)}")
    if job.get("error"):
        lines.append(f"Error: {escape(job['error'])}")
    return "\n".join(lines)


def help_text(commands: list[tuple[str, str]]) -> str:
    """``/help``: every command with what it does."""
    return "<b>Commands</b>\n" + "\n".join(f"/{name} {escape(text)}" for name, text in commands)
