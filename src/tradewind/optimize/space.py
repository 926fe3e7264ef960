"""Search spaces from a strategy's declared parameters, narrowed or fixed by the user.

Each declared :class:`~tradewind.strategies.params.Param` with a range becomes a dimension: ints
and floats between ``low`` and ``high`` (with ``step`` where declared), booleans and string
choices as categories. The user narrows a dimension (``fast=2:20``, ``fast=2:20:2``), lists values
(``ma=sma,ema``) or fixes it (``short=false``). Risk settings join the space only when named
(``risk.exits.stop_pct=0.005:0.05``); they have no declared range, so the user gives one.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from tradewind.core.errors import UserError
from tradewind.strategies.base import Strategy
from tradewind.strategies.params import Param, ParamValue

RISK_PREFIX = "risk."


@dataclass(frozen=True)
class Dimension:
    """One searched parameter: a numeric range (``low``..``high``, optional ``step``) or choices."""

    name: str
    kind: type
    low: float | None = None
    high: float | None = None
    step: float | None = None
    choices: tuple[ParamValue, ...] | None = None

    def grid(self) -> list[ParamValue]:
        """Every value a grid search visits.

        Raises
        ------
        UserError
            For a float range without a step.
        """
        if self.choices is not None:
            return list(self.choices)
        assert self.low is not None
        assert self.high is not None
        if self.kind is int:
            step = int(self.step or 1)
            return list(range(int(self.low), int(self.high) + 1, step))
        if self.step is None:
            raise UserError(
                f"parameter {self.name!r} is a float range without a step; a grid needs one: "
                f"--space {self.name}={self.low}:{self.high}:STEP"
            )
        count = math.floor((self.high - self.low) / self.step + 1e-9) + 1
        return [round(self.low + i * self.step, 12) for i in range(count)]


@dataclass(frozen=True)
class SearchSpace:
    """The searched dimensions and the fixed values of everything else."""

    dimensions: tuple[Dimension, ...]
    fixed: dict[str, ParamValue] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    """Why a declared parameter was fixed rather than searched (it cannot act on the market)."""

    @property
    def names(self) -> list[str]:
        """Names of the searched dimensions."""
        return [d.name for d in self.dimensions]

    def grid_size(self) -> int:
        """How many points the full grid has."""
        return math.prod(len(d.grid()) for d in self.dimensions)

    def grid(self) -> Iterator[dict[str, ParamValue]]:
        """Every grid point, in a fixed order (the last dimension varies fastest)."""
        values = [d.grid() for d in self.dimensions]
        for point in itertools.product(*values):
            yield dict(zip(self.names, point, strict=True))


def build_space(
    strategy: type[Strategy],
    overrides: Mapping[str, str] | None = None,
    *,
    can_short: bool = True,
    market: str = "",
) -> SearchSpace:
    """The search space of ``strategy`` with the user's ``overrides`` applied.

    Parameters
    ----------
    strategy
        The strategy class; its declared parameters with a range (or bool/choices) are searched.
    overrides
        ``{name: spec}``: ``"low:high"`` or ``"low:high:step"`` narrows a numeric range,
        ``"a,b,c"`` lists values, anything else fixes the value. ``risk.<section>.<key>`` names
        add a risk setting to the space (a range is then required).
    can_short, market
        Whether the traded market (named ``market``) can be sold short. When it cannot, every
        parameter declared ``shorts_only`` is fixed at its default and :attr:`SearchSpace.notes`
        says why: searching it would only fill the ranking with trials that differ in nothing
        but denied intents.

    Raises
    ------
    UserError
        For an unknown parameter, a malformed spec, a range outside the declared one, or a
        search (or a non-default value) of a parameter that cannot act on the market.
    """
    declared = strategy.parameters()
    dims: dict[str, Dimension] = {}
    fixed: dict[str, ParamValue] = {}
    notes: dict[str, str] = {}
    idle = {n for n, p in declared.items() if p.shorts_only and not can_short}
    for name, param in declared.items():
        dim = _declared_dimension(name, param)
        if name in idle:
            fixed[name] = param.default
            notes[name] = (
                f"fixed at {param.default!r}: {market or 'the market'} is spot and cannot be "
                "sold short"
            )
        elif dim is None:
            fixed[name] = param.default
        else:
            dims[name] = dim
    for name, spec in (overrides or {}).items():
        if name.startswith(RISK_PREFIX):
            dims[name] = _risk_dimension(name, spec)
            continue
        if name not in declared:
            known = ", ".join(declared) or "none"
            raise UserError(f"strategy {strategy.name!r} has no parameter {name!r}; its: {known}")
        param = declared[name]
        dim = _override(name, param, spec)
        if name in idle and (isinstance(dim, Dimension) or dim != param.default):
            raise UserError(
                f"--space {name}={spec}: {name!r} cannot act on {market or 'this market'} "
                "(a spot market cannot be sold short); leave it out"
            )
        dims.pop(name, None)
        fixed.pop(name, None)
        if isinstance(dim, Dimension):
            dims[name] = dim
        else:
            fixed[name] = dim
    if not dims:
        raise UserError(f"nothing to search: strategy {strategy.name!r} has no open parameter")
    return SearchSpace(tuple(dims.values()), fixed, notes)


def _declared_dimension(name: str, param: Param) -> Dimension | None:
    if param.kind is bool:
        return Dimension(name, bool, choices=(False, True))
    if param.choices is not None:
        return Dimension(name, str, choices=tuple(param.choices))
    if param.kind in (int, float) and param.low is not None and param.high is not None:
        return Dimension(name, param.kind, param.low, param.high, param.step)
    return None


def _override(name: str, param: Param, spec: str) -> Dimension | ParamValue:
    text = spec.strip()
    if param.kind in (int, float) and ":" in text:
        parts = text.split(":")
        if len(parts) not in (2, 3):
            raise UserError(f"--space {name}: use low:high or low:high:step, got {spec!r}")
        low, high = (param.coerce(name, p) for p in parts[:2])
        step = None
        if len(parts) == 3:
            step = _number(name, parts[2])
            if step <= 0:
                raise UserError(f"--space {name}: the step must be positive, got {parts[2]}")
        assert isinstance(low, int | float)
        assert isinstance(high, int | float)
        if low > high:
            raise UserError(f"--space {name}: low {low} is above high {high}")
        return Dimension(name, param.kind, float(low), float(high), step)
    if "," in text:
        values = tuple(param.coerce(name, v) for v in text.split(","))
        return Dimension(name, param.kind, choices=values)
    return param.coerce(name, text)


def _risk_dimension(name: str, spec: str) -> Dimension:
    parts = spec.split(":")
    if len(parts) not in (2, 3):
        raise UserError(f"--space {name}: a risk setting needs low:high or low:high:step")
    low, high = _number(name, parts[0]), _number(name, parts[1])
    if low > high:
        raise UserError(f"--space {name}: low {low} is above high {high}")
    step = _number(name, parts[2]) if len(parts) == 3 else None
    return Dimension(name, float, low, high, step)


def _number(name: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise UserError(f"--space {name}: {text!r} is not a number") from None


def split_point(point: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split a trial's values into strategy parameters and a nested risk settings dict."""
    params: dict[str, Any] = {}
    risk: dict[str, Any] = {}
    for name, value in point.items():
        if not name.startswith(RISK_PREFIX):
            params[name] = value
            continue
        node = risk
        keys = name[len(RISK_PREFIX) :].split(".")
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        node[keys[-1]] = value
    return params, risk
