"""The one kernel against the event engine on sampled combinations of what it must express.

Issue 15: {spot long, perpetual long/short} x {fee in the quote, the base, the currency received}
x {fixed, volatility slippage} x {latency} x {participation cap} x {funding} x {stop %, ATR stop,
trailing, break-even, time stop, take-profit} x {stake, fixed-fraction, fixed-risk, ATR sizing},
with the fill at the next open or the signal close and a few leverages, sampled with a fixed seed
on windows of the real bundled files. Every sampled combination either makes identical trades on
both engines (equity within 1e-6) or is refused by the kernel by name; the refused ones are listed
in :data:`REFUSED` and a test requires the sample to meet each of them, so nothing is skipped
silently.

A perpetual's fees are charged in its settlement currency (the quote here): the fee-currency
choice applies to spot. Funding exists only on the perpetual.
"""

from __future__ import annotations

import functools
import itertools
import random
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tradewind.backtest import backtest
from tradewind.backtest import inputs as backtest_inputs
from tradewind.backtest.result import BacktestResult
from tradewind.core.errors import UserError
from tradewind.core.instrument import FeeSide
from tradewind.testing.shared_data import candle_files, shared_data_dir

SEED = 15_2026
COUNT = 216
WINDOW = 700
"""Bars per run: a window of each file, at an offset drawn with the seed (keeps CI short)."""

SPOT_FILES = [p for p in candle_files() if not p.name.endswith("-futures.feather")]
PERP_FILES = [p for p in candle_files() if p.name.endswith("-futures.feather")]
PERP = "XRP/USDT:USDT"
STRATEGIES = {
    "sma_cross": {"fast": 3, "slow": 8},
    "ema_cross": {"fast": 3, "slow": 9},
    "donchian_breakout": {"entry_period": 5, "exit_period": 3},
    "supertrend_follow": {"period": 4, "multiplier": 1.0},
}
FEE_SIDES = {"quote": FeeSide.QUOTE, "base": FeeSide.BASE, "received": FeeSide.GET}
EXITS: dict[str, dict[str, object]] = {
    "stop_pct": {"stop_pct": 0.01},
    "atr_stop": {"stop_atr": 1.5, "atr_period": 10},
    "trailing": {"trailing_pct": 0.008},
    "breakeven": {"breakeven_trigger": 0.003, "breakeven_offset": 0.001},
    "time": {"max_bars": 12},
    "take_profit": {"take_profit_pct": 0.01},
}
SIZING: dict[str, dict[str, object] | None] = {
    "stake": None,  # no risk rules: the stake sizes
    "fixed_fraction": {"model": "fixed_fraction", "fraction": 0.5},
    "fixed_risk": {"model": "fixed_risk", "risk": 0.01},
    "atr": {"model": "volatility", "target": 0.005, "cap": 0.9},
}
_OFF = {"daily_loss": None, "max_drawdown": None}

REFUSED = {
    "latency": "order latency",
    "cap on the perpetual": "participation cap on the perpetual",
    "cap with fees in the base": "fees charged in the base currency",
    "cap with risk rules": "participation cap together with risk rules",
}
"""What the kernel still refuses, by the name its error gives (the event engine runs these)."""


@dataclass(frozen=True)
class Combo:
    """One sampled setup."""

    market: str  # "spot" (long only) or "perp" (long and short)
    file: str
    offset: int
    strategy: str
    fee_side: str
    slippage: str  # "fixed" or "volatility"
    latency: bool
    cap: bool
    funding: bool
    exits: tuple[str, ...]
    sizing: str
    fill: str
    leverage: int

    def refusal(self) -> str | None:
        """The name the kernel refuses this combination by (its checks' order), or None."""
        if self.latency:
            return REFUSED["latency"]
        if self.cap and self.market == "perp":
            return REFUSED["cap on the perpetual"]
        if self.cap and self.market == "spot" and self.fee_side != "quote":
            return REFUSED["cap with fees in the base"]
        if self.cap and self.sizing != "stake":
            return REFUSED["cap with risk rules"]
        return None


def _combos() -> list[Combo]:
    rng = random.Random(SEED)
    combos = []
    for k in range(COUNT):
        market = "spot" if k % 2 == 0 else "perp"
        path = rng.choice(SPOT_FILES if market == "spot" else PERP_FILES)
        sizing = rng.choice(list(SIZING))
        exits: tuple[str, ...] = ()
        if sizing != "stake":
            exits = tuple(sorted(rng.sample(list(EXITS), rng.randint(1, 3))))
            if sizing == "fixed_risk" and not {"stop_pct", "atr_stop"} & set(exits):
                exits = tuple(sorted({*exits, rng.choice(["stop_pct", "atr_stop"])}))
        combos.append(
            Combo(
                market=market,
                file=path.name,
                offset=rng.randrange(1000),
                strategy=rng.choice(list(STRATEGIES)),
                fee_side=rng.choice(list(FEE_SIDES)) if market == "spot" else "quote",
                slippage=rng.choice(["fixed", "volatility"]),
                latency=rng.random() < 0.05,
                cap=rng.random() < 0.2,
                funding=market == "perp" and rng.random() < 0.6,
                exits=exits,
                sizing=sizing,
                fill=rng.choice(["next_open", "close"]),
                leverage=rng.choice([1, 3, 20]) if market == "perp" else 1,
            )
        )
    return combos


COMBOS = _combos()


@functools.cache
def _frame(name: str) -> pd.DataFrame:
    path = next(p for p in candle_files() if p.name == name)
    if path.suffix == ".csv":
        frame = pd.read_csv(path)
        frame["date"] = pd.to_datetime(frame.pop("timestamp"), utc=True)
        return frame
    return pd.read_feather(path)


@functools.cache
def _funding() -> pd.DataFrame:
    root = shared_data_dir()
    assert root is not None
    # The recorded file keeps the rate in the ``open`` column (SOURCES.md).
    raw = pd.read_feather(root / "futures" / "XRP_USDT_USDT-8h-funding_rate.feather")
    return pd.DataFrame({"date": raw["date"], "rate": raw["open"]})


def _window(combo: Combo) -> pd.DataFrame:
    frame = _frame(combo.file)
    start = combo.offset % max(1, len(frame) - WINDOW)
    return frame.iloc[start : start + WINDOW].reset_index(drop=True)


def _run(combo: Combo, engine: str) -> BacktestResult:
    frame = _window(combo)
    params = dict(STRATEGIES[combo.strategy])
    risk = None
    if combo.sizing != "stake":
        exits: dict[str, object] = {"stop_pct": None}
        for name in combo.exits:
            exits |= EXITS[name]
        risk = {"sizing": SIZING[combo.sizing], "exits": exits, "breakers": _OFF}
    kwargs: dict[str, object] = {
        "fill": combo.fill,
        "engine": engine,
        "slippage_bps": 2.0,
        "volatility_slippage": 0.1 if combo.slippage == "volatility" else 0.0,
        "latency_ms": 50 if combo.latency else 0,
        "max_participation": 0.01 if combo.cap else 0.0,
        "risk": risk,
    }
    if combo.market == "perp":
        params["short"] = True
        funding = {PERP: _funding()} if combo.funding else None
        return backtest(combo.strategy, frame, params, cash=1000, fee=0.0005, symbol=PERP,
                        leverage=combo.leverage, funding=funding, **kwargs)  # fmt: skip
    bars = {"X/Q": backtest_inputs.bar_series(frame, "X/Q", None)}
    instrument = backtest_inputs.instruments_for(bars, None, None)["X/Q"]
    # The fee goes on the instrument: a ``fee`` argument would charge it in the quote.
    chosen = replace(instrument, maker_fee=Decimal("0.001"), taker_fee=Decimal("0.001"),
                     fee_side=FEE_SIDES[combo.fee_side])  # fmt: skip
    return backtest(combo.strategy, frame, params, cash=10.0, symbol="X/Q",
                    instruments={"X/Q": chosen}, **kwargs)  # fmt: skip


@functools.cache
def _outcome(index: int) -> tuple[int, str]:
    """``(trades, "")`` when both engines agree, ``(0, name)`` when refused by that name."""
    combo = COMBOS[index]
    name = combo.refusal()
    if name is not None:
        with pytest.raises(UserError, match=name):
            _run(combo, "kernel")
        return 0, name
    event, kernel = _run(combo, "event"), _run(combo, "kernel")
    _assert_identical(event, kernel, combo)
    return len(event.trades), ""


def _assert_identical(event: BacktestResult, kernel: BacktestResult, combo: Combo) -> None:
    columns = ["side", "reason", "entry_time", "exit_time", "entry_price", "exit_price",
               "quantity", "fees", "pnl"]  # fmt: skip
    a, b = event.trades[columns], kernel.trades[columns]
    for k, (x, y) in enumerate(itertools.zip_longest(a.itertuples(index=False),
                                                     b.itertuples(index=False))):  # fmt: skip
        same = x is not None and y is not None and x[:4] == y[:4]
        same = same and bool(np.allclose(x[4:], y[4:], rtol=1e-9, atol=1e-12))
        assert same, f"{combo}: first differing trade #{k}: event {x} vs kernel {y}"
    assert kernel.metrics["final_equity"] == pytest.approx(event.metrics["final_equity"], rel=1e-6)
    np.testing.assert_allclose(kernel.equity.to_numpy(), event.equity.to_numpy(), rtol=1e-6)


@pytest.mark.parametrize("index", range(COUNT))
def test_sampled_combination_trades_like_the_event_engine_or_is_refused_by_name(
    index: int, shared_data: Path
) -> None:
    _outcome(index)


def test_the_sample_covers_every_choice_and_meets_every_refusal(shared_data: Path) -> None:
    assert len(COMBOS) >= 200
    for field, wanted in [
        ("market", {"spot", "perp"}),
        ("fee_side", set(FEE_SIDES)),
        ("slippage", {"fixed", "volatility"}),
        ("latency", {True, False}),
        ("cap", {True, False}),
        ("funding", {True, False}),
        ("sizing", set(SIZING)),
        ("fill", {"next_open", "close"}),
    ]:
        assert {getattr(c, field) for c in COMBOS} >= wanted, field
    assert {e for c in COMBOS for e in c.exits} == set(EXITS)
    # Risk rules and the cap each on both markets where the kernel runs them.
    ran = [c for c in COMBOS if c.refusal() is None]
    assert {(c.market, c.sizing != "stake") for c in ran} == {
        (m, r) for m in ("spot", "perp") for r in (True, False)
    }
    assert any(c.cap for c in ran)
    assert {c.refusal() for c in COMBOS} - {None} == set(REFUSED.values())


def test_the_sample_is_not_vacuous(shared_data: Path) -> None:
    """Most runs trade, and the risk rules' exits fire on both markets."""
    outcomes = [_outcome(k) for k in range(COUNT)]
    ran = [k for k, (_, name) in enumerate(outcomes) if not name]
    assert len(ran) >= 150
    assert sum(outcomes[k][0] > 0 for k in ran) >= 0.9 * len(ran)
    assert sum(outcomes[k][0] for k in ran) >= 3000
