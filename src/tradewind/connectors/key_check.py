"""What an exchange key may do, from Binance's ``GET /sapi/v1/account/apiRestrictions``.

Live trading must not start on a key that can withdraw or move funds between accounts, and should
not on a key bound to no IP address (the controls that limit the damage of a stolen key are on the
exchange's side). The account endpoint's ``canWithdraw`` describes the account, not the key, so it
is the wrong check. Fail closed: a refused request, an error, or a missing field counts as
"allowed", and so refuses the key.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import ccxt

from tradewind.connectors.client import create_client
from tradewind.connectors.config import ExchangeConfig

_log = logging.getLogger(__name__)

_REQUIRED = (
    "enableWithdrawals",
    "enableInternalTransfer",
    "permitsUniversalTransfer",
    "ipRestrict",
)


@dataclass(frozen=True)
class KeyVerdict:
    """The refusals (live must not start) and warnings found for one key."""

    refusals: tuple[str, ...] = ()
    warnings: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """Whether live trading may start on this key."""
        return not self.refusals


def judge_restrictions(
    answer: dict[str, Any] | None, *, allow_unrestricted_ip: bool = False
) -> KeyVerdict:
    """Judge an ``apiRestrictions`` answer (None: the request failed).

    ``allow_unrestricted_ip`` turns the refusal of a key bound to no IP address into a warning.
    """
    if answer is None:
        return KeyVerdict(("the key's permissions could not be read (apiRestrictions failed); "
                           "treating it as able to withdraw",))  # fmt: skip
    missing = [name for name in _REQUIRED if not isinstance(answer.get(name), bool)]
    if missing:
        return KeyVerdict((f"the key's permissions answer lacks {', '.join(missing)}; treating "
                           "the key as able to withdraw",))  # fmt: skip
    refusals: list[str] = []
    warnings: list[str] = []
    if answer["enableWithdrawals"]:
        refusals.append("the key can withdraw (enableWithdrawals); make a trade-only key")
    if answer["enableInternalTransfer"] or answer["permitsUniversalTransfer"]:
        refusals.append("the key can transfer funds between accounts; make a trade-only key")
    if not answer["ipRestrict"]:
        text = "the key is not restricted to IP addresses (ipRestrict is false)"
        if allow_unrestricted_ip:
            warnings.append(text)
        else:
            refusals.append(text + "; restrict it, or allow this explicitly")
    return KeyVerdict(tuple(refusals), tuple(warnings))


def check_key(
    cfg: ExchangeConfig, *, allow_unrestricted_ip: bool = False, unverifiable_key_ok: bool = False
) -> KeyVerdict:
    """Ask the exchange what ``cfg``'s key may do and judge it (see :func:`judge_restrictions`).

    Only Binance reports key restrictions; another exchange's key is refused, naming that, unless
    ``unverifiable_key_ok`` (the operator vouches for the key: a warning instead).
    """
    if cfg.name != "binance":
        text = (
            f"{cfg.name} does not report a key's permissions; live trading on it cannot be checked"
        )
        if unverifiable_key_ok:
            _log.warning("exchange key: %s (accepted: --unverifiable-key-ok)", text)
            return KeyVerdict(warnings=(text,))
        return KeyVerdict((text + "; make sure the key cannot withdraw, then pass "
                           "--unverifiable-key-ok",))  # fmt: skip
    client = create_client(cfg, market_types=("spot",))
    if cfg.rest_url:
        # A client of its own, used for this one request: the loopback simulator serves this
        # one sapi endpoint, and every other client keeps sapi unset (failing closed).
        client.urls["api"]["sapi"] = f"{cfg.rest_url.rstrip('/')}/sapi/v1"
    try:
        answer = client.sapi_get_account_apirestrictions()
    except ccxt.BaseError as exc:
        _log.warning("apiRestrictions failed: %s", type(exc).__name__)
        answer = None
    verdict = judge_restrictions(
        answer if isinstance(answer, dict) else None, allow_unrestricted_ip=allow_unrestricted_ip
    )
    for warning in verdict.warnings:
        _log.warning("exchange key: %s", warning)
    return verdict
