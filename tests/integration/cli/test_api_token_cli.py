"""``tradewind api-token add|revoke``: a token printed once works on the bot's API with its
scope; revoked, it does not; mistakes exit 2 naming what is wrong."""

from __future__ import annotations

from tests.integration.cli.conftest import CliRunner

from tradewind.persistence.api_tokens import check_token
from tradewind.persistence.bots import open_bot


def test_issue_check_and_revoke_a_token(cli: CliRunner) -> None:
    engine = open_bot("alpha", bots_dir="user_data/bots").engine  # the bot's first start
    added = cli("api-token", "add", "--bot", "alpha", "--name", "grafana", "--scope", "read",
                "--days", "30")  # fmt: skip
    assert added.code == 0, added.err
    token = added.out.strip()
    assert len(token) >= 40
    grant = check_token(engine, token)
    assert grant is not None
    assert (grant.name, grant.scopes) == ("grafana", frozenset({"read"}))
    assert cli("api-token", "revoke", "--bot", "alpha", "--name", "grafana").code == 0
    assert check_token(engine, token) is None
    again = cli("api-token", "revoke", "--bot", "alpha", "--name", "grafana")
    assert again.code == 2
    assert "no live token called 'grafana'" in again.err
    bad = cli("api-token", "add", "--bot", "alpha", "--name", "x", "--scope", "root")
    assert bad.code == 2
    assert "scopes must be some of read, trade, admin" in bad.err
