"""``tradewind ctl``: the CLI operates a running bot through its API, as the dashboard and Telegram
do, on the bot trading the real BTC minutes on the simulated venue (checked on the venue's
request log); mistakes and refusals are one clear line."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from ops_bot import SYMBOL, Bot, make_bot
from rich.console import Console

from tradewind.cli.context import STATE
from tradewind.cli.main import run
from tradewind.core.algo_spec import parse_algo
from tradewind.ops.api import build_app
from tradewind.ops.server import ThreadedServer
from tradewind.persistence.execution import ExecutionStore
from tradewind.session.execution_recorder import ExecutionRecorder


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(STATE, "console", Console(width=200, no_color=True))
    monkeypatch.setattr(STATE, "err_console", Console(stderr=True, width=200, no_color=True))


def test_the_cli_pauses_exits_and_stops_a_running_bot(
    bot: Bot, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TRADEWIND__API__TOKEN", bot.tokens["trade"])
    said: dict[int, tuple[int, str, str]] = {}
    with ThreadedServer(build_app(bot.facade)) as server:
        url = ["--url", server.url]

        def ctl(i: int, *args: str) -> None:
            code = run(["ctl", *args, *url])
            out, err = capsys.readouterr()
            said[i] = (code, out, err)

        def operator(i: int, ctx: object) -> None:
            if i == 1000:
                ctl(i, "pause", "-r", "maintenance")
            elif i == 1500:
                ctl(i, "resume", "-r", "done")
            elif i == 2710:
                ctl(i, "force-exit", SYMBOL, "-r", "take it off")
            elif i == 3560:
                ctl(i - 1, "emergency-stop", "-r", "venue trouble")  # no --yes: refused
                ctl(i, "emergency-stop", "-r", "venue trouble", "--yes")

        bot.strategy.operator = operator
        bot.run()
        ctl(0, "status")
    assert said[1000][:2] == (0, "pause: paused\n")
    assert said[1500][:2] == (0, "resume: resumed\n")
    assert said[2710][0] == 0
    assert said[3559][0] != 0
    assert said[3559][2].strip() == (
        "error: the emergency stop cancels every order and flattens the bot: add --yes"
    )
    assert said[3560][0] == 0
    assert '"halted": true' in said[0][1]
    # The venue's side: no entry while paused, the forced exit at its bar, nothing after the stop.
    entries = [ts for ts, _ in bot.entries()]
    assert not [t for t in entries if bot.bar_close(1000) <= t < bot.bar_close(1500)]
    assert [t for t in entries if bot.bar_close(1500) <= t]
    exits = [o for kind, ts, o in bot.port.requests
             if kind == "submit" and o.reduce_only and ts == bot.bar_close(2710)]  # fmt: skip
    assert [o.tag.startswith("force exit") for o in exits] == [True]
    assert not [t for t in entries if t >= bot.bar_close(3560)]
    assert bot.node.account.open_positions() == []
    rows = list(reversed(bot.facade.operator_actions(10)))
    assert [r["action"] for r in rows] == ["pause", "resume", "force_exit", "emergency_stop"]
    assert {(r["actor"], r["channel"]) for r in rows} == {("token:trade-holder", "api")}


def test_a_missing_or_wrong_token_and_an_absent_bot_are_one_line(
    bot: Bot, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("TRADEWIND__API__TOKEN", raising=False)
    assert run(["ctl", "pause", "-r", "x"]) != 0
    assert capsys.readouterr().err.strip() == (
        "error: no API token: set TRADEWIND__API__TOKEN (tradewind api-token add)"
    )
    with ThreadedServer(build_app(bot.facade)) as server:
        monkeypatch.setenv("TRADEWIND__API__TOKEN", bot.tokens["read"])
        assert run(["ctl", "pause", "-r", "x", "--url", server.url]) != 0
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: the bot refused (403)"), err
        monkeypatch.setenv("TRADEWIND__API__TOKEN", "not-the-token-of-anyone")
        assert run(["ctl", "status", "--url", server.url]) != 0
        assert capsys.readouterr().err.strip().startswith("error: the bot refused (401)")
        gone = server.url
    assert run(["ctl", "status", "--url", gone]) != 0
    assert (
        capsys.readouterr().err.strip() == f"error: no answer from the bot at {gone}: ConnectError"
    )
    assert bot.node.paused == ""


def test_the_cli_reads_the_stored_parents_and_costs(
    minutes: pd.DataFrame,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bot = make_bot(minutes, tmp_path, execution=parse_algo("twap:horizon=5m,slices=5"))
    recorder = ExecutionRecorder(ExecutionStore(bot.database.engine, bot.database.bot_id), bot.node)
    recorder.attach(bot.node.bus)
    bot.run()
    stored = recorder.record_costs()
    monkeypatch.setenv("TRADEWIND__API__TOKEN", bot.tokens["read"])
    with ThreadedServer(build_app(bot.facade)) as server:
        assert run(["ctl", "parents", "--url", server.url]) == 0
        listed = json.loads(capsys.readouterr().out)
        assert run(["ctl", "parents", "--working", "--url", server.url]) == 0
        working = json.loads(capsys.readouterr().out)
        assert run(["ctl", "costs", "--url", server.url]) == 0
        costs = json.loads(capsys.readouterr().out)
    parents = bot.node.desk.parents()
    assert [row["parent_id"] for row in listed] == [p.parent_id for p in parents]
    assert {row["algo"] for row in listed} == {"twap"}
    assert [row["parent_id"] for row in working] == [p.parent_id for p in bot.node.desk.working]
    assert costs["records"] == stored > 0
    assert {row["algo"] for row in costs["by_algo"]} == {"twap", "twap.child"}
