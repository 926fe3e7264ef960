"""Two-factor confirmation (TOTP, RFC 6238) for the dangerous operator actions.

The API, the dashboard and Telegram call :meth:`TwoFactor.confirm` before resuming after an
emergency stop, changing risk limits, switching paper to live or adding a key (the emergency stop
itself stays one step). Each code is accepted once: the service remembers the last time step it
accepted per operator and refuses that step and every earlier one, so a code read over a shoulder
or replayed from a log is worthless. Recovery codes are single-use and stored only as salted
HMAC-SHA256 digests. The TOTP seeds live in the keystore; the replay and recovery state lives in a
0600 JSON file beside it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets as random_source
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyotp

from tradewind.core.errors import UserError
from tradewind.ops.keystore import Keystore, write_private
from tradewind.ops.secrets import Secret

ISSUER = "Tradewind"
RECOVERY_CODES = 10
# One step either side: phones whose clock is up to 30 s off still work.
VALID_WINDOW = 1
STEP_S = 30


class TwoFactorError(UserError):
    """A missing, malformed, wrong or reused code; the message says which (never the code)."""


@dataclass(frozen=True)
class Enrollment:
    """What an operator needs once: the seed (as an otpauth URI for a QR code) and recovery codes."""

    uri: Secret
    recovery_codes: tuple[Secret, ...]


def state_path(keystore: Path) -> Path:
    """Where the replay and recovery state of the keystore at ``keystore`` lives (beside it)."""
    return keystore.with_name(f"{keystore.stem}.2fa.json")


def for_keystore(keystore: Keystore) -> TwoFactor | None:
    """The two-factor service of ``keystore`` when any operator is enrolled in it, else None
    (two-factor is on exactly when someone enrolled)."""
    if not any(entry.name.startswith("totp.") for entry in keystore):
        return None
    return TwoFactor(keystore, state_path(keystore.path))


def confirm_if_enrolled(
    keystore: Keystore, action: str, operator: str | None, code: str | None
) -> None:
    """The second factor for a command-line ``action`` when anyone is enrolled in ``keystore``.

    Raises
    ------
    TwoFactorError
        When two-factor is on and no operator, no code, or a wrong or reused code is given.
    """
    two_factor = for_keystore(keystore)
    if two_factor is None:
        return
    if not operator or not code:
        raise TwoFactorError(f"{action} needs a two-factor code: give --operator NAME --code CODE")
    two_factor.confirm(operator, code)


def _seed_entry(operator: str) -> str:
    # Operators are named as the facade's actors (``token:alice``, ``telegram:42``); keystore
    # entry names take no colon.
    return f"totp.{operator.replace(':', '.')}"


class TwoFactor:
    """TOTP check with replay refusal and single-use recovery codes, per operator."""

    def __init__(
        self, keystore: Keystore, state_path: Path, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._keystore = keystore
        self._state_path = state_path
        self._clock = clock

    def _load(self) -> dict[str, Any]:
        if not self._state_path.exists():
            return {"operators": {}}
        try:
            state: dict[str, Any] = json.loads(self._state_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise TwoFactorError(
                f"two-factor state {self._state_path} is unreadable: {exc}"
            ) from None
        return state

    def _save(self, state: dict[str, Any]) -> None:
        write_private(self._state_path, json.dumps(state, sort_keys=True).encode())

    def enroll(self, operator: str) -> Enrollment:
        """Make a new seed and recovery codes for ``operator`` (replacing any earlier ones)."""
        seed = pyotp.random_base32()
        entry = _seed_entry(operator)
        if entry in self._keystore:
            self._keystore.rotate(entry, Secret(seed))
        else:
            self._keystore.add(entry, "other", Secret(seed))
        self._keystore.save()
        codes = tuple(Secret(random_source.token_hex(5)) for _ in range(RECOVERY_CODES))
        salt = random_source.token_hex(16)
        state = self._load()
        state["operators"][operator] = {
            "last_step": -1,
            "salt": salt,
            "recovery": [_digest(salt, code.reveal()) for code in codes],
        }
        self._save(state)
        uri = pyotp.TOTP(seed).provisioning_uri(name=operator, issuer_name=ISSUER)
        return Enrollment(Secret(uri), codes)

    def confirm(self, operator: str, code: str | None) -> None:
        """Accept ``code`` for ``operator`` once, or raise.

        Raises
        ------
        TwoFactorError
            When the operator is not enrolled, the code is missing, malformed, wrong, or was
            accepted before (or is older than one accepted before).
        """
        if not code or not code.strip():
            raise TwoFactorError("this action needs a two-factor code; none was given")
        code = code.strip().replace(" ", "")
        state = self._load()
        record = state["operators"].get(operator)
        entry = _seed_entry(operator)
        if record is None or entry not in self._keystore:
            raise TwoFactorError(f"operator {operator!r} has no two-factor enrollment")
        if not (code.isdigit() and len(code) == 6):
            raise TwoFactorError("a two-factor code is 6 digits")
        totp = pyotp.TOTP(self._keystore.get(entry).reveal())
        now = self._clock()
        step = int(now // STEP_S)
        matched = None
        for offset in range(-VALID_WINDOW, VALID_WINDOW + 1):
            candidate = step + offset
            if hmac.compare_digest(totp.at(candidate * STEP_S), code):
                matched = candidate
                break
        if matched is None:
            raise TwoFactorError("the two-factor code is wrong")
        if matched <= int(record["last_step"]):
            raise TwoFactorError("the two-factor code was used already; wait for the next one")
        record["last_step"] = matched
        self._save(state)

    def use_recovery_code(self, operator: str, code: str | None) -> int:
        """Accept a recovery code once; returns how many remain.

        Raises
        ------
        TwoFactorError
            When the code is missing, unknown or spent.
        """
        if not code or not code.strip():
            raise TwoFactorError("this action needs a recovery code; none was given")
        state = self._load()
        record = state["operators"].get(operator)
        if record is None:
            raise TwoFactorError(f"operator {operator!r} has no two-factor enrollment")
        digest = _digest(record["salt"], code.strip().lower())
        remaining = [stored for stored in record["recovery"]
                     if not hmac.compare_digest(stored, digest)]  # fmt: skip
        if len(remaining) == len(record["recovery"]):
            raise TwoFactorError("the recovery code is wrong or was used already")
        record["recovery"] = remaining
        self._save(state)
        return len(remaining)


def _digest(salt: str, code: str) -> str:
    return hmac.new(salt.encode(), code.encode(), hashlib.sha256).hexdigest()
