"""The dashboard's parent-orders panel in a real browser (Debian's chromium, driven by
playwright): the bot's stored parents with what their children filled, and the stored execution
costs by algorithm, the same numbers as the API's ``/parents`` and ``/costs/stored``.

The bot trades the real BTC minutes on the simulated venue with every entry and exit carried out
as a five-minute TWAP, its parents written ahead and its costs recorded into its database as a
session's recorder does; the panel is read after the run, and rendered to a PNG.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from ops_bot import make_bot
from playwright.sync_api import Browser, sync_playwright
from test_dashboard_browser import ARGS, ARTIFACTS, CHROMIUM, ROWS, Operator, _api, _refreshed

from tradewind.core.algo_spec import parse_algo
from tradewind.ops.api import build_app
from tradewind.ops.server import ThreadedServer
from tradewind.persistence.execution import ExecutionStore
from tradewind.session.execution_recorder import ExecutionRecorder


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"chromium not found at {CHROMIUM}: .ci/run installs Debian's chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield launched
        launched.close()


def _same(shown: str | None, answered: object) -> bool:
    """A cell's exact value (``data-value``) against the API's: numbers as numbers (JavaScript
    and Python spell some floats differently), None as an empty value."""
    if answered is None:
        return shown == ""
    if isinstance(answered, float | int) and not isinstance(answered, bool):
        return shown != "" and float(shown or "nan") == float(answered)
    return shown == str(answered)


def test_the_parents_panel_shows_the_stored_parents_and_costs_as_the_api_answers(
    minutes: pd.DataFrame, chromium: Browser, tmp_path: Path
) -> None:
    # The minutes end while the last parent still works.
    bot = make_bot(minutes.iloc[:1210], tmp_path, execution=parse_algo("twap:horizon=20m,slices=5"))
    recorder = ExecutionRecorder(ExecutionStore(bot.database.engine, bot.database.bot_id), bot.node)
    recorder.attach(bot.node.bus)
    bot.run()
    assert recorder.record_costs() > 0
    token = bot.tokens["read"]
    with ThreadedServer(build_app(bot.facade)) as server:
        context = chromium.new_context(viewport={"width": 1400, "height": 900})
        person = Operator(context, server.url)
        page = person.open()
        page.goto(f"{server.url}/dashboard/login")
        page.fill("#token", token)
        page.click("#login")
        page.wait_for_url("**/dashboard")
        _refreshed(page)
        parents = _api(server.url, token, "parents")
        stored = _api(server.url, token, "costs/stored")
        rows = page.evaluate(ROWS, "parents")
        by_algo = page.evaluate(ROWS, "stored-costs")
        heads = page.locator("#parents thead th").all_inner_texts()
        count = page.locator("#parents-count").inner_text()
        panel = page.locator("#parents-panel")
        panel.scroll_into_view_if_needed()
        panel.screenshot(path=str(tmp_path / "parents-panel.png"))
        person.close(page)
        context.close()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(tmp_path / "parents-panel.png", ARTIFACTS / "parents-panel.png")
    assert person.errors == []
    assert person.elsewhere == []

    # Every working parent, then the latest 20 ended ones, newest first.
    working = [p for p in parents if p["status"] == "working"]
    ended = [p for p in parents if p["status"] != "working"]
    assert working, "no parent works at the end: the working rows go untested"
    assert len(ended) > 20, "too few parents to show the panel's limit"
    expected = sorted(working, key=lambda p: -p["created"]) + sorted(
        ended, key=lambda p: -p["created"])[:20]  # fmt: skip
    assert [r["key"] for r in rows] == [p["parent_id"] for p in expected]
    assert count == f"{len(working)} working; {len(ended)} ended, the latest 20 shown"
    column = {name: k for k, name in enumerate(heads)}
    answered = {p["parent_id"]: p for p in parents}
    measured = 0
    for row in rows:
        parent = answered[row["key"]]
        values, cells = row["values"], row["cells"]
        assert cells[column["Status"]] == parent["status"]
        assert cells[column["Algorithm"]] == parent["algo"] == "twap"
        for name, key in (("Quantity", "quantity"), ("Filled", "filled"), ("Fill", "fill_pct"),
                          ("Children", "children"), ("Shortfall", "shortfall_bps"),
                          ("Total cost", "total_cost_bps")):  # fmt: skip
            assert _same(values[column[name]], parent[key]), (row["key"], name, values, parent)
        if parent["status"] != "working" and parent["shortfall_bps"] is not None:
            measured += 1
            assert cells[column["Shortfall"]] == f"{parent['shortfall_bps']:,.2f} bps".replace(
                "-0.00", "0.00")  # fmt: skip
            assert cells[column["Fill"]] == f"{parent['fill_pct']:.1f}%"
        if parent["status"] == "working":
            assert cells[column["Shortfall"]] == "working"
    assert measured >= 3, "too few measured parents"
    # The stored costs by algorithm: the parents and their children, as the API aggregates them.
    assert [r["key"] for r in by_algo] == [r["algo"] for r in stored["by_algo"]]
    assert {r["key"] for r in by_algo} == {"twap", "twap.child"}
    for row, expect in zip(by_algo, stored["by_algo"], strict=True):
        assert _same(row["values"][1], expect["count"])
        assert _same(row["values"][2], expect["shortfall_bps"])
        assert _same(row["values"][5], expect["total_cost_bps"])
    assert (tmp_path / "parents-panel.png").stat().st_size > 10_000
