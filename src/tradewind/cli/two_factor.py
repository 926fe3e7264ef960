"""``tradewind 2fa``: enroll an operator's authenticator. Once anyone is enrolled, the CLI's own
dangerous actions (adding a key, starting a live session) ask for ``--operator`` and ``--code``.

An operator is named as the control facade names who acts: ``token:NAME`` for the holder of the
API token NAME (the REST API and the dashboard), ``telegram:ID`` for a Telegram user, or any name
for a person at the command line.
"""

from __future__ import annotations

from typing import Annotated

import typer

from tradewind.cli.context import STATE
from tradewind.cli.keys import FdOption, KeyringOption, KeystoreOption, open_keystore
from tradewind.ops.keystore import DEFAULT_PATH
from tradewind.ops.two_factor import TwoFactor, state_path

app = typer.Typer(help="Two-factor codes for the dangerous operator actions.",
                  no_args_is_help=True)  # fmt: skip


@app.command("enroll")
def enroll(
    operator: Annotated[str, typer.Argument(help="token:NAME, telegram:ID, or a CLI user name.")],
    keystore: KeystoreOption = DEFAULT_PATH,
    passphrase_fd: FdOption = None,
    use_keyring: KeyringOption = False,
) -> None:
    """Make a TOTP seed and ten recovery codes for OPERATOR (replacing any earlier ones).

    Shown once: add the otpauth URI to an authenticator app and keep the recovery codes offline.
    From then on two-factor is on for this keystore's bots.
    """
    store = open_keystore(keystore, passphrase_fd, use_keyring, create=True)
    enrollment = TwoFactor(store, state_path(keystore)).enroll(operator)
    STATE.console.print(f"enrolled {operator}; add this to an authenticator app (shown once):",
                        highlight=False)  # fmt: skip
    # The one place a seed is shown: the operator must copy it into the authenticator.
    STATE.console.print(enrollment.uri.reveal(), highlight=False, soft_wrap=True)
    STATE.console.print("recovery codes (each works once; keep them offline):")
    for code in enrollment.recovery_codes:
        STATE.console.print(f"  {code.reveal()}", highlight=False)
