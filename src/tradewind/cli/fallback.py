"""``tradewind live-resume``: after a bot fell back to paper (repeated live failures), allow live
trading again; only with an enrolled operator's two-factor code, and recorded in the audit trail.
"""

from __future__ import annotations

from typing import Annotated

import typer

from tradewind.cli.audit import AUDIT_KEY
from tradewind.cli.context import STATE
from tradewind.cli.keys import FdOption, KeystoreOption, open_keystore
from tradewind.core.errors import UserError
from tradewind.ops.fallback import RESUME_ACTION
from tradewind.ops.keystore import DEFAULT_PATH
from tradewind.ops.two_factor import for_keystore
from tradewind.persistence.audit import record_operator_action
from tradewind.persistence.bots import open_bot


def live_resume(
    bot: Annotated[str, typer.Option("--bot", help="The bot that fell back to paper.")],
    operator: Annotated[str, typer.Option("--operator", help="The enrolled operator.")],
    code: Annotated[str, typer.Option("--code", help="The operator's current code.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (into the audit trail).")],
    keystore: KeystoreOption = DEFAULT_PATH,
    passphrase_fd: FdOption = None,
) -> None:
    """Clear the live-failure count of BOT, so that its next `trade --mode live` goes live."""
    store = open_keystore(keystore, passphrase_fd, False, create=False)
    two_factor = for_keystore(store)
    if two_factor is None:
        raise UserError("live resumes only with a second factor: enroll an operator first "
                        "(`tradewind 2fa enroll NAME`)")  # fmt: skip
    two_factor.confirm(operator, code)
    cfg = STATE.config().database
    database = open_bot(bot, bots_dir=cfg.bots_dir, url=cfg.url, durability=cfg.durability)
    try:
        key = store.ensure_random(AUDIT_KEY, "audit").reveal().encode()
        record_operator_action(database.engine, key, actor=operator, channel="cli",
                               action=RESUME_ACTION, detail={"reason": reason},
                               bot_id=database.bot_id)  # fmt: skip
    finally:
        database.engine.dispose()
    STATE.console.print(f"bot {bot}: live trading allowed again (recorded in its audit trail)")
