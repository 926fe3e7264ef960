"""Two-factor on the dangerous actions through the REST API: resuming after an emergency stop and
reloading the config need the operator's current authenticator code, each code works once, the
emergency stop itself stays one step, and every refusal is in the HMAC-chained actions table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pyotp
from fastapi.testclient import TestClient
from ops_bot import AUDIT_KEY, Bot, make_bot

from tradewind.ops.api import build_app
from tradewind.ops.keystore import Keystore
from tradewind.ops.secrets import Secret
from tradewind.ops.two_factor import TwoFactor
from tradewind.persistence.audit import verify_chain
from tradewind.risk.config import BreakerConfig


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _two_factor(bot: Bot, tmp_path: Path, now: list[float], operator: str) -> pyotp.TOTP:
    store = Keystore.create(tmp_path / "keys.twk", Secret("a long passphrase"))
    two_factor = TwoFactor(store, tmp_path / "2fa.json", clock=lambda: now[0])
    bot.facade.two_factor = two_factor
    return pyotp.parse_uri(two_factor.enroll(operator).uri.reveal())


def test_resume_after_an_emergency_stop_needs_a_fresh_code(bot: Bot, tmp_path: Path) -> None:
    now = [1_800_000_000.0]
    totp = _two_factor(bot, tmp_path, now, "token:trade-holder")
    trade = _auth(bot.tokens["trade"])
    with TestClient(build_app(bot.facade)) as client:

        def post(path: str, **body: Any) -> Any:
            return client.post(f"/api/v1/{path}", headers=trade, json={"reason": "t", **body})

        # A pause and its resume need no code: only undoing an emergency stop does.
        assert post("pause").status_code == 200
        assert post("resume").status_code == 200
        assert client.get("/api/v1/status", headers=trade).json()["resume_needs_code"] is False
        assert post("emergency-stop").status_code == 200  # one step, no code
        assert client.get("/api/v1/status", headers=trade).json()["resume_needs_code"] is True
        right = totp.at(now[0])
        wrong = f"{(int(right) + 1) % 1_000_000:06d}"
        missing = post("resume")
        refused = post("resume", code=wrong)
        assert (missing.status_code, refused.status_code) == (403, 403)
        assert "needs a two-factor code" in missing.json()["detail"]
        assert "wrong" in refused.json()["detail"]
        assert bot.facade.status()["halted"] is True
        # Another operator's valid code is not this operator's.
        admin = client.post("/api/v1/resume", headers=_auth(bot.tokens["admin"]),
                            json={"reason": "t", "code": right})  # fmt: skip
        assert admin.status_code == 403
        assert "'token:admin-holder' has no two-factor enrollment" in admin.json()["detail"]
        assert post("resume", code=right).status_code == 200
        assert bot.facade.status()["halted"] is False
        # The same code again, after another emergency stop: refused as used.
        assert post("emergency-stop").status_code == 200
        replayed = post("resume", code=right)
        assert replayed.status_code == 403
        assert "used already" in replayed.json()["detail"]
        now[0] += 30
        assert post("resume", code=totp.at(now[0])).status_code == 200
    outcomes = [(a["action"], a["outcome"][:40]) for a in reversed(bot.facade.operator_actions(20))]
    refusals = [o for a, o in outcomes if a == "resume" and o.startswith("refused:")]
    assert len(refusals) == 4
    assert not any(right in o for _, o in outcomes)  # the code itself is never recorded
    assert verify_chain(bot.database.engine, AUDIT_KEY).ok


def test_a_config_reload_needs_a_code(bot: Bot, tmp_path: Path) -> None:
    now = [1_800_000_000.0]
    totp = _two_factor(bot, tmp_path, now, "token:admin-holder")
    admin = _auth(bot.tokens["admin"])
    with TestClient(build_app(bot.facade)) as client:
        missing = client.post("/api/v1/config/reload", headers=admin, json={"reason": "t"})
        assert missing.status_code == 403
        # With the code the reload goes on to its own check (this bot has no config file).
        coded = client.post("/api/v1/config/reload", headers=admin,
                            json={"reason": "t", "code": totp.at(now[0])})  # fmt: skip
        assert coded.status_code == 409
        assert "without a config file" in coded.json()["detail"]


def test_changing_risk_limits_needs_a_fresh_code_and_acts_on_the_next_decision(
    minutes: pd.DataFrame, tmp_path: Path
) -> None:
    bot = make_bot(minutes, tmp_path, breakers=BreakerConfig())  # under the risk engine
    now = [1_800_000_000.0]
    totp = _two_factor(bot, tmp_path, now, "token:admin-holder")
    admin = _auth(bot.tokens["admin"])
    tighter = {"max_total_exposure": 0.0001}
    with TestClient(build_app(bot.facade)) as client:

        def post(headers: dict[str, str], **body: Any) -> Any:
            return client.post("/api/v1/risk/limits", headers=headers,
                               json={"reason": "t", **body})  # fmt: skip

        risk = client.get("/api/v1/risk", headers=admin).json()
        assert risk["limits_need_code"] is True
        assert risk["limits"]["max_total_exposure"] is None
        # Trading scope is not enough; a missing code is refused and nothing changes.
        assert post(_auth(bot.tokens["trade"]), limits=tighter).status_code == 403
        missing = post(admin, limits=tighter)
        assert missing.status_code == 403
        assert "needs a two-factor code" in missing.json()["detail"]
        assert bot.node.gate.default.limits.max_total_exposure is None  # type: ignore[attr-defined]
        # A limit whose history was compiled at the start is refused by name (the code is spent).
        compiled = post(admin, limits={"correlation_window": 50}, code=totp.at(now[0]))
        assert compiled.status_code == 400
        assert (
            "not changeable while the bot runs (restart to change): correlation_window"
            in (compiled.json()["detail"])
        )
        now[0] += 30
        code = totp.at(now[0])
        applied = post(admin, limits=tighter, code=code)
        assert applied.status_code == 200, applied.text
        assert applied.json()["applied"] == tighter
        reused = post(admin, limits={"max_positions": 3}, code=code)
        assert reused.status_code == 403
        assert "used already" in reused.json()["detail"]
        assert client.get("/api/v1/risk", headers=admin).json()["limits"]["max_total_exposure"] == (
            0.0001
        )
    # The next decisions: the stake asks for 50% of 10,000 USDT; every entry is cut to the new
    # cap, 0.01% of equity (about 1 USDT), before it reaches the venue.
    bot.run()
    entries = [o for _, o in bot.entries()]
    assert entries
    assert all(o.quote_quantity is not None and o.quote_quantity < 2 for o in entries)
    rows = [(a["action"], a["outcome"]) for a in reversed(bot.facade.operator_actions(20))]
    outcomes = [o for a, o in rows if a == "set_risk_limits"]
    assert [o.split(":")[0] for o in outcomes] == ["refused", "refused", "limits set", "refused"]
    assert not any(code in o for _, o in rows)
    assert verify_chain(bot.database.engine, AUDIT_KEY).ok
