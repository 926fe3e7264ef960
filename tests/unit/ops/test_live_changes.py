"""Live changes through the API (admin scope): a running hook strategy's parameters, checked as
at construction; a config reload that applies only reloadable keys and refuses any other change
by name, with nothing half-applied."""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi.testclient import TestClient
from ops_bot import SYMBOL, Bot

from tradewind.config import load_config
from tradewind.ops.api import build_app


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_running_strategys_parameters_change_between_bars(bot: Bot) -> None:
    admin, trade = _auth(bot.tokens["admin"]), _auth(bot.tokens["trade"])
    strategy_id = bot.strategy.id
    answers: dict[int, int] = {}
    with TestClient(build_app(bot.facade)) as client:
        path = f"/api/v1/strategies/{strategy_id}/params"

        def operator(i: int, ctx: object) -> None:
            if i == 2000:
                body = {"reason": "slower", "params": {"every": 200}}
                assert client.post(path, headers=trade, json=body).status_code == 403
                r = client.post(path, headers=admin, json=body)
                answers[i] = r.status_code
                assert r.json()["values"] == {"every": 200}
                bad = client.post(path, headers=admin, json={"reason": "x", "params": {"every": 5}})
                assert bad.status_code == 400
                assert "every" in bad.json()["detail"]
                typo = client.post(path, headers=admin, json={"reason": "x", "params": {"evry": 9}})
                assert typo.status_code == 400
                assert "evry" in typo.json()["detail"]

        bot.strategy.operator = operator
        bot.run()
        unknown = {"reason": "x", "params": {"every": 100}}
        r = client.post("/api/v1/strategies/nobody/params", headers=admin, json=unknown)
        assert r.status_code == 404
    assert answers == {2000: 200}
    assert bot.strategy.every == 200
    # The venue got an order every 50 bars before the change, every 200 bars after it.
    times = {ts for kind, ts, o in bot.port.requests if kind == "submit"}
    assert {bot.bar_close(i) for i in (1900, 1950, 2200, 2400)} <= times
    assert not {bot.bar_close(i) for i in (2050, 2100, 2150, 2250)} & times
    assert bot.facade.operator_actions(1)[0]["action"] == "set_params"
    assert bot.node.bindings[0].symbol == SYMBOL


def test_a_reload_applies_reloadable_keys_and_refuses_others_by_name(
    bot: Bot, tmp_path: Path
) -> None:
    config_file = tmp_path / "tradewind.toml"
    config_file.write_text('[log]\nlevel = "INFO"\n')
    bot.facade.config = load_config(config_file, env={})
    bot.facade.config_path = config_file
    admin = _auth(bot.tokens["admin"])
    with TestClient(build_app(bot.facade)) as client:

        def reload() -> tuple[int, dict[str, object]]:
            r = client.post("/api/v1/config/reload", headers=admin, json={"reason": "tune"})
            return r.status_code, r.json()

        config_file.write_text('[log]\nlevel = "DEBUG"\n')
        code, body = reload()
        assert (code, body["applied"]) == (200, ["log.level"])
        assert logging.getLogger("tradewind").level == logging.DEBUG
        config_file.write_text('[log]\nlevel = "WARNING"\n[data]\ndir = "elsewhere"\n')
        code, body = reload()
        assert code == 400
        assert "not reloadable while the bot runs (restart to change): data.dir" in body["detail"]
        assert logging.getLogger("tradewind").level == logging.DEBUG  # nothing half-applied
        config_file.write_text('[log]\nlevel = "WARNING"\nlevle = 3\n')
        code, body = reload()
        assert code == 400
        assert "levle" in body["detail"]
        assert bot.facade.config.log.level == "DEBUG"
    logging.getLogger("tradewind").setLevel(logging.NOTSET)
    outcomes = [r["outcome"] for r in bot.facade.operator_actions(3)]
    assert outcomes[0].startswith("refused:")
    assert outcomes[2] == "applied log.level"
