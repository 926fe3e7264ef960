"""Accounts, API keys and their permissions, and the balances that can never go negative.

An :class:`ApiKey` belongs to one :class:`Account` and carries the permissions Binance reports on
``/sapi/v1/account/apiRestrictions`` (reading, spot trading, futures, withdrawals, IP
restriction). A key without ``spot`` may not trade spot (``-2015``), one without ``futures`` may
not trade USDT-M, and a bot can read ``enableWithdrawals`` to refuse a withdrawal-enabled key.

Spot balances are ``free`` and ``locked`` per asset, in :class:`~decimal.Decimal`. Every change
goes through :meth:`Account.credit`, :meth:`Account.debit`, :meth:`Account.lock` and
:meth:`Account.unlock`; each refuses to take an amount below zero (an
:class:`InsufficientBalance`), so a bug in the matching engine fails loudly instead of minting or
destroying money. A :class:`Reservation` is the locked part of one order (or one OCO list, whose
two legs share it).

The USDT-M side of an account is its futures wallet (:attr:`Account.futures_wallet`) and
positions; see :mod:`.futures`.
"""

from __future__ import annotations

import secrets
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

ZERO = Decimal(0)


class InsufficientBalance(Exception):  # noqa: N818 (reads as the condition, like Binance)
    """A balance change would have taken an amount below zero."""


@dataclass(frozen=True, kw_only=True)
class Permissions:
    """What a key may do, as ``/sapi/v1/account/apiRestrictions`` reports it.

    Parameters
    ----------
    reading
        Read account data (every signed GET).
    spot
        Place and cancel spot orders (``enableSpotAndMarginTrading``).
    futures
        Use USDT-M futures (``enableFutures``).
    withdrawals
        Withdraw (``enableWithdrawals``); the simulator never withdraws, it only reports it.
    ip_restrict
        Whether the key is bound to IP addresses (``ipRestrict``).
    """

    reading: bool = True
    spot: bool = True
    futures: bool = True
    withdrawals: bool = False
    ip_restrict: bool = False

    def restrictions_json(self, created_ms: int) -> dict[str, Any]:
        """Render ``GET /sapi/v1/account/apiRestrictions``."""
        return {
            "ipRestrict": self.ip_restrict,
            "createTime": created_ms,
            "enableReading": self.reading,
            "enableSpotAndMarginTrading": self.spot,
            "enableWithdrawals": self.withdrawals,
            "enableInternalTransfer": False,
            "enableMargin": False,
            "enableFutures": self.futures,
            "permitsUniversalTransfer": False,
            "enableVanillaOptions": False,
            "enableFixApiTrade": False,
            "enableFixReadOnly": False,
            "enablePortfolioMarginTrading": False,
        }


@dataclass(eq=False)
class Reservation:
    """Funds locked for one order, or shared by the legs of one OCO list.

    ``remaining`` never goes below zero: a fill draws at most what is left.
    """

    asset: str
    remaining: Decimal
    holders: int = 1

    def draw(self, amount: Decimal) -> Decimal:
        """Take up to ``amount`` from the reservation and return what was taken."""
        taken = min(amount, self.remaining)
        self.remaining -= taken
        return taken


@dataclass(eq=False)
class Balance:
    """One asset's free and locked amounts."""

    free: Decimal = ZERO
    locked: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        """Free plus locked."""
        return self.free + self.locked


@dataclass(eq=False)
class Account:
    """One customer of the simulated exchange.

    Parameters
    ----------
    name
        A label for logs and tests.
    maker_fee, taker_fee
        Spot fee rates (0.001 = 0.1 %).
    futures_maker_fee, futures_taker_fee
        USDT-M fee rates.
    keep_orders, keep_trades
        How many closed orders and fills to keep for queries; older ones are forgotten so a
        long run's memory stays bounded (Binance keeps more; the bound is documented).
    """

    name: str
    maker_fee: Decimal = Decimal("0.001")
    taker_fee: Decimal = Decimal("0.001")
    futures_maker_fee: Decimal = Decimal("0.0002")
    futures_taker_fee: Decimal = Decimal("0.0005")
    keep_trades: int = 100_000
    balances: dict[str, Balance] = field(default_factory=dict)
    futures_wallet: Decimal = ZERO
    futures_asset: str = "USDT"
    trades: deque[dict[str, Any]] = field(default_factory=deque)
    futures_trades: deque[dict[str, Any]] = field(default_factory=deque)
    update_ms: int = 0
    positions: dict[str, Any] = field(default_factory=dict)
    """USDT-M positions by symbol (:class:`~.ledgers.Position`)."""
    income: deque[dict[str, Any]] = field(default_factory=deque)
    """USDT-M income history rows (``GET /fapi/v1/income``), oldest first."""

    def __post_init__(self) -> None:
        self.trades = deque(maxlen=self.keep_trades)
        self.futures_trades = deque(maxlen=self.keep_trades)
        self.income = deque(maxlen=self.keep_trades)

    def balance(self, asset: str) -> Balance:
        """Return the balance of ``asset`` (created at zero on first use)."""
        found = self.balances.get(asset)
        if found is None:
            found = self.balances[asset] = Balance()
        return found

    def deposit(self, asset: str, amount: Decimal) -> None:
        """Add ``amount`` of ``asset`` to the free spot balance (test and CLI setup)."""
        if amount < 0:
            raise ValueError(f"cannot deposit a negative amount of {asset}")
        self.balance(asset).free += amount

    def credit(self, asset: str, amount: Decimal) -> None:
        """Add ``amount`` to the free balance."""
        if amount < 0:
            raise InsufficientBalance(f"negative credit of {amount} {asset}")
        self.balance(asset).free += amount

    def debit(self, asset: str, amount: Decimal) -> None:
        """Take ``amount`` from the free balance; refuse to go below zero."""
        bal = self.balance(asset)
        if amount < 0 or bal.free < amount:
            raise InsufficientBalance(f"{self.name}: {amount} {asset} > free {bal.free}")
        bal.free -= amount

    def lock(self, asset: str, amount: Decimal) -> Reservation:
        """Move ``amount`` from free to locked and return the reservation holding it."""
        self.debit(asset, amount)
        self.balance(asset).locked += amount
        return Reservation(asset, amount)

    def spend_locked(self, reservation: Reservation, amount: Decimal) -> None:
        """Pay ``amount`` out of a reservation (it leaves the account)."""
        taken = reservation.draw(amount)
        if taken != amount:
            raise InsufficientBalance(
                f"{self.name}: reservation of {reservation.asset} short by {amount - taken}"
            )
        bal = self.balance(reservation.asset)
        bal.locked -= taken
        if bal.locked < 0:
            raise InsufficientBalance(f"{self.name}: locked {reservation.asset} went negative")

    def release(self, reservation: Reservation, amount: Decimal | None = None) -> None:
        """Return ``amount`` (default: all that remains) of a reservation to free."""
        taken = reservation.draw(reservation.remaining if amount is None else amount)
        bal = self.balance(reservation.asset)
        bal.locked -= taken
        bal.free += taken
        if bal.locked < 0:
            raise InsufficientBalance(f"{self.name}: locked {reservation.asset} went negative")

    def futures_debit(self, amount: Decimal) -> Decimal:
        """Take ``amount`` from the futures wallet, at most down to zero; return what was taken.

        A loss beyond the wallet (a liquidation past bankruptcy) is absorbed by the simulated
        insurance fund rather than leaving a negative wallet.
        """
        taken = min(amount, self.futures_wallet)
        self.futures_wallet -= taken
        return taken

    def balances_json(self) -> list[dict[str, str]]:
        """Render ``balances[]`` of ``GET /api/v3/account`` (assets ever used)."""
        return [
            {"asset": a, "free": fmt_dec(b.free), "locked": fmt_dec(b.locked)}
            for a, b in self.balances.items()
        ]


@dataclass(frozen=True)
class ApiKey:
    """An API key, its secret, permissions and owner."""

    key: str
    secret: str
    account: Account
    permissions: Permissions = Permissions()
    created_ms: int = 0


class KeyRing:
    """The API keys the exchange knows, by key string."""

    def __init__(self) -> None:
        self._keys: dict[str, ApiKey] = {}
        self.accounts: list[Account] = []

    def add(self, key: ApiKey) -> ApiKey:
        """Register ``key`` (its account too, if new)."""
        self._keys[key.key] = key
        if all(a is not key.account for a in self.accounts):
            self.accounts.append(key.account)
        return key

    def create(
        self,
        name: str,
        *,
        balances: dict[str, Decimal] | None = None,
        futures_wallet: Decimal = ZERO,
        permissions: Permissions | None = None,
        key: str | None = None,
        secret: str | None = None,
        **account_fields: Any,
    ) -> ApiKey:
        """Open an account with ``balances`` and return a new key for it.

        ``key`` and ``secret`` default to random strings of Binance's length (64 characters).
        """
        account = Account(name, **account_fields)
        for asset, amount in (balances or {}).items():
            account.deposit(asset, amount)
        account.futures_wallet = futures_wallet
        return self.add(
            ApiKey(
                key=key or secrets.token_hex(32),
                secret=secret or secrets.token_hex(32),
                account=account,
                permissions=permissions or Permissions(),
            )
        )

    def get(self, key: str) -> ApiKey | None:
        """Return the key with this key string, or None."""
        return self._keys.get(key)

    def __len__(self) -> int:
        return len(self._keys)


def fmt_dec(value: Decimal) -> str:
    """Format a Decimal as Binance does in JSON strings: plain notation, no exponent."""
    if not value:
        return "0"
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text
