"""How an order is executed: the execution algorithm a parent order runs, and its settings.

A domain type (a strategy's intent may name one; the run's settings may give a default for every
market intent), so it lives in the core; the algorithms themselves are in
:mod:`tradewind.execution.algos`. :func:`parse_algo` reads the one-line form the command line and
configuration use: ``twap:horizon=30m,slices=6`` or ``iceberg:visible=0.5,horizon=1h``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from tradewind.core.errors import UserError
from tradewind.core.money import ZERO
from tradewind.core.timeframe import Timeframe


class Algo(StrEnum):
    """An execution algorithm (:mod:`tradewind.execution.algos`)."""

    MARKET = "market"
    """One child at once: a marketable limit IOC within the slippage guard."""
    TWAP = "twap"
    VWAP = "vwap"
    POV = "pov"
    ICEBERG = "iceberg"
    SMART_LIMIT = "smart_limit"
    AUTO = "auto"
    """The execution policy picks one of the others from the order's size against the market's
    liquidity at the decision (:mod:`tradewind.execution.policy`); ``guard_bps``,
    ``horizon_ms``, ``participation`` and ``timeout_ms`` set its thresholds."""


class Timeout(StrEnum):
    """What a smart limit does with its remainder when its time is up."""

    CROSS = "cross"
    CANCEL = "cancel"


@dataclass(frozen=True, slots=True, kw_only=True)
class AlgoSpec:
    """How a parent executes. Only the fields of the chosen ``algo`` matter.

    ``guard_bps`` caps every marketable child (and the MARKET algo) at that distance from the
    arrival price; ``limit_price`` is the iceberg's price (the arrival's best on our side when
    None). A VWAP with an empty ``volume_curve`` learns one from the bars known when it starts.
    ``participation`` is POV's share of the volume; on a TWAP or VWAP it is an optional cap
    (0: none): the parent never has more than that share of the volume traded since its start
    in fills and open children, so slices released at once (after a restart) wait for volume.
    """

    algo: Algo
    horizon_ms: int = 0
    slices: int = 1
    jitter: float = 0.0
    seed: int = 0
    volume_curve: tuple[float, ...] = ()
    participation: float = 0.0
    visible: Decimal = ZERO
    limit_price: Decimal | None = None
    chase_bps: Decimal = Decimal(10)
    timeout_ms: int = 60_000
    on_timeout: Timeout = Timeout.CROSS
    guard_bps: Decimal = Decimal(10)

    def __post_init__(self) -> None:
        algo = self.algo
        if algo in (Algo.TWAP, Algo.VWAP):
            if self.slices < 1:
                raise UserError(f"{algo}: slices must be at least 1, got {self.slices}")
            if self.horizon_ms <= 0:
                raise UserError(f"{algo}: horizon_ms must be positive, got {self.horizon_ms}")
        if not 0 <= self.jitter < 0.5:
            raise UserError(f"jitter must be in [0, 0.5), got {self.jitter}")
        curve = self.volume_curve
        if algo is Algo.VWAP and curve and (any(v < 0 for v in curve) or sum(curve) <= 0):
            raise UserError("vwap: the volume curve needs non-negative shares with a positive sum")
        if algo is Algo.POV and not 0 < self.participation <= 1:
            raise UserError(f"pov: participation must be in (0, 1], got {self.participation}")
        if not 0 <= self.participation <= 1:
            raise UserError(f"{algo}: participation must be in [0, 1], got {self.participation}")
        if algo is Algo.ICEBERG and self.visible <= 0:
            raise UserError(f"iceberg: the visible quantity must be positive, got {self.visible}")
        if self.guard_bps <= 0:
            raise UserError(f"guard_bps must be positive, got {self.guard_bps}")
        if algo is Algo.SMART_LIMIT and (self.timeout_ms <= 0 or self.chase_bps < 0):
            raise UserError("smart_limit: timeout_ms must be positive and chase_bps non-negative")

    def as_dict(self) -> dict[str, object]:
        """The algorithm and the settings that differ from the defaults, as JSON values (a
        result's record of how it executed; a learned volume curve is left out)."""
        out: dict[str, object] = {"algo": self.algo.value}
        for spec_field in fields(self):
            value = getattr(self, spec_field.name)
            if spec_field.name in ("algo", "volume_curve") or value == spec_field.default:
                continue
            out[spec_field.name] = str(value) if isinstance(value, Decimal | StrEnum) else value
        return out


_KEYS = {
    "horizon": "horizon_ms", "slices": "slices", "jitter": "jitter", "seed": "seed",
    "participation": "participation", "visible": "visible", "limit": "limit_price",
    "chase_bps": "chase_bps", "timeout": "timeout_ms", "on_timeout": "on_timeout",
    "guard_bps": "guard_bps",
}  # fmt: skip
"""The keys of the one-line form and the :class:`AlgoSpec` field each sets."""


def parse_algo(text: str) -> AlgoSpec:
    """Read ``<algo>[:key=value,...]``: the algorithm (market, twap, vwap, pov, iceberg,
    smart_limit, auto) and its settings. Durations (``horizon``, ``timeout``) take a count and a unit
    (``90s``, ``30m``, ``1h``); ``on_timeout`` is ``cross`` or ``cancel``; the rest are numbers.

    Raises
    ------
    UserError
        For an unknown algorithm or key, a value of the wrong kind, or settings the algorithm
        refuses, naming which.
    """
    name, _, rest = text.strip().partition(":")
    try:
        algo = Algo(name.strip().lower())
    except ValueError:
        known = ", ".join(a.value for a in Algo)
        raise UserError(f"unknown execution algorithm {name!r}: use one of {known}") from None
    values: dict[str, object] = {"algo": algo}
    types = {f.name: f.type for f in fields(AlgoSpec)}
    for item in filter(None, (part.strip() for part in rest.split(","))):
        key, sep, raw = item.partition("=")
        key, raw = key.strip(), raw.strip()
        field_name = _KEYS.get(key)
        if not sep or field_name is None:
            raise UserError(
                f"execution {algo}: expected key=value with a key among {', '.join(_KEYS)}, "
                f"got {item!r}"
            )
        values[field_name] = _value(algo, key, raw, str(types[field_name]))
    return AlgoSpec(**values)  # type: ignore[arg-type]


def _value(algo: Algo, key: str, raw: str, kind: str) -> object:
    try:
        if key in ("horizon", "timeout"):
            return Timeframe.parse(raw).ms
        if key == "on_timeout":
            return Timeout(raw)
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        return Decimal(raw)
    except (ValueError, InvalidOperation, UserError):
        raise UserError(f"execution {algo}: {key}={raw!r} is not a valid value") from None
