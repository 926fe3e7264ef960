"""``tradewind audit verify``: check a bot's operator-action chain with the keystore's audit key."""

from __future__ import annotations

import typer

from tradewind.cli.context import STATE
from tradewind.cli.db import BotOption, UrlOption, database_url
from tradewind.cli.exits import CheckFailedError
from tradewind.cli.keys import FdOption, KeyringOption, KeystoreOption, open_keystore
from tradewind.ops.keystore import DEFAULT_PATH, KeystoreError
from tradewind.persistence.audit import verify_chain
from tradewind.persistence.bots import bot_folder
from tradewind.persistence.engine import make_engine, redact

AUDIT_KEY = "audit.hmac"
BOT_KEY_FILE = "audit.key"
"""A bot's own audit key, in its folder, for sessions run without a keystore."""

app = typer.Typer(help="The tamper-evident audit trail.", no_args_is_help=True)


@app.command("verify")
def verify(
    bot: BotOption = None,
    db_url: UrlOption = None,
    keystore: KeystoreOption = DEFAULT_PATH,
    passphrase_fd: FdOption = None,
    use_keyring: KeyringOption = False,
) -> None:
    """Verify every row of the chain and its head; name the first row that breaks it (exit 3).

    The key is the keystore's; with no keystore, a bot's own key (the one a session started
    without a keystore keeps in the bot's folder).
    """
    url = database_url(bot, db_url)
    own = None if bot is None else bot_folder(bot, STATE.config().database.bots_dir) / BOT_KEY_FILE
    if not keystore.exists() and own is not None and own.exists():
        key = own.read_text(encoding="utf-8").strip().encode()
    else:
        store = open_keystore(keystore, passphrase_fd, use_keyring, create=False)
        if AUDIT_KEY not in store:
            raise KeystoreError(
                f"{keystore} has no {AUDIT_KEY!r} entry: this keystore never signed an audit trail"
            )
        key = store.get(AUDIT_KEY).reveal().encode()
    engine = make_engine(url)
    try:
        report = verify_chain(engine, key)
    finally:
        engine.dispose()
    if not report.ok:
        raise CheckFailedError(f"audit trail of {redact(url)}: {report.problem}")
    STATE.console.print(f"audit trail of {redact(url)} verified: {report.rows} rows, head intact")
