"""The backtest report in a real browser (Debian's chromium, driven by playwright): the headline
figures a trader reads first equal the result's metrics, nothing on the page is a raw float, a
repr or NaN, the page loads nothing from elsewhere, and the price chart stays readable with more
than a thousand trades (a range slider, at most 500 markers in view, each trade on zoom)."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tradewind.backtest import backtest
from tradewind.backtest.result import BacktestResult
from tradewind.data.bundled import load_bundled

CHROMIUM = os.environ.get("TRADEWIND_CHROMIUM", "/usr/bin/chromium")
# Chromium resolves nothing but the loopback (it would otherwise probe Google's hosts).
ARGS = ["--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost",
        "--disable-gpu"]  # fmt: skip
ARTIFACTS = Path(
    os.environ.get(
        "TRADEWIND_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts"
    )
)

# Every text node outside <script> and <style>: what a reader can see, plot labels included.
VISIBLE_TEXT = """() => {
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const out = [];
  while (walker.nextNode()) {
    const parent = walker.currentNode.parentNode.nodeName;
    if (parent !== 'SCRIPT' && parent !== 'STYLE') { out.push(walker.currentNode.textContent); }
  }
  return out.join('\\n');
}"""
MARKERS = """() => {
  const chart = document.querySelectorAll('.js-plotly-plot')[0];
  return {main: chart.querySelectorAll('.cartesianlayer .scatterlayer .point').length,
          sliders: chart.querySelectorAll('.rangeslider-container').length,
          grouped: chart.dataset.grouped, visible: Number(chart.dataset.visibleMarkers)};
}"""


@pytest.fixture(scope="module")
def busy_run() -> BacktestResult:
    """A fast SMA cross on the bundled real BTC month: about 1,500 closed trades."""
    frame, _ = load_bundled()
    result = backtest("sma_cross", frame, {"fast": 5, "slow": 20}, fee=0.001, symbol="BTC/USD")
    assert len(result.trades) >= 1_000
    return result


@pytest.fixture(scope="module")
def busy_report(busy_run: BacktestResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return busy_run.report(tmp_path_factory.mktemp("report") / "report.html")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if shutil.which(CHROMIUM) is None:
        pytest.fail(
            f"chromium not found at {CHROMIUM}: .ci/run installs Debian's chromium "
            "(apt-get install -y --no-install-recommends chromium)"
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield launched
        launched.close()


def _open(browser: Browser, path: Path) -> tuple[Page, list[str], list[str]]:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    errors: list[str] = []
    elsewhere: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    def only_the_file(route: object) -> None:
        request = route.request  # type: ignore[attr-defined]
        if request.url.startswith("file://"):
            route.continue_()  # type: ignore[attr-defined]
        else:
            elsewhere.append(request.url)
            route.abort()  # type: ignore[attr-defined]

    page.route("**/*", only_the_file)
    page.goto(path.as_uri())
    page.wait_for_selector(".js-plotly-plot .main-svg")
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot')[0].dataset.grouped")
    return page, errors, elsewhere


def _percent(fraction: float) -> str:
    return f"{fraction * 100:,.2f}%"


def test_headline_first_equal_to_the_metrics_and_nothing_unreadable(
    busy_run: BacktestResult, busy_report: Path, browser: Browser
) -> None:
    page, errors, elsewhere = _open(browser, busy_report)
    m = busy_run.metrics

    # The headline figures, as a trader writes them, each beside buy-and-hold.
    expected = {
        "total_return": (_percent(m["total_return"]), _percent(m["benchmark_total_return"])),
        "annual_return": (_percent(m["annual_return"]), _percent(m["benchmark_annual_return"])),
        "max_drawdown": (_percent(m["max_drawdown"]), _percent(m["benchmark_max_drawdown"])),
        "sharpe_ratio": (f"{m['sharpe_ratio']:.2f}", f"{m['benchmark_sharpe_ratio']:.2f}"),
        "sortino_ratio": (f"{m['sortino_ratio']:.2f}", f"{m['benchmark_sortino_ratio']:.2f}"),
        "trade_count": (f"{m['trade_count']:,}", "—"),
        "win_rate": (_percent(m["win_rate"]), "—"),
        "profit_factor": (f"{m['profit_factor']:.2f}", "—"),
        "exposure_time": (_percent(m["exposure_time"]), "100.00%"),
        "total_fees": (f"{m['total_fees']:,.2f} USD", "—"),
    }
    shown = page.evaluate("""() => Array.from(document.querySelectorAll('#headline .card')).map(
        c => [c.dataset.key, c.querySelector('[data-role=strategy]').textContent,
              c.querySelector('[data-role=buy-and-hold]').textContent])""")
    assert {key: (mine, bench) for key, mine, bench in shown} == expected
    assert [key for key, _, _ in shown] == list(expected)  # in reading order
    # The headline comes first: before the settings, every chart and every table.
    first = page.evaluate(
        "() => document.querySelector('#headline, h2, .js-plotly-plot, table').id"
    )
    assert first == "headline"

    settings = dict(
        page.evaluate("""() => Array.from(document.querySelectorAll('#settings tr')).map(
            r => [r.cells[0].textContent, r.cells[1].textContent])""")
    )
    assert settings["Strategy"] == "sma_cross"
    assert settings["Parameters"] == "fast=5, slow=20, short=no"
    assert settings["Fee per side"] == "0.10%"
    assert settings["Starting cash"] == "100,000.00 USD"
    assert settings["Data range"].startswith(m["start"][:10])
    assert f"({m['bars']:,} bars)" in settings["Data range"]
    assert settings["Risk rules in force"].startswith("none")

    text = page.evaluate(VISIBLE_TEXT)
    assert not re.search(r"\d\.\d{7,}", text), re.search(r".{30}\d\.\d{7,}.{10}", text)
    assert not re.search(r"\bnan\b", text, re.IGNORECASE)
    assert "{'" not in text
    assert not re.search(r"\d[eE][+-]\d", text)  # no exponents: 100,000 not 1e+05
    assert "1970" not in text  # the monthly heatmap's old bug
    assert errors == []
    assert elsewhere == []  # self-contained: nothing fetched from anywhere

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    # What a trader sees first: headline, settings, the price and equity charts.
    shot = ARTIFACTS / "report-1500-trades.png"
    page.screenshot(
        path=str(shot), full_page=True, clip={"x": 0, "y": 0, "width": 1400, "height": 2400}
    )
    assert shot.stat().st_size > 50_000


def test_a_thousand_trades_stay_readable_and_each_shows_on_zoom(
    busy_run: BacktestResult, busy_report: Path, browser: Browser
) -> None:
    page, errors, _ = _open(browser, busy_report)

    overview = page.evaluate(MARKERS)
    assert overview["sliders"] == 1
    assert overview["grouped"] == "true"
    assert 0 < overview["main"] <= 500
    assert overview["main"] == overview["visible"]

    # Six hours in view: every entry and exit in it, one marker each.
    start, end = (
        pd.Timestamp("2022-01-10 06:00", tz="UTC"),
        pd.Timestamp("2022-01-10 12:00", tz="UTC"),
    )
    page.evaluate(
        "([a, b]) => Plotly.relayout(document.querySelectorAll('.js-plotly-plot')[0],"
        " {'xaxis.range': [a, b]})",
        ["2022-01-10 06:00:00", "2022-01-10 12:00:00"],
    )
    page.wait_for_function(
        "document.querySelectorAll('.js-plotly-plot')[0].dataset.grouped === 'false'"
    )
    trades = busy_run.trades
    in_view = int(trades["entry_time"].between(start, end).sum()) + int(
        trades["exit_time"].between(start, end).sum()
    )
    zoomed = page.evaluate(MARKERS)
    assert in_view > 10
    assert zoomed["main"] == in_view
    # The original one-minute candles replace the resampled ones in view.
    detail, candle_times = page.evaluate(
        "() => { const g = document.querySelectorAll('.js-plotly-plot')[0];"
        " return [g.dataset.detail, Array.from(g.data[0].x)]; }"
    )
    assert detail == "true"
    assert "2022-01-10 06:01:00" in candle_times
    assert "2022-01-10 11:59:00" in candle_times
    # The price axis follows the zoom: it spans that morning's prices, not the month's.
    low, high = page.evaluate(
        "() => document.querySelectorAll('.js-plotly-plot')[0].layout.yaxis.range"
    )
    morning = busy_run.close["BTC/USD"].loc[start:end]
    assert low <= morning["low"].min()
    assert high >= morning["high"].max()
    assert high - low < 2 * (morning["high"].max() - morning["low"].min())
    assert errors == []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.locator(".js-plotly-plot").first.screenshot(path=str(ARTIFACTS / "report-zoomed.png"))


def test_a_run_with_few_trades_shows_every_marker(browser: Browser, tmp_path: Path) -> None:
    frame, _ = load_bundled()
    result = backtest("sma_cross", frame.head(3000), fee=0.001, symbol="BTC/USD")
    assert 0 < len(result.trades) <= 250

    page, errors, _ = _open(browser, result.report(tmp_path / "report.html"))

    markers = page.evaluate(MARKERS)
    assert markers["grouped"] == "false"
    assert markers["main"] == 2 * len(result.trades)
    assert errors == []
