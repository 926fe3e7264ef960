"""One session with canary credentials at DEBUG for every logger, run as its own process by
``test_secrets_never_leak.py``: keys stored and listed through the CLI, the real ccxt client
against the exchange simulator (signed requests, rejected orders, server errors, a bad signature,
the key check), a bug traceback whose frame holds the secret, and a backtest.

Then a paper and a live session with the canary key, each serving the operator API, Telegram
(a canary bot token) and notifications (a canary password in the webhook's URL): see
``leak_trading.py``.

Usage: python leak_session.py WORK_DIR API_KEY API_SECRET BOT_TOKEN WEBHOOK_PASSWORD
"""

from __future__ import annotations

import io
import logging
import os
import sys
from pathlib import Path

PASSPHRASE = "leak-test-passphrase"


def main(work: Path, api_key: str, api_secret: str, bot_token: str, password: str) -> None:
    os.chdir(work)
    os.environ["TRADEWIND_KEYSTORE_PASSPHRASE"] = PASSPHRASE
    from tradewind.cli.main import _bug, run

    for name, value in (("sim.api_key", api_key), ("sim.secret", api_secret)):
        sys.stdin = io.StringIO(value + "\n")
        assert run(["keys", "add", name, "--kind", "exchange"]) == 0
    assert run(["keys", "list"]) == 0

    from tradewind.connectors.client import create_client
    from tradewind.connectors.config import ExchangeConfig
    from tradewind.connectors.key_check import check_key
    from tradewind.exchange_sim import Fault, FaultKind, LoopbackServer, SimExchange
    from tradewind.exchange_sim.accounts import Permissions
    from tradewind.exchange_sim.recordings import list_shared_recordings
    from tradewind.logs import LogConfig, setup_logging
    from tradewind.ops.credentials import with_keystore_credentials
    from tradewind.ops.keystore import Keystore
    from tradewind.ops.secrets import Secret
    from tradewind.testing.shared_data import shared_data_dir

    # Every logger at DEBUG, ccxt's included, to stderr and to a file under the run folder.
    redactor = setup_logging(LogConfig(level="DEBUG"))
    (work / "logs").mkdir()
    to_file = logging.FileHandler(work / "logs" / "debug.log")
    to_file.addFilter(redactor)
    to_file.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    logging.getLogger().addHandler(to_file)
    for name in ("ccxt", "ccxt.base.exchange", "aiohttp", "urllib3", "tradewind"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    log = logging.getLogger("tradewind.leak_session")

    store = Keystore.open(Path("user_data/keystore.twk"), Secret(PASSPHRASE))
    errors: list[str] = []

    def provoke(action: object) -> None:
        try:
            action()  # type: ignore[operator]
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
            log.exception("provoked failure")

    data = shared_data_dir()
    assert data is not None
    sim = list_shared_recordings(SimExchange(seed=7), data)
    with LoopbackServer(sim) as server:
        server.call(lambda: sim.open_account("canary", key=api_key, secret=api_secret,
                                             balances={"BTC": "1", "USDT": "1000"},
                                             permissions=Permissions(withdrawals=True)))  # fmt: skip
        cfg = with_keystore_credentials(
            ExchangeConfig(
                rest_url=server.rest_url,
                keystore_entry="sim",
                rate_limit=False,
                max_retries=0,
                timeout_ms=3000,
            ),
            store,
        )
        log.debug("exchange config: %r", cfg)
        client = create_client(cfg, market_types=("spot",))
        client.load_markets()
        client.fetch_balance()
        provoke(lambda: client.create_order("ETH/BTC", "limit", "buy", 1e6, 0.0001))
        provoke(lambda: client.fetch_order("no-such-order", "ETH/BTC"))
        server.faults.add(Fault(kind=FaultKind.SERVER_ERROR, times=1, path="/api/v3/account",
                                status=500))  # fmt: skip
        provoke(client.fetch_balance)
        client.secret = api_secret[::-1]  # a wrong signature: the exchange refuses it
        provoke(client.fetch_balance)
        client.secret = api_secret
        verdict = check_key(cfg)
        log.warning("key check: %s", verdict.refusals)

    def sign_and_fail() -> None:
        secret_local = store.get("sim.secret").reveal()
        raise RuntimeError(f"signing failed with {secret_local}")

    try:
        sign_and_fail()
    except RuntimeError as exc:
        # Its own text holds the secret by construction; what must not is the report of it.
        _bug(exc)  # the CLI's report of a bug: traceback and message, as a user would see them

    assert run(["--debug", "backtest", "-s", "sma_cross", "--to", "2022-01-04"]) == 0
    # The CLI's run set the root logger up again; the sessions log at DEBUG as above.
    redactor = setup_logging(LogConfig(level="DEBUG"))
    to_file = logging.FileHandler(work / "logs" / "sessions.log")
    to_file.addFilter(redactor)
    logging.getLogger().addHandler(to_file)
    for name in ("ccxt", "ccxt.base.exchange", "aiohttp", "httpx", "telegram", "apprise"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    import asyncio

    from leak_trading import trade

    asyncio.run(trade(work, data, cfg, bot_token, password, redactor))
    (work / "exceptions.txt").write_text("\n".join(errors), encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]), *sys.argv[2:6])
