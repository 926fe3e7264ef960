"""Live trading refuses a key that can withdraw or transfer, a key whose permissions cannot be
read, and (unless allowed) a key bound to no IP address: asked of the simulator's
apiRestrictions endpoint through the real ccxt client."""

from __future__ import annotations

from pathlib import Path

import pytest

from tradewind.connectors.config import ExchangeConfig
from tradewind.connectors.key_check import check_key, judge_restrictions
from tradewind.exchange_sim import Fault, FaultKind, LoopbackServer, SimExchange
from tradewind.exchange_sim.accounts import Permissions
from tradewind.ops.credentials import with_keystore_credentials
from tradewind.ops.keystore import Keystore, KeystoreError
from tradewind.ops.secrets import Secret


@pytest.fixture(scope="module")
def server() -> LoopbackServer:
    with LoopbackServer(SimExchange(seed=3)) as running:
        yield running


def _cfg(server: LoopbackServer, permissions: Permissions, name: str) -> ExchangeConfig:
    key = server.call(lambda: server.sim.open_account(name, permissions=permissions))
    return ExchangeConfig(rest_url=server.rest_url, api_key=key.key, secret=key.secret,
                          rate_limit=False, max_retries=0)  # fmt: skip


def test_a_trade_only_ip_bound_key_passes(server: LoopbackServer) -> None:
    verdict = check_key(_cfg(server, Permissions(ip_restrict=True), "good"))
    assert verdict.ok, verdict.refusals


def test_a_withdrawal_enabled_key_is_refused(server: LoopbackServer) -> None:
    verdict = check_key(_cfg(server, Permissions(withdrawals=True, ip_restrict=True), "w"))
    assert not verdict.ok
    assert "can withdraw" in verdict.refusals[0]


def test_an_unrestricted_key_is_refused_unless_allowed(server: LoopbackServer) -> None:
    cfg = _cfg(server, Permissions(ip_restrict=False), "open")
    refused = check_key(cfg)
    assert "not restricted to IP addresses" in refused.refusals[0]
    allowed = check_key(cfg, allow_unrestricted_ip=True)
    assert allowed.ok
    assert "not restricted to IP addresses" in allowed.warnings[0]


def test_a_key_on_an_exchange_without_a_permissions_endpoint_is_refused_unless_vouched_for() -> (
    None
):
    cfg = ExchangeConfig(name="bybit", api_key="k", secret="s", rate_limit=False)
    refused = check_key(cfg)
    assert not refused.ok
    assert "does not report a key's permissions" in refused.refusals[0]
    assert "--unverifiable-key-ok" in refused.refusals[0]
    vouched = check_key(cfg, unverifiable_key_ok=True)
    assert vouched.ok
    assert "does not report a key's permissions" in vouched.warnings[0]


def test_a_refused_request_counts_as_able_to_withdraw(server: LoopbackServer) -> None:
    cfg = _cfg(server, Permissions(ip_restrict=True), "err")
    server.faults.add(Fault(kind=FaultKind.SERVER_ERROR, times=1, path="/sapi", status=503))
    verdict = check_key(cfg)
    assert "could not be read" in verdict.refusals[0]


def test_a_missing_field_or_transfer_permission_is_refused() -> None:
    base = {"enableWithdrawals": False, "enableInternalTransfer": False,
            "permitsUniversalTransfer": False, "ipRestrict": True}  # fmt: skip
    assert judge_restrictions(base).ok
    assert "lacks ipRestrict" in judge_restrictions({**base, "ipRestrict": None}).refusals[0]
    assert "transfer" in judge_restrictions({**base, "permitsUniversalTransfer": True}).refusals[0]


def test_credentials_come_from_the_keystore(tmp_path: Path) -> None:
    store = Keystore.create(tmp_path / "k.twk", Secret("pass"))
    store.add("main.api_key", "exchange", Secret("key-from-the-keystore"))
    store.add("main.secret", "exchange", Secret("secret-from-the-keystore"))
    cfg = with_keystore_credentials(ExchangeConfig(keystore_entry="main"), store)
    assert cfg.api_key is not None
    assert cfg.api_key.get_secret_value() == "key-from-the-keystore"
    assert "key-from-the-keystore" not in repr(cfg)
    with pytest.raises(KeystoreError, match=r"no entry 'other\.api_key'"):
        with_keystore_credentials(ExchangeConfig(keystore_entry="other"), store)
    with pytest.raises(KeystoreError, match="one place"):
        with_keystore_credentials(ExchangeConfig(keystore_entry="main", api_key="x"), store)
