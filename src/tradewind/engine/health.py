"""A run's health: what happened to its orders and intents, and what it left open.

Every run (a backtest, an optimisation trial on the event engine, a walk-forward window) carries a
:class:`RunHealth`: orders submitted, filled, rejected and expired (the last two by reason),
intents the risk gate denied (by reason), positions still open at the end and dust. A run *has
problems* when an order was rejected or expired, or an intent was denied for a reason other than a
risk rule the user switched on (a breaker or a portfolio limit doing its job is not a problem;
a spot market refusing a short, a stake below the minimum notional, or no cash to buy with is).
The CLI says so in its first line, so a result that did not happen as planned is never read as if
it had.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from tradewind.core.events import DATA_ENDED
from tradewind.reporting.numbers import format_number, format_price

RULE_CODE_PREFIXES = ("breaker.", "limit.")
"""Denial codes of the risk rules a user switches on: such a denial is the rule at work (except
:data:`NOT_RULES`, which apply whatever the user chose)."""
NOT_RULES = ("limit.cash",)
"""Codes under a rule prefix that are no rule of the user's: too little cash is a problem."""


def _is_rule(key: str) -> bool:
    code = key.split(":", 1)[0]
    return code.startswith(RULE_CODE_PREFIXES) and code not in NOT_RULES


_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE]-?\d+)?")


def reason_key(text: str) -> str:
    """A reason with its numbers replaced by ``#``, so reasons that differ only by amounts count
    together (``stake 12.5 exceeds the free 3`` and ``stake 7 exceeds the free 1``)."""
    return _NUMBER.sub("#", text.strip()) or "(no reason given)"


@dataclass(frozen=True)
class RunHealth:
    """What a run's orders and intents came to, and what it left behind.

    Attributes
    ----------
    engine
        ``"event"`` (every order is tracked) or ``"kernel"`` (the screening kernel places only
        orders that fill: submitted and filled are counted from its fills, and it refuses by name
        any setup in which an order could be rejected).
    orders_submitted, orders_filled
        Orders sent to the venue, and those that filled (in full or in part).
    rejected, expired
        Orders the venue rejected or let expire, counted by reason.
    unfilled_at_end
        Orders sent after the last bar (a signal on it), which no bar came to fill: where the data
        ends, not a problem (the screening kernel sends none).
    denied
        Intents the risk gate denied, counted by ``code: reason`` (the reason alone when the gate
        gives no specific code).
    rule_denials
        How many of ``denied`` were a risk rule the user switched on (breakers, limits).
    open_positions
        Positions open at the end: strategy, symbol, side, quantity, entry price and time, mark
        (the last close) and the open PnL there (net of entry fees, before the exit fee), the
        same from both engines.
    dust
        Spot base left behind by exits, less than one sellable lot, per symbol (quantity, value).
    faults
        Strategies stopped by an exception in a hook, one line each (strategy, hook, kind,
        file:line, error): a run with any has failed, whatever its numbers.
    """

    engine: str
    orders_submitted: int
    orders_filled: int
    rejected: dict[str, int] = field(default_factory=dict)
    expired: dict[str, int] = field(default_factory=dict)
    unfilled_at_end: int = 0
    denied: dict[str, int] = field(default_factory=dict)
    rule_denials: int = 0
    open_positions: list[dict[str, Any]] = field(default_factory=list)
    dust: dict[str, dict[str, Any]] = field(default_factory=dict)
    faults: list[str] = field(default_factory=list)

    @property
    def orders_rejected(self) -> int:
        """Orders the venue rejected, all reasons."""
        return sum(self.rejected.values())

    @property
    def orders_expired(self) -> int:
        """Orders that expired, all reasons."""
        return sum(self.expired.values())

    @property
    def intents_denied(self) -> int:
        """Intents the gate denied, all reasons."""
        return sum(self.denied.values())

    @property
    def problems(self) -> list[str]:
        """What went wrong, one phrase each; empty for a clean run."""
        out = list(self.faults)
        if self.rejected:
            out.append(
                f"{self.orders_rejected:,} of {self.orders_submitted:,} orders rejected "
                f"({_by_reason(self.rejected)})"
            )
        if self.expired:
            out.append(
                f"{self.orders_expired:,} of {self.orders_submitted:,} orders expired "
                f"({_by_reason(self.expired)})"
            )
        unplanned = {k: v for k, v in self.denied.items() if not _is_rule(k)}
        if unplanned:
            out.append(f"{sum(unplanned.values())} intents denied ({_by_reason(unplanned)})")
        return out

    @property
    def ok(self) -> bool:
        """True when the run has no problem (open positions and dust are facts, not problems)."""
        return not self.problems

    def headline(self) -> str:
        """One line: ``health: PROBLEMS - ...`` or ``health: ok - ...``; the CLI prints it first."""
        if not self.ok:
            return "health: PROBLEMS - " + "; ".join(self.problems)
        if self.engine == "kernel":
            return (
                f"health: ok - screening kernel, {self.orders_filled:,} fills (it refuses before the "
                f"run any setup in which an order could be rejected), {len(self.open_positions)} "
                "positions open at the end"
            )
        parts = [f"{self.orders_filled:,} of {self.orders_submitted:,} orders filled"]
        if self.unfilled_at_end:
            parts.append(f"{self.unfilled_at_end} sent after the last bar")
        if self.rule_denials:
            parts.append(f"{self.rule_denials} intents denied by the risk rules in force")
        parts.append(f"{len(self.open_positions)} positions open at the end")
        return "health: ok - " + ", ".join(parts)

    def lines(self) -> list[str]:
        """The full summary, one fact per line, for the CLI (printed under the metrics)."""
        out = [
            f"orders submitted {self.orders_submitted:,}, filled {self.orders_filled:,}, "
            f"rejected {self.orders_rejected}, expired {self.orders_expired}"
            + (" (kernel: counted from fills)" if self.engine == "kernel" else ""),
        ]
        for reason, count in self.rejected.items():
            out.append(f"  rejected {count}: {reason}")
        for reason, count in self.expired.items():
            out.append(f"  expired {count}: {reason}")
        if self.unfilled_at_end:
            out.append(f"sent after the last bar, no bar to fill them {self.unfilled_at_end}")
        out.append(f"intents denied {self.intents_denied}")
        for reason, count in self.denied.items():
            out.append(f"  denied {count}: {reason}")
        out.append(f"positions open at the end {len(self.open_positions)}")
        for p in self.open_positions:
            out.append(
                f"  {p['symbol']} {p['side']} {format_price(p['quantity'])} from "
                f"{format_price(p['entry_price'])} ({p['strategy']}), marked "
                f"{format_price(p['mark_price'])}: open PnL {format_number(p['open_pnl'])}"
            )
        dust = {s: d for s, d in self.dust.items() if float(d.get("quantity", 0) or 0)}
        out.append(f"dust {'none' if not dust else ''}".rstrip())
        for symbol, d in dust.items():
            out.append(
                f"  {symbol}: {format_number(d.get('quantity'))} {d.get('asset', '')} worth "
                f"{format_number(d.get('value'))}"
            )
        return out

    def as_dict(self) -> dict[str, Any]:
        """The JSON form (``"health"`` in the result document)."""
        return {
            "ok": self.ok,
            "problems": self.problems,
            "engine": self.engine,
            "orders_submitted": self.orders_submitted,
            "orders_filled": self.orders_filled,
            "orders_rejected": self.orders_rejected,
            "orders_expired": self.orders_expired,
            "rejected_by_reason": dict(self.rejected),
            "expired_by_reason": dict(self.expired),
            "orders_unfilled_at_end": self.unfilled_at_end,
            "intents_denied": self.intents_denied,
            "denied_by_reason": dict(self.denied),
            "open_positions": self.open_positions,
            "dust": dict(self.dust),
            "faults": list(self.faults),
        }


def _by_reason(counts: dict[str, int]) -> str:
    return ", ".join(f"{reason}: {count}" for reason, count in counts.items())


def _counted(values: Any) -> dict[str, int]:
    return dict(Counter(reason_key(str(v)) for v in values).most_common())


def run_health(
    *,
    engine: str,
    orders: pd.DataFrame,
    denials: pd.DataFrame,
    open_positions: list[dict[str, Any]],
    dust: dict[str, dict[str, Any]] | None = None,
    kernel_fills: int = 0,
    faults: list[str] | None = None,
) -> RunHealth:
    """The health of a run from its order and denial tables (as the backtest result holds them).

    ``kernel_fills`` counts the fills of a kernel run, which has no order table.
    """
    unfilled_at_end = 0
    if engine == "kernel" or orders.empty:
        submitted = filled = kernel_fills
        rejected: dict[str, int] = {}
        expired: dict[str, int] = {}
    else:
        status = orders["status"].astype(str)
        submitted = len(orders)
        filled = int((orders["filled"].astype(float) > 0).sum())
        why = orders["reject_reason"].fillna("").astype(str)
        ended = (status == "rejected") & (why == DATA_ENDED)
        unfilled_at_end = int(ended.sum())
        rejected = _counted(why[(status == "rejected") & ~ended])
        expired = _counted(why[status == "expired"])
    denied: dict[str, int] = {}
    rule_denials = 0
    if not denials.empty:
        # Keyed by code and reason: the code says which rule, the reason what it found.
        keys = [
            reason_key(str(reason))
            if code in ("", "denied")
            else f"{code}: {reason_key(str(reason))}"
            for code, reason in zip(denials["code"], denials["reason"], strict=True)
        ]
        denied = dict(Counter(keys).most_common())
        rule_denials = sum(v for k, v in denied.items() if _is_rule(k))
    return RunHealth(
        engine=engine,
        orders_submitted=submitted,
        orders_filled=filled,
        rejected=rejected,
        expired=expired,
        unfilled_at_end=unfilled_at_end,
        denied=denied,
        rule_denials=rule_denials,
        open_positions=open_positions,
        dust=dict(dust or {}),
        faults=list(faults or []),
    )
