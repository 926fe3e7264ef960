"""SEC-1: canary credentials go through the keystore, the real ccxt client, provoked errors,
a bug traceback, a backtest, and a paper and a live session serving the operator API, Telegram and
notifications, at DEBUG for every logger; no trace of them comes out anywhere: not in stdout,
stderr, any file under the run (logs, run folders, databases and their dumps), any API answer,
Telegram message or notification received."""

from __future__ import annotations

import base64
import json
import secrets
import sqlite3
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote, quote_plus

SESSION = Path(__file__).with_name("leak_session.py")


def _forms(canary: str) -> set[str]:
    raw = canary.encode()
    forms = {canary, quote(canary, safe=""), quote_plus(canary), raw.hex(), raw.hex().upper()}
    for encoded in (base64.b64encode(raw), base64.urlsafe_b64encode(raw)):
        forms |= {encoded.decode(), encoded.decode().rstrip("=")}
    forms |= {canary[i : i + 12] for i in range(len(canary) - 11)}
    return forms


def _corpus(work: Path, stdout: str, stderr: str) -> dict[str, str]:
    texts = {"stdout": stdout, "stderr": stderr}
    for path in work.rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        texts[str(path.relative_to(work))] = data.decode("latin-1")
        if data.startswith(b"SQLite format 3"):
            connection = sqlite3.connect(path)
            try:
                texts[f"{path.relative_to(work)} (dump)"] = "\n".join(connection.iterdump())
            finally:
                connection.close()
    return texts


def test_canaries_never_leak(tmp_path: Path) -> None:
    # Canaries of letters only, with characters that URL-encoding changes.
    api_key = "CanaryKey+" + secrets.token_urlsafe(24).replace("-", "x").replace("_", "y")
    api_secret = "CanarySecret/" + secrets.token_urlsafe(24).replace("-", "x").replace("_", "y")
    bot_token = "987654321:CanaryBot" + secrets.token_hex(12)
    password = "CanaryHook" + secrets.token_hex(10)
    work = tmp_path / "run"
    work.mkdir()
    completed = subprocess.run(
        [sys.executable, str(SESSION), str(work), api_key, api_secret, bot_token, password],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    # The session did what it says: DEBUG request logs of ccxt, the provoked errors, a bug report.
    assert "Request:" in completed.stderr
    assert "X-MBX-APIKEY" in completed.stderr
    assert "provoked failure" in completed.stderr
    assert "internal error" in completed.stderr
    assert (work / "exceptions.txt").read_text().count("\n") >= 3
    corpus = _corpus(work, completed.stdout, completed.stderr)
    assert any(name.endswith("keystore.twk") for name in corpus)
    # The sessions did what they say: both traded and served their operators.
    for mode in ("paper", "live"):
        answers = json.loads((work / mode / "api.json").read_text())
        assert '"mode":"' + mode + '"' in answers["status"]
        assert any(name.startswith(f"{mode}/bots/") and "(dump)" in name for name in corpus)
    assert len(json.loads((work / "telegram.json").read_text())) >= 12
    notified = json.loads((work / "notifications.json").read_text())
    assert any("provoked error" in n["body"] for n in notified)
    hits = [
        (name, form)
        for canary in (api_key, api_secret, bot_token, password)
        for form in _forms(canary)
        for name, text in corpus.items()
        if form in text
    ]
    assert hits == []


def test_tracebacks_never_show_locals() -> None:
    from tradewind.cli.main import app

    # Typer's rich tracebacks would print every frame's locals (a revealed key among them).
    assert app.pretty_exceptions_enable is False
    assert app.pretty_exceptions_show_locals is False
    source = Path(__file__).parents[3] / "src" / "tradewind"
    for path in source.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "show_locals=True" not in text, path
        assert "traceback.install(" not in text, path
