"""Two-factor codes: a missing, wrong or reused code is refused; recovery codes work once."""

from __future__ import annotations

import stat
from pathlib import Path

import pyotp
import pytest

from tradewind.ops.keystore import Keystore
from tradewind.ops.secrets import Secret
from tradewind.ops.two_factor import TwoFactor, TwoFactorError


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def setup(tmp_path: Path) -> tuple[TwoFactor, Clock, pyotp.TOTP, tuple[Secret, ...], Path]:
    store = Keystore.create(tmp_path / "k.twk", Secret("pass phrase"))
    clock = Clock()
    state = tmp_path / "2fa.json"
    service = TwoFactor(store, state, clock=clock)
    enrollment = service.enroll("alice")
    totp = pyotp.parse_uri(enrollment.uri.reveal())
    assert isinstance(totp, pyotp.TOTP)
    return service, clock, totp, enrollment.recovery_codes, state


def test_a_valid_code_is_accepted_once(setup) -> None:  # type: ignore[no-untyped-def]
    service, clock, totp, _, state = setup
    code = totp.at(clock.now)
    service.confirm("alice", code)
    with pytest.raises(TwoFactorError, match="used already"):
        service.confirm("alice", code)
    # The next step's code works; after it, the previous step's code no longer does.
    clock.now += 30
    previous = totp.at(clock.now - 30)
    service.confirm("alice", totp.at(clock.now))
    with pytest.raises(TwoFactorError, match="used already"):
        service.confirm("alice", previous)
    assert stat.S_IMODE(state.stat().st_mode) == 0o600


def test_a_missing_code_is_refused(setup) -> None:  # type: ignore[no-untyped-def]
    service = setup[0]
    for missing in (None, "", "  "):
        with pytest.raises(TwoFactorError, match="needs a two-factor code"):
            service.confirm("alice", missing)


def test_a_wrong_code_is_refused(setup) -> None:  # type: ignore[no-untyped-def]
    service, clock, totp, _, _ = setup
    right = totp.at(clock.now)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    with pytest.raises(TwoFactorError, match="is wrong"):
        service.confirm("alice", wrong)
    with pytest.raises(TwoFactorError, match="6 digits"):
        service.confirm("alice", "12ab56")
    with pytest.raises(TwoFactorError, match="is wrong"):
        service.confirm("alice", totp.at(clock.now - 300))  # a stale code, outside the window
    with pytest.raises(TwoFactorError, match="no two-factor enrollment"):
        service.confirm("bob", right)


def test_recovery_codes_work_once_and_are_stored_hashed(setup) -> None:  # type: ignore[no-untyped-def]
    service, _, _, codes, state = setup
    text = state.read_text()
    assert all(code.reveal() not in text for code in codes)
    assert service.use_recovery_code("alice", codes[0].reveal()) == len(codes) - 1
    with pytest.raises(TwoFactorError, match="wrong or was used already"):
        service.use_recovery_code("alice", codes[0].reveal())
    with pytest.raises(TwoFactorError, match="needs a recovery code"):
        service.use_recovery_code("alice", None)
