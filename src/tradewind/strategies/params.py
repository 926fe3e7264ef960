"""Declared strategy parameters: type, default, search range, checked by name."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tradewind.core.errors import UserError

ParamValue = int | float | bool | str


@dataclass(frozen=True)
class Param:
    """A tunable parameter, declared as a class attribute of a strategy.

    The type is the default's type. ``low``/``high`` bound the search range of the optimiser and
    the values a user may set; ``choices`` lists the allowed values of a string parameter;
    ``shorts_only`` marks a parameter that cannot act on a market that cannot be sold short.
    """

    default: ParamValue
    low: float | None = None
    high: float | None = None
    step: float | None = None
    choices: tuple[str, ...] | None = None
    doc: str = ""
    shorts_only: bool = False
    """The parameter only acts where the market can be sold short (a ``short`` switch): on a
    spot market the optimiser fixes it at its default instead of searching it."""

    @property
    def kind(self) -> type:
        """The parameter's type (that of its default)."""
        return type(self.default)

    def coerce(self, name: str, value: Any) -> ParamValue:
        """Check and convert a user value (strings from the CLI are parsed).

        Raises
        ------
        UserError
            If the value has the wrong type or lies outside the declared range.
        """
        kind = self.kind
        try:
            if kind is bool:
                if isinstance(value, str):
                    lowered = value.strip().lower()
                    if lowered not in ("true", "false", "1", "0", "yes", "no"):
                        raise ValueError(value)
                    converted: ParamValue = lowered in ("true", "1", "yes")
                elif isinstance(value, bool):
                    converted = value
                else:
                    raise ValueError(value)
            elif kind is int:
                if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                    raise ValueError(value)
                converted = int(value)
            elif kind is float:
                if isinstance(value, bool):
                    raise ValueError(value)
                converted = float(value)
            else:
                converted = str(value)
        except (TypeError, ValueError):
            raise UserError(f"parameter {name!r} must be {kind.__name__}, got {value!r}") from None
        if isinstance(converted, int | float) and not isinstance(converted, bool):
            if self.low is not None and converted < self.low:
                raise UserError(f"parameter {name!r} must be >= {self.low}, got {converted}")
            if self.high is not None and converted > self.high:
                raise UserError(f"parameter {name!r} must be <= {self.high}, got {converted}")
        if self.choices is not None and converted not in self.choices:
            raise UserError(
                f"parameter {name!r} must be one of {', '.join(self.choices)}, got {converted!r}"
            )
        return converted


def resolve_params(
    owner: str, declared: Mapping[str, Param], given: Mapping[str, Any]
) -> dict[str, ParamValue]:
    """Defaults overridden by ``given``; an unknown name gets a "did you mean"."""
    values: dict[str, ParamValue] = {name: p.default for name, p in declared.items()}
    for name, value in given.items():
        if name not in declared:
            close = difflib.get_close_matches(name, list(declared), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            known = ", ".join(declared) or "none"
            raise UserError(f"{owner} has no parameter {name!r}{hint}; its parameters: {known}")
        values[name] = declared[name].coerce(name, value)
    return values
