"""The ``tradewind data`` commands end to end: exit codes, tables, messages (``tradewind demo``:
cli/test_demo.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from tradewind.cli.context import STATE
from tradewind.cli.main import run
from tradewind.data.catalog import Catalog, SeriesKey
from tradewind.data.kinds import DataKind


def _cli(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    env = {k: v for k, v in env.items() if not k.startswith("TRADEWIND__")}
    return subprocess.run(
        [sys.executable, "-m", "tradewind.cli.main", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _freqtrade_folder(shared_data: Path, root: Path) -> Path:
    """A Freqtrade user_data/data/binance folder: feather and JSON files, futures sub-folder."""
    folder = root / "user_data" / "data" / "binance"
    (folder / "futures").mkdir(parents=True)
    for path in (shared_data / "candles").glob("*.feather"):
        (folder / path.name).write_bytes(path.read_bytes())
    for path in (shared_data / "futures").iterdir():
        (folder / "futures" / path.name).write_bytes(path.read_bytes())
    # One series only as Freqtrade's JSON layout: [[ms, o, h, l, c, v], ...].
    eth = folder / "ETH_BTC-5m.feather"
    frame = pd.read_feather(eth)
    ms = frame["date"].astype("datetime64[ms, UTC]").astype("int64")
    rows = np.column_stack([ms, frame[["open", "high", "low", "close", "volume"]].to_numpy()])
    (folder / "ETH_BTC-5m.json").write_text(
        "["
        + ",".join(f"[{int(r[0])},{','.join(repr(float(x)) for x in r[1:])}]" for r in rows)
        + "]"
    )
    eth.unlink()
    return folder


def test_freqtrade_folder_imports_in_one_subprocess_command(
    shared_data: Path, tmp_path: Path
) -> None:
    folder = _freqtrade_folder(shared_data, tmp_path)
    done = _cli("data", "import", str(folder), "--data-dir", str(tmp_path / "cat"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "14 series stored" in done.stdout
    assert "ETH_BTC-5m.json" in done.stdout
    keys = Catalog(tmp_path / "cat").keys()
    assert SeriesKey("binance", "ETH/BTC", "5m", DataKind.CANDLES) in keys
    assert SeriesKey("binance", "XRP/USDT:USDT", "8h", DataKind.FUNDING) in keys
    assert SeriesKey("binance", "XRP/USDT:USDT", "1h", DataKind.MARK) in keys


def test_corrupted_file_is_refused_in_a_subprocess_naming_the_row(
    shared_data: Path, tmp_path: Path
) -> None:
    frame = pd.read_feather(shared_data / "candles" / "TRX_BTC-5m.feather")
    frame.loc[77, "volume"] = -3.0
    path = tmp_path / "TRX_BTC-5m.feather"
    frame.to_feather(path)
    done = _cli("data", "import", str(path), "--data-dir", str(tmp_path / "cat"), cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "error: TRX_BTC-5m.feather refused (see --repair drop|ffill|snap): 1 error; first: row 77 "
        "(0-based, as read) at 2018-01-10 11:20:00 UTC: volume -3.0 is negative"
    )


# In-process runs through tradewind.cli.main.run, the console script's entry point.


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables wide enough that cells are not cut, and no colour codes in the captured text."""
    monkeypatch.setattr(STATE, "console", Console(width=200, no_color=True))
    monkeypatch.setattr(STATE, "err_console", Console(stderr=True, width=200, no_color=True))


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_import_csv_list_show_validate_resample(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cat = str(tmp_path / "cat")
    csv = str(shared_data / "candles" / "btc-perp-20211231-20220201_1m.csv")
    code, out, err = _run(
        capsys, "data", "import", csv, "--symbol", "BTC/USD:USD", "--timeframe", "1m",
        "--exchange", "nautilus", "--volume-unit", "quote", "--data-dir", cat,
    )  # fmt: skip
    assert code == 0, err
    assert "45,031" in out
    meta = Catalog(Path(cat)).meta(SeriesKey("nautilus", "BTC/USD:USD", "1m", DataKind.CANDLES))
    assert meta.volume_unit.value == "quote"
    assert "volume_unit" not in meta.defaulted

    code, out, err = _run(capsys, "data", "list", "--data-dir", cat)
    assert code == 0, err
    assert "BTC/USD:USD" in out
    assert "nautilus" in out

    code, out, err = _run(
        capsys,
        "data",
        "show",
        "--symbol",
        "BTC/USD:USD",
        "-t",
        "1m",
        "-e",
        "nautilus",
        "--data-dir",
        cat,
    )
    assert code == 0, err
    assert "45,031 rows" in out
    assert "0.125" in out  # the inferred tick in the metadata table

    code, out, err = _run(
        capsys, "data", "validate", "--symbol", "BTC/USD:USD", "-t", "1m", "-e", "nautilus",
        "--data-dir", cat,
    )  # fmt: skip
    assert code == 0, err
    assert "errors" in out

    code, out, err = _run(
        capsys, "data", "resample", "--to", "1h", "--symbol", "BTC/USD:USD", "-t", "1m",
        "-e", "nautilus", "--data-dir", cat,
    )  # fmt: skip
    assert code == 0, err
    hourly = Catalog(Path(cat)).read(SeriesKey("nautilus", "BTC/USD:USD", "1h", DataKind.CANDLES))
    assert len(hourly) == 750  # 23:00 on Dec 31 to 04:00 on Feb 1; the 05:00 hour is not closed


def test_validate_a_file_lists_gaps_and_exits_0(
    shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = shared_data / "candles" / "XRP_ETH-5m.feather"
    code, out, err = _run(capsys, "data", "validate", str(path))
    assert code == 0, err
    assert "6 (" in out  # 6 gaps
    assert "gap of 1 missing 5m candle(s)" in out


def test_validate_a_bad_file_exits_3_with_the_first_row(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = pd.read_feather(shared_data / "candles" / "XLM_BTC-5m.feather")
    frame.loc[300, "date"] = frame.loc[300, "date"] + pd.Timedelta(seconds=90)
    path = tmp_path / "XLM_BTC-5m.feather"
    frame.to_feather(path)
    code, out, err = _run(capsys, "data", "validate", str(path))
    assert code == 3  # the check ran and found a problem
    assert "misaligned-date" in out
    assert err.strip().startswith("check failed: XLM_BTC-5m.feather: 1 error; first: row 300")


def test_import_with_repair_snap_says_what_it_did(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = shared_data / "futures" / "XRP_USDT_USDT-8h-funding_rate.feather"
    code, out, err = _run(
        capsys, "data", "import", str(path), "--repair", "snap", "--data-dir", str(tmp_path)
    )
    assert code == 0, err
    assert "snap: 59 row(s) moved onto the grid" in out
    assert "snap: row 0 (0-based, as read) at 2021-11-18 00:00:00.017 UTC: moved -17 ms" in out
    stored = Catalog(tmp_path).read(SeriesKey("binance", "XRP/USDT:USDT", "8h", DataKind.FUNDING))
    assert (stored["date"].astype("int64") % (8 * 3_600_000) == 0).all()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["data", "show", "--data-dir", "{tmp}"], "error: give --symbol"),
        (
            ["data", "show", "--symbol", "ETH/BTC", "-t", "5m", "--data-dir", "{tmp}"],
            "error: no stored series binance ETH/BTC 5m candles",
        ),
        (
            ["data", "import", "{file}", "--symbol", "BTC/USD:USD", "--data-dir", "{tmp}"],
            "error: give --timeframe for",
        ),
        (
            ["data", "import", "{file}", "--symbol", "BTCUSD", "-t", "1m", "--data-dir", "{tmp}"],
            "error: symbol 'BTCUSD' is not in ccxt form",
        ),
        (
            ["data", "import", "{file}", "--symbol", "BTC/USD", "-t", "1m", "--price-step", "x"],
            "error: --price-step must be a number, got 'x'",
        ),
        (
            [
                "data",
                "resample",
                "--to",
                "7m",
                "--symbol",
                "ETH/BTC",
                "-t",
                "5m",
                "--data-dir",
                "{tmp}",
            ],
            "error: no stored series",
        ),
        (["data", "list", "--data-dir", "{tmp}", "--bogus"], "No such option: --bogus"),
        (["data", "import", "{tmp}/missing.csv"], "error: not found:"),
    ],
)
def test_user_mistakes_exit_2_with_one_line(
    shared_data: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    csv = str(shared_data / "candles" / "btc-perp-20211231-20220201_1m.csv")
    filled = [a.replace("{tmp}", str(tmp_path)).replace("{file}", csv) for a in args]
    code, _, err = _run(capsys, *filled)
    assert code == 2
    assert message in err
    assert "Traceback" not in err
    if message.startswith("error:"):
        assert len(err.strip().splitlines()) == 1


def test_resample_refuses_a_target_that_is_not_a_multiple(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(shared_data / "candles" / "ETH_BTC-5m.feather")
    assert _run(capsys, "data", "import", path, "--data-dir", str(tmp_path))[0] == 0
    code, _, err = _run(
        capsys, "data", "resample", "--to", "7m", "--symbol", "ETH/BTC", "-t", "5m",
        "--data-dir", str(tmp_path),
    )  # fmt: skip
    assert code == 2
    assert "cannot resample 5m candles to 7m" in err


def test_append_mode_resumes_a_series(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = pd.read_feather(shared_data / "candles" / "ETC_BTC-5m.feather")
    first, second = tmp_path / "a" / "ETC_BTC-5m.feather", tmp_path / "b" / "ETC_BTC-5m.feather"
    first.parent.mkdir()
    second.parent.mkdir()
    frame.iloc[:3000].reset_index(drop=True).to_feather(first)
    frame.iloc[2500:].reset_index(drop=True).to_feather(second)
    cat = str(tmp_path / "cat")
    assert _run(capsys, "data", "import", str(first), "--data-dir", cat)[0] == 0
    code, _, err = _run(
        capsys, "data", "import", str(second), "--mode", "append", "--data-dir", cat
    )
    assert code == 0, err
    stored = Catalog(Path(cat)).read(SeriesKey("binance", "ETC/BTC", "5m", DataKind.CANDLES))
    assert len(stored) == len(frame)
