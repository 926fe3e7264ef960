"""Every real candle file through the user's own path: ``data import`` with its defaults, then
``backtest`` with default flags, for every built-in strategy, on both engines, through the CLI's
entry function (in process).

No engine-caused rejection anywhere (it would stop the run with ``EngineRejectionError``), every
order of the event engine filled (but one sent at the last close, after which no bar comes), the
kernel refuses none of these runs (exit 0), both engines make the same trades, and SMA cross,
whose averages are exact as integer sums on the tick grid, makes exactly as many round trips as a
plain integer loop says.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tradewind.cli.main import run
from tradewind.data.catalog import Catalog, SeriesKey
from tradewind.data.kinds import DataKind
from tradewind.strategies.registry import registered_names
from tradewind.testing.shared_data import candle_files

FILES = candle_files()
STRATEGIES = registered_names()
CSV_SYMBOL = "BTC/USD:USD"  # the bundled month is not named the Freqtrade way: say what it is


def _import_args(path: Path) -> list[str]:
    if path.suffix == ".csv":
        return ["data", "import", str(path), "--symbol", CSV_SYMBOL, "--timeframe", "1m"]
    return ["data", "import", str(path)]


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every real candle file imported with the defaults into one fresh catalog."""
    folder = tmp_path_factory.mktemp("catalog")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TRADEWIND__DATA__DIR", str(folder))
        for path in FILES:
            assert run(_import_args(path)) == 0, f"data import {path.name} failed"
    return folder


def _series(catalog: Path, path: Path) -> SeriesKey:
    """The catalog key ``data import`` stored ``path`` under."""
    stored = Catalog(catalog)
    keys = [k for k in stored.keys() if k.kind is DataKind.CANDLES]  # noqa: SIM118
    if path.suffix == ".csv":
        return next(k for k in keys if k.symbol == CSV_SYMBOL)
    stem = path.stem.removesuffix("-futures")
    name, timeframe = stem.rsplit("-", 1)
    found = [k for k in keys if str(k.tf) == timeframe and k.symbol.replace("/", "_").replace(":", "_")
             == name]  # fmt: skip
    assert len(found) == 1, f"{path.name}: stored as {found}"
    return found[0]


def _backtest(
    catalog: Path, key: SeriesKey, strategy: str, engine: str, out: Path
) -> dict[str, Any]:
    document = out / f"{engine}.json"
    args = ["backtest", "-s", strategy, "--symbol", key.symbol, "-t", str(key.tf),
            "--engine", engine, "--json", str(document)]  # fmt: skip
    if engine == "event":
        args += ["--export", str(out / "event")]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TRADEWIND__DATA__DIR", str(catalog))
        code = run(args)
    assert code == 0, f"{engine} refused {strategy} on {key.symbol} {key.tf} (exit {code})"
    loaded: dict[str, Any] = json.loads(document.read_text(encoding="utf-8"))
    return loaded


def _same_trades(event: list[dict[str, Any]], kernel: list[dict[str, Any]]) -> str | None:
    """The first difference between two trade lists, or None."""
    if len(event) != len(kernel):
        return f"{len(event)} trades on the event engine, {len(kernel)} on the kernel"
    for k, (a, b) in enumerate(zip(event, kernel, strict=True)):
        if (a["side"], a["entry_time"], a["exit_time"]) != (
            b["side"], b["entry_time"], b["exit_time"]
        ):  # fmt: skip
            return f"trade #{k}: event {a} vs kernel {b}"
        for field in ("entry_price", "exit_price", "quantity", "fees"):
            if not np.isclose(a[field], b[field], rtol=1e-9, atol=0.0):
                return f"trade #{k} {field}: event {a[field]!r} vs kernel {b[field]!r}"
        scale = a["quantity"] * a["entry_price"]
        if abs(a["pnl"] - b["pnl"]) > 1e-9 * scale:
            return f"trade #{k} pnl: event {a['pnl']!r} vs kernel {b['pnl']!r}"
    return None


def _reference_sma_cross_trades(close: np.ndarray, tick: float, fast: int, slow: int) -> int:
    """Round trips of a long-only SMA(fast/slow) cross filled at the next open, in integers.

    Prices are whole numbers of ticks, so the window sums are exact integers and comparing
    ``sum_fast x slow`` with ``sum_slow x fast`` decides every crossing without rounding.
    """
    ticks = np.round(close / tick).astype(np.int64)
    assert np.allclose(ticks * tick, close, rtol=1e-9)  # the data is on its tick
    total = np.concatenate([[0], np.cumsum(ticks)])
    n = len(ticks)
    held, trades = False, 0
    was_above = was_below = False
    for i in range(slow - 1, n):
        fast_sum = int(total[i + 1] - total[i + 1 - fast])
        slow_sum = int(total[i + 1] - total[i + 1 - slow])
        above, below = fast_sum * slow > slow_sum * fast, fast_sum * slow < slow_sum * fast
        if i >= slow and i < n - 1:  # both bars defined; an order at the last close never fills
            entry, exit_ = above and not was_above, below and not was_below
            if held and exit_:
                held, trades = False, trades + 1
            elif not held and entry and not exit_:
                held = True
        was_above, was_below = above, below
    return trades


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_imported_file_backtests_alike_on_both_engines(
    path: Path, strategy: str, catalog: Path, tmp_path: Path
) -> None:
    key = _series(catalog, path)

    event = _backtest(catalog, key, strategy, "event", tmp_path)
    kernel = _backtest(catalog, key, strategy, "kernel", tmp_path)

    if event["trades"] or (tmp_path / "event" / "orders.csv").stat().st_size > 1:
        orders = pd.read_csv(tmp_path / "event" / "orders.csv")
        # Every order filled, but one made at the last bar's close: the data ends before it can.
        reasons = orders["reject_reason"].astype("string").fillna("")
        ended = reasons.str.startswith("No more market data")
        unfilled = orders[(orders["status"] != "filled") & ~ended]
        assert unfilled.empty, unfilled.head()
        assert ended.sum() <= 1
    difference = _same_trades(event["trades"], kernel["trades"])
    assert difference is None, f"{strategy} on {path.name}: {difference}"
    assert kernel["metrics"]["final_equity"] == pytest.approx(
        event["metrics"]["final_equity"], rel=1e-9
    )
    if strategy == "sma_cross":
        frame = Catalog(catalog).read(key)
        tick = float(Catalog(catalog).meta(key).instrument.price_step)
        expected = _reference_sma_cross_trades(frame["close"].to_numpy(), tick, 10, 30)
        assert expected >= min(10, len(frame) // 100)  # the 100-bar 1h file holds one
        assert len(event["trades"]) == expected
