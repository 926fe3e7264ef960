"""The screening kernel makes the same trades as the event engine: every built-in strategy, every
real candle file, each stake rule and fill mode; long and short on the real XRP perpetual with
leverage, the real funding series and liquidations; and both agree with plain per-bar loops.

A mismatch names the first differing trade.
"""

from __future__ import annotations

import functools
import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tradewind.backtest import backtest
from tradewind.backtest.result import BacktestResult
from tradewind.core.errors import UserError
from tradewind.testing.shared_data import candle_files

# Short look-backs so that every file, even the 100-bar one, gives enough trades to compare.
STRATEGIES = {
    "sma_cross": {"fast": 3, "slow": 8},
    "ema_cross": {"fast": 3, "slow": 9},
    "macd_adx_trend": {"fast": 4, "slow": 10, "signal": 3, "adx_period": 5, "adx_min": 10.0},
    "bb_rsi_meanrev": {
        "bb_period": 10,
        "bb_dev": 1.0,
        "rsi_period": 5,
        "rsi_low": 45.0,
        "rsi_high": 55.0,
    },
    "donchian_breakout": {"entry_period": 5, "exit_period": 3},
    "supertrend_follow": {"period": 4, "multiplier": 1.0},
}
STAKES = ["all", "40%", "amount"]
FILLS = ["next_open", "close"]
FILES = candle_files()


def _load(path: Path) -> pd.DataFrame:
    if path.suffix == ".csv":
        frame = pd.read_csv(path)
        frame["date"] = pd.to_datetime(frame.pop("timestamp"), utc=True)
        return frame
    return pd.read_feather(path)


def _first_difference(event: BacktestResult, kernel: BacktestResult) -> str:
    columns = ["symbol", "side", "reason", "entry_time", "exit_time", "entry_price", "exit_price",
               "quantity"]  # fmt: skip
    for k, (a, b) in enumerate(itertools.zip_longest(event.trades[columns].itertuples(index=False),
                                                     kernel.trades[columns].itertuples(index=False))):  # fmt: skip
        if a is None or b is None or a[:5] != b[:5] or not np.allclose(a[5:], b[5:], rtol=1e-9):
            return f"first differing trade #{k}: event {a} vs kernel {b}"
    return "no differing trade"


def _assert_same_trades(event: BacktestResult, kernel: BacktestResult) -> None:
    """Identical trade lists (symbol, side, entry and exit bar), final equity within 1e-6."""
    assert len(event.trades) == len(kernel.trades), _first_difference(event, kernel)
    for column in ("symbol", "side", "reason", "entry_time", "exit_time"):
        same = event.trades[column].to_numpy() == kernel.trades[column].to_numpy()
        assert same.all(), _first_difference(event, kernel)
    assert kernel.metrics["final_equity"] == pytest.approx(event.metrics["final_equity"], rel=1e-6)
    np.testing.assert_allclose(kernel.equity.to_numpy(), event.equity.to_numpy(), rtol=1e-6)


@pytest.mark.parametrize(
    ("strategy", "index"), list(itertools.product(STRATEGIES, range(len(FILES))))
)
def test_kernel_trades_equal_event_engine(strategy: str, index: int, shared_data: Path) -> None:
    path = FILES[index]
    frame = _load(path)
    params = STRATEGIES[strategy]
    rotation = (list(STRATEGIES).index(strategy) + index) % (len(STAKES) * len(FILLS))
    stake = STAKES[rotation % len(STAKES)]
    fill = FILLS[rotation // len(STAKES)]
    cash = 10.0
    if stake == "amount":
        stake = "3"  # a fixed quote amount per entry, below the cash
    runs = {
        engine: backtest(
            strategy,
            frame,
            params,
            cash=cash,
            fee=0.001,
            stake=stake,
            fill=fill,
            engine=engine,
            symbol="X/Q",
            slippage_bps=2.0,
        )
        for engine in ("event", "kernel")
    }
    event, kernel = runs["event"], runs["kernel"]
    # At least 20 trades per run; the 100-bar 1h futures file cannot hold that many round trips
    # of any sensible strategy, so it must give one per 25 bars instead.
    wanted = min(20, len(frame) // 25)
    assert len(event.trades) >= wanted, (
        f"{strategy} on {path.name}: only {len(event.trades)} trades"
    )
    _assert_same_trades(event, kernel)


def _reference_sma_cross(
    frame: pd.DataFrame, fast: int, slow: int, cash: float, fee: float
) -> tuple[int, float]:
    """SMA cross, all in, next open, written bar by bar with nothing shared with either engine."""
    close, open_ = frame["close"].to_numpy(), frame["open"].to_numpy()
    qty, trades = 0.0, 0
    previous = None
    for i in range(len(close)):
        now = None
        if i >= slow - 1:
            now = (close[i - fast + 1 : i + 1].mean(), close[i - slow + 1 : i + 1].mean())
        if now and previous and i + 1 < len(close):
            above = now[0] - now[1] > 1e-12 * max(abs(now[0]), abs(now[1]))
            below = now[1] - now[0] > 1e-12 * max(abs(now[0]), abs(now[1]))
            was_above = previous[0] - previous[1] > 1e-12 * max(abs(previous[0]), abs(previous[1]))
            was_below = previous[1] - previous[0] > 1e-12 * max(abs(previous[0]), abs(previous[1]))
            if qty == 0 and above and not was_above:
                price = open_[i + 1]
                qty = math.floor(cash / (price * (1 + fee)) / 1e-8 + 1e-9) * 1e-8
                cash -= qty * price * (1 + fee)
            elif qty > 0 and below and not was_below:
                cash += qty * open_[i + 1] * (1 - fee)
                qty, trades = 0.0, trades + 1
        previous = now
    return trades, cash + qty * close[-1]


@pytest.mark.parametrize("index", range(len(FILES)))
def test_both_engines_agree_with_a_plain_loop(index: int, shared_data: Path) -> None:
    frame = _load(FILES[index])
    # Cash large enough that the 1e-8 lot is negligible: the float loop cannot floor exactly as
    # the engine's Decimal does, and a tiny account magnifies every lot of difference.
    trades, equity = _reference_sma_cross(frame, 3, 8, 100_000.0, 0.001)
    for engine in ("event", "kernel"):
        result = backtest("sma_cross", frame, {"fast": 3, "slow": 8}, cash=100_000, fee=0.001,
                          engine=engine, symbol="X/Q")  # fmt: skip
        assert result.metrics["trade_count"] == trades
        # 1e-5: the float loop floors quantities to the lot in binary, the engines in Decimal; over
        # thousands of compounding trades the odd lot adds up to about a millionth.
        assert result.metrics["final_equity"] == pytest.approx(equity, rel=1e-5)


# -- linear perpetuals: long and short, leverage, funding, liquidation ---------------------------

PERP = "XRP/USDT:USDT"
PERP_FILES = [p for p in FILES if p.name.endswith("-futures.feather")]
# (leverage, fill, stake): a moderate account, a close-filled percent stake, and a fixed margin
# at 50x, where the real November 2021 moves reach the liquidation price.
PERP_SETUPS = [(3, "next_open", "all"), (20, "close", "40%"), (50, "next_open", "300")]


def _funding(shared_data: Path) -> pd.DataFrame:
    # The recorded file keeps the rate in the ``open`` column (SOURCES.md).
    raw = pd.read_feather(shared_data / "futures" / "XRP_USDT_USDT-8h-funding_rate.feather")
    return pd.DataFrame({"date": raw["date"], "rate": raw["open"]})


def _perp_runs(
    strategy: str,
    frame: pd.DataFrame,
    setup: tuple[int, str, str],
    funding: pd.DataFrame,
    volatility_slippage: float = 0.0,
) -> dict[str, BacktestResult]:
    leverage, fill, stake = setup
    return {
        engine: backtest(
            strategy,
            frame,
            {**STRATEGIES[strategy], "short": True},
            cash=1000,
            fee=0.0005,
            stake=stake,
            fill=fill,
            engine=engine,
            symbol=PERP,
            slippage_bps=2.0,
            volatility_slippage=volatility_slippage,
            leverage=leverage,
            funding={PERP: funding},
        )
        for engine in ("event", "kernel")
    }


@pytest.mark.parametrize(
    ("strategy", "index"), list(itertools.product(STRATEGIES, range(len(PERP_FILES))))
)
def test_kernel_trades_equal_event_engine_long_short_on_the_perpetual(
    strategy: str, index: int, shared_data: Path
) -> None:
    path = PERP_FILES[index]
    frame = _load(path)
    setup = PERP_SETUPS[(list(STRATEGIES).index(strategy) + index) % len(PERP_SETUPS)]
    runs = _perp_runs(strategy, frame, setup, _funding(shared_data))
    event, kernel = runs["event"], runs["kernel"]
    wanted = min(20, len(frame) // 25)
    assert len(event.trades) >= wanted, f"{strategy} on {path.name}: {len(event.trades)} trades"
    assert set(event.trades["side"]) == {"long", "short"}, "both sides must trade"
    _assert_same_trades(event, kernel)
    np.testing.assert_allclose(
        kernel.trades["funding"].to_numpy(), event.trades["funding"].to_numpy(), atol=1e-9
    )


def test_liquidations_and_funding_fire_identically(shared_data: Path) -> None:
    """50x on the 1h file: the real moves liquidate positions, and the real funding series is
    paid and received; both engines book the same liquidations and the same funding."""
    frame = _load(shared_data / "futures" / "XRP_USDT_USDT-1h-futures.feather")
    for strategy in ("sma_cross", "donchian_breakout"):
        runs = _perp_runs(strategy, frame, (50, "next_open", "300"), _funding(shared_data))
        event, kernel = runs["event"], runs["kernel"]
        _assert_same_trades(event, kernel)
        assert (event.trades["reason"] == "liquidation").sum() >= 2
        assert (event.trades["funding"] > 0).any()
        assert (event.trades["funding"] < 0).any()
        np.testing.assert_allclose(
            kernel.trades["funding"].to_numpy(), event.trades["funding"].to_numpy(), atol=1e-9
        )


def test_spot_short_signals_are_refused_by_name(shared_data: Path) -> None:
    frame = _load(FILES[0])
    with pytest.raises(UserError, match="short signals on the spot market"):
        backtest("sma_cross", frame, {"fast": 3, "slow": 8, "short": True}, engine="kernel",
                 symbol="X/Q")  # fmt: skip


def _reference_reversal(
    frame: pd.DataFrame, funding: pd.DataFrame, fast: int, slow: int, cash: float, fee: float,
    leverage: float,
) -> tuple[list[tuple[str, int, int]], float]:  # fmt: skip
    """SMA cross long/short with reversals on a linear perpetual, written bar by bar with nothing
    shared with either engine: next-open fills, all the wallet as margin, funding marked at the
    open of the bar holding the funding time, 0.4% maintenance margin. Returns the trades as
    ``(side, entry bar, exit bar)`` and the final equity."""
    close, open_ = frame["close"].to_numpy(), frame["open"].to_numpy()
    low, high = frame["low"].to_numpy(), frame["high"].to_numpy()
    ts = pd.DatetimeIndex(frame["date"]).as_unit("ms").asi8
    bar_ms = int(ts[1] - ts[0])
    f_ts = pd.DatetimeIndex(funding["date"]).as_unit("ms").asi8
    f_rate = funding["rate"].to_numpy()
    wallet, qty, entry, entry_bar, entry_ts, margin = cash, 0.0, 0.0, -1, 0, 0.0
    trades: list[tuple[str, int, int]] = []
    orders: list[str] = []  # what the previous close decided: "exit", "long", "short"

    def sma(i: int, p: int) -> float:
        return float(close[i - p + 1 : i + 1].mean())

    def state(i: int) -> int:
        if i < slow - 1:
            return 0
        a, b = sma(i, fast), sma(i, slow)
        tie = 1e-12 * max(abs(a), abs(b))
        return 1 if a - b > tie else (-1 if b - a > tie else 0)

    for i in range(len(close)):
        for order in orders:  # fills at this bar's open
            if order == "exit":
                wallet += qty * (open_[i] - entry) - abs(qty) * open_[i] * fee
                trades.append(("long" if qty > 0 else "short", entry_bar, i))
                qty, margin = 0.0, 0.0
            else:
                size = math.floor(wallet / (open_[i] * (1 / leverage + fee)) / 0.001 + 1e-9) * 0.001
                qty = size if order == "long" else -size
                entry, entry_bar, entry_ts = open_[i], i, ts[i]
                margin = size * entry / leverage
                wallet -= size * entry * fee
        orders = []
        if qty:
            for t, rate in zip(f_ts, f_rate, strict=True):
                if ts[i] <= t < ts[i] + bar_ms and t > entry_ts:
                    wallet -= qty * open_[i] * rate
            long = qty > 0
            mmr = 0.004
            level = entry * (1 - 1 / leverage) / (1 - mmr) if long else (
                entry * (1 + 1 / leverage) / (1 + mmr)
            )  # fmt: skip
            if (low[i] <= level) if long else (high[i] >= level):
                wallet -= margin
                trades.append(("long" if long else "short", entry_bar, i))
                qty, margin = 0.0, 0.0
        if i + 1 < len(close) and i >= slow:
            # Both averages are defined at i - 1 here (i >= slow), so a change of state is a cross.
            now, before = state(i), state(i - 1)
            up, down = now == 1 and before != 1, now == -1 and before != -1
            if qty > 0 and down:
                orders = ["exit", "short"]
            elif qty < 0 and up:
                orders = ["exit", "long"]
            elif qty == 0 and (up or down):
                orders = ["long" if up else "short"]
        equity = wallet + qty * (close[i] - entry)
    return trades, equity


def test_reversals_agree_with_a_plain_loop(shared_data: Path) -> None:
    frame = _load(shared_data / "futures" / "XRP_USDT_USDT-1h-futures.feather")
    funding = _funding(shared_data)
    trades, equity = _reference_reversal(frame, funding, 3, 8, 1000.0, 0.0005, 20.0)
    assert len(trades) >= 4
    assert {side for side, _, _ in trades} == {"long", "short"}
    ts = pd.DatetimeIndex(frame["date"])
    for engine in ("event", "kernel"):
        result = backtest("sma_cross", frame, {"fast": 3, "slow": 8, "short": True}, cash=1000,
                          fee=0.0005, engine=engine, symbol=PERP, leverage=20,
                          funding={PERP: funding})  # fmt: skip
        got = [
            (side, ts.get_loc(entry), ts.get_loc(exit_))
            for side, entry, exit_ in result.trades[["side", "entry_time", "exit_time"]].itertuples(
                index=False
            )
        ]
        assert got == trades, f"{engine}: {got[:5]} vs reference {trades[:5]}"
        assert result.metrics["final_equity"] == pytest.approx(equity, rel=1e-6)


@pytest.mark.parametrize("fill", FILLS)
def test_volatility_slippage_is_charged_identically(fill: str, shared_data: Path) -> None:
    """Slippage of a tenth of the fill bar's range (on top of 2 bps) on both engines: the venue
    charges it on next-open fills and not at a close; the kernel must do the same."""
    frame = _load(shared_data / "futures" / "XRP_USDT_USDT-5m-futures.feather")
    runs = _perp_runs(
        "ema_cross", frame, (3, fill, "all"), _funding(shared_data), volatility_slippage=0.1
    )
    _assert_same_trades(runs["event"], runs["kernel"])
    plain = _perp_runs("ema_cross", frame, (3, fill, "all"), _funding(shared_data))
    moved = runs["kernel"].trades["entry_price"] != plain["kernel"].trades["entry_price"]
    # Next-open fills pay the range term; close fills only the fixed part, so nothing moves.
    assert moved.any() == (fill == "next_open")


# -- the risk issue's stop/exit and sizing rules (breakers and limits off) -------------------------

_OFF = {"breakers": {"daily_loss": None, "max_drawdown": None}}
# Each supported rule appears at least once; rotated across the spot files and strategies.
RISK_SETUPS: list[dict[str, object]] = [
    {"sizing": {"model": "fixed_risk", "risk": 0.01},
     "exits": {"stop_pct": 0.01, "trailing_pct": 0.01, "max_bars": 20}},
    {"sizing": {"model": "fixed_fraction", "fraction": 0.5},
     "exits": {"stop_pct": None, "stop_atr": 2.0, "take_profit_r": 1.5, "atr_period": 10}},
    {"sizing": {"model": "volatility", "target": 0.005, "cap": 0.9},
     "exits": {"stop_pct": 0.02, "trailing_atr": 1.5, "trailing_activation": 0.004,
               "breakeven_trigger": 0.003, "breakeven_offset": 0.001}},
    {"sizing": {"model": "fixed_fraction", "fraction": 0.3},
     "exits": {"stop_pct": 0.015, "take_profit_pct": 0.01, "max_bars": 6}},
    {"sizing": {"model": "fixed_risk", "risk": 0.02},
     "exits": {"stop_pct": None, "stop_atr": 1.0, "breakeven_trigger": 0.002}},
]  # fmt: skip
SPOT_FILES = [p for p in FILES if not p.name.endswith("-futures.feather")]


@functools.cache
def _risk_run(index: int) -> dict[str, BacktestResult]:
    path = SPOT_FILES[index]
    frame = _load(path)
    strategy = list(STRATEGIES)[index % len(STRATEGIES)]
    setup = RISK_SETUPS[index % len(RISK_SETUPS)]
    fill = FILLS[index % 2]
    return {
        engine: backtest(strategy, frame, STRATEGIES[strategy], cash=10.0, fee=0.001, fill=fill,
                         engine=engine, symbol="X/Q", slippage_bps=2.0, risk={**setup, **_OFF})
        for engine in ("event", "kernel")
    }  # fmt: skip


@pytest.mark.parametrize("index", range(len(SPOT_FILES)))
def test_kernel_risk_rules_trade_like_the_event_engine(index: int, shared_data: Path) -> None:
    runs = _risk_run(index)
    event, kernel = runs["event"], runs["kernel"]
    wanted = min(20, len(_load(SPOT_FILES[index])) // 25)
    assert len(event.trades) >= wanted, f"{SPOT_FILES[index].name}: {len(event.trades)} trades"
    _assert_same_trades(event, kernel)


def test_every_stop_and_exit_rule_fires_in_the_risk_suite(shared_data: Path) -> None:
    fired: dict[str, int] = {}
    for index in range(len(SPOT_FILES)):
        for reason, count in _risk_run(index)["event"].trades["reason"].value_counts().items():
            fired[str(reason)] = fired.get(str(reason), 0) + int(count)
    for reason in ("signal", "stop", "trailing_stop", "breakeven_stop", "take_profit",
                   "time_stop"):  # fmt: skip
        assert fired.get(reason, 0) > 0, f"{reason} never fires: {fired}"


def test_risk_settings_beyond_the_kernel_are_refused_by_name(shared_data: Path) -> None:
    frame = _load(SPOT_FILES[0])
    cases = [
        ({"breakers": {"daily_loss": 0.02}}, "risk.breakers.daily_loss"),
        ({**_OFF, "limits": {"max_positions": 1}}, "risk.limits.max_positions"),
        ({**_OFF, "sizing": {"model": "kelly"}}, "sizing model 'kelly'"),
        ({**_OFF, "sizing": {"model": "fixed_fraction"}, "exits": {"scale_out": [[0.01, 0.5]]}},
         "scale-out"),
        ({**_OFF, "sizing": {"model": "fixed_fraction"}, "exits": {"pyramid_step": 0.01}},
         "pyramiding"),
    ]  # fmt: skip
    for risk, name in cases:
        with pytest.raises(UserError, match=name):
            backtest("sma_cross", frame, {"fast": 3, "slow": 8}, engine="kernel", symbol="X/Q",
                     risk=risk)  # fmt: skip


def _reference_trailing(
    frame: pd.DataFrame, pct: float, tick: float
) -> list[tuple[int, int, float, str]]:
    """SMA(3/8) cross long-only, entries at the next open, a trailing stop ``pct`` behind the
    highest high since the entry (raised after each completed bar), bar by bar, nothing shared
    with either engine. Returns ``(entry bar, exit bar, exit price, reason)`` per closed trade.

    Prices are whole numbers of ticks here: the file's computed floats (``5.9050000000000004e-05``)
    are the decimals they stand for, so a low at the stop's tick touches it."""
    close = frame["close"].to_numpy()
    open_, high, low = (np.round(frame[c].to_numpy() / tick) for c in ("open", "high", "low"))
    n = len(close)

    def above(a: float, b: float) -> bool:
        return a - b > 1e-12 * max(abs(a), abs(b))

    trades: list[tuple[int, int, float, str]] = []
    held, entry_bar, best = False, -1, 0.0
    pending_entry = pending_exit = False
    previous = None
    for j in range(n):
        if pending_exit:
            trades.append((entry_bar, j, open_[j] * tick, "signal"))
            held = pending_exit = False
        if pending_entry:
            held, pending_entry, entry_bar, best = True, False, j, open_[j]
        if held:
            level = round(best * (1 - pct))
            if open_[j] <= level or low[j] <= level:
                trades.append((entry_bar, j, min(open_[j], level) * tick, "trailing_stop"))
                held = False
        now = None
        if j >= 7:
            now = (close[j - 2 : j + 1].mean(), close[j - 7 : j + 1].mean())
        if now and previous and j + 1 < n:
            if held and above(now[1], now[0]) and not above(previous[1], previous[0]):
                pending_exit = True
            elif not held and above(now[0], now[1]) and not above(previous[0], previous[1]):
                pending_entry = True
        previous = now
        if held:
            best = max(best, high[j])
    return trades


def test_trailing_stop_of_both_engines_matches_a_plain_loop(shared_data: Path) -> None:
    path = SPOT_FILES[0]
    frame = _load(path)
    pct = 0.004
    risk = {**_OFF, "sizing": {"model": "fixed_fraction", "fraction": 0.5},
            "exits": {"stop_pct": None, "trailing_pct": pct}}  # fmt: skip
    results = [
        backtest("sma_cross", frame, {"fast": 3, "slow": 8}, cash=10.0, fee=0.001, engine=engine,
                 symbol="X/Q", risk=risk)
        for engine in ("event", "kernel")
    ]  # fmt: skip
    from tradewind.backtest import inputs as backtest_inputs

    tick = float(backtest_inputs.instruments_for(  # the tick the run's default instrument uses
        {"X/Q": backtest_inputs.bar_series(frame, "X/Q", None)}, None, None)["X/Q"].price_step)  # fmt: skip
    reference = _reference_trailing(frame, pct, tick)
    assert sum(r[3] == "trailing_stop" for r in reference) > 20
    dates = pd.DatetimeIndex(frame["date"])
    for result in results:
        assert len(result.trades) == len(reference)
        for row, (entry_bar, exit_bar, price, reason) in zip(
            result.trades.itertuples(index=False), reference, strict=True
        ):
            assert (row.entry_time, row.exit_time, row.reason) == (
                dates[entry_bar],
                dates[exit_bar],
                reason,
            )
            assert math.isclose(row.exit_price, price, rel_tol=1e-9)


CAPPED_FILES = [f for f in FILES if f.name in ("ADA_BTC-5m.feather", "XRP_ETH-5m.feather")]


@pytest.mark.parametrize(
    ("index", "fill", "stake"),
    list(itertools.product(range(len(CAPPED_FILES)), FILLS, ["all", "40%", "3"])),
)
def test_participation_cap_partial_fills_match_the_event_engine(
    index: int, fill: str, stake: str, shared_data: Path
) -> None:
    # These files' volume is in base units; 1% of a 5m bar is far less than 10 quote of the
    # coin, so entries and exits split over several bars and positions close in parts.
    frame = _load(CAPPED_FILES[index])
    runs = {
        engine: backtest(
            "sma_cross",
            frame,
            STRATEGIES["sma_cross"],
            cash=10.0,
            fee=0.001,
            stake=stake,
            fill=fill,
            engine=engine,
            symbol="X/Q",
            slippage_bps=2.0,
            max_participation=0.01,
        )
        for engine in ("event", "kernel")
    }
    event, kernel = runs["event"], runs["kernel"]
    assert len(event.trades) >= 20
    # A position closed in parts makes several trades with one entry time: partial fills happened.
    assert event.trades["entry_time"].duplicated().sum() >= 5
    _assert_same_trades(event, kernel)
    np.testing.assert_allclose(kernel.trades["quantity"], event.trades["quantity"], rtol=1e-9)
    np.testing.assert_allclose(kernel.trades["pnl"], event.trades["pnl"], rtol=1e-6, atol=1e-12)


def test_participation_cap_on_the_perpetual_or_with_risk_is_refused_by_name(
    shared_data: Path,
) -> None:
    frame = _load(CAPPED_FILES[0])
    with pytest.raises(UserError, match="participation cap together with risk"):
        backtest("sma_cross", frame, STRATEGIES["sma_cross"], engine="kernel", symbol="X/Q",
                 max_participation=0.01, risk={"exits": {"stop_pct": 0.02}})  # fmt: skip
    perp = _load(shared_data / "futures" / "XRP_USDT_USDT-5m-futures.feather")
    with pytest.raises(UserError, match="participation cap on the perpetual"):
        backtest("sma_cross", perp, STRATEGIES["sma_cross"], engine="kernel",
                 symbol="XRP/USDT:USDT", max_participation=0.01)  # fmt: skip
