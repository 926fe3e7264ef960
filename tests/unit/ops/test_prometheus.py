"""The dashboard and the rules: the files in deploy/ are what the generator writes, promtool
accepts the rules (every panel's PromQL is a recording rule there), every metric they name is one
the bot declares, and a real Prometheus (Debian's) scrapes a running bot with a read token and
evaluates the rules over what it scraped."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from ops_bot import Bot

from tradewind.ops import dashboard
from tradewind.ops.api import build_app
from tradewind.ops.metrics import METRIC_NAMES
from tradewind.ops.server import ThreadedServer

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} not found: .ci/run installs Debian's prometheus "
                    "(apt-get install -y --no-install-recommends prometheus)")  # fmt: skip
    return found


def test_deploy_files_are_generated_and_promtool_accepts_the_rules(tmp_path: Path) -> None:
    written = dashboard.write(tmp_path)
    for path in written:
        committed = DEPLOY / path.relative_to(tmp_path)
        assert committed.read_text() == path.read_text(), (
            f"{committed} is stale: run python -m tradewind.ops.dashboard deploy"
        )
    check = subprocess.run([_tool("promtool"), "check", "rules", str(written[1])],
                           check=False, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr
    assert f"SUCCESS: {len(dashboard.PANELS) + len(dashboard.ALERTS)} rules found" in check.stdout
    assert dashboard.metric_names() == set(METRIC_NAMES)
    panels = json.loads(written[0].read_text())["panels"]
    assert [p["targets"][0]["expr"] for p in panels] == [p.expr for p in dashboard.PANELS]


def _query(base: str, promql: str) -> list[dict[str, object]]:
    r = httpx.get(f"{base}/api/v1/query", params={"query": promql}, timeout=5)
    r.raise_for_status()
    return list(r.json()["data"]["result"])


def test_a_real_prometheus_scrapes_the_running_bot(bot: Bot, tmp_path: Path) -> None:
    prometheus = _tool("prometheus")
    app = build_app(bot.facade)
    bot.run()
    with ThreadedServer(app) as server:
        prom_port = _free_port()
        config = tmp_path / "prometheus.yml"
        config.write_text(
            "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            f"rule_files: [{json.dumps(str(DEPLOY / 'prometheus' / 'tradewind-rules.yml'))}]\n"
            "scrape_configs:\n"
            "  - job_name: tradewind\n"
            f"    authorization: {{credentials: {json.dumps(bot.tokens['read'])}}}\n"
            f"    static_configs: [{{targets: ['127.0.0.1:{server.port}']}}]\n"
        )
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        process = subprocess.Popen(
            [prometheus, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'data'}",
             f"--web.listen-address=127.0.0.1:{prom_port}", "--log.level=warn"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
        )  # fmt: skip
        base = f"http://127.0.0.1:{prom_port}"
        try:
            equity: list[dict[str, object]] = []
            recorded: list[dict[str, object]] = []
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not (equity and recorded):
                time.sleep(0.5)
                try:
                    equity = _query(base, "tradewind_equity")
                    recorded = _query(base, "tradewind:equity")
                except httpx.HTTPError:
                    continue
            assert equity, "no sample scraped within 30 s"
            value = equity[0]["value"]
            assert isinstance(value, list)
            assert float(value[1]) == pytest.approx(float(bot.node.account.equity()))
            assert recorded, "the recording rule did not evaluate"
            [target] = httpx.get(f"{base}/api/v1/targets", timeout=5).json()["data"][
                "activeTargets"
            ]
            assert target["health"] == "up", target["lastError"]
            names = {r["metric"]["__name__"] for r in _query(base, '{__name__=~"tradewind_.*"}')}  # type: ignore[index]
            assert {"tradewind_equity", "tradewind_fills_total", "tradewind_orders",
                    "tradewind_breaker_state"} <= names  # fmt: skip
        finally:
            process.terminate()
            process.wait(timeout=10)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
