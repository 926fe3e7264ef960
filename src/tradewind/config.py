"""The application config: one frozen section per component, from TOML, env and flags.

Precedence, lowest to highest: defaults, the TOML file, environment variables
(``TRADEWIND__SECTION__KEY=value``), command-line flags. Unknown keys are refused with the key's
name and where it came from; a wrong type names the key and the type it needs.
"""

from __future__ import annotations

import enum
import os
import tomllib
import types
import typing
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from tradewind.connectors.config import ExchangeConfig
from tradewind.core.errors import ConfigError
from tradewind.data.config import DataConfig
from tradewind.logs import LogConfig
from tradewind.persistence.config import DatabaseConfig
from tradewind.risk.config import RiskConfig

ENV_PREFIX = "TRADEWIND__"
DEFAULT_FILE = Path("tradewind.toml")


class AppConfig(BaseModel):
    """Every component's config, composed. Each section is documented beside its component."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    data: DataConfig = DataConfig()
    exchange: ExchangeConfig = ExchangeConfig()
    database: DatabaseConfig = DatabaseConfig()
    log: LogConfig = LogConfig()
    risk: RiskConfig = RiskConfig()


def load_config(
    path: Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> AppConfig:
    """Build the effective config.

    Parameters
    ----------
    path
        TOML file to read. ``None`` reads ``./tradewind.toml`` when it exists.
    env
        Environment to read ``TRADEWIND__SECTION__KEY`` variables from (``os.environ`` by default).
    overrides
        Values from command-line flags, by dotted key (``{"data.dir": "/tmp/x"}``); ``None`` values
        are ignored, so unset flags do not override.

    Raises
    ------
    ConfigError
        For an unreadable file, an unknown key or a value of the wrong type, naming the key and its
        source.
    """
    layers: dict[str, Any] = {}
    origins: dict[str, str] = {}
    if path is None and DEFAULT_FILE.exists():
        path = DEFAULT_FILE
    if path is not None:
        _merge(layers, origins, _read_toml(path), str(path), ())
    environ = os.environ if env is None else env
    for name, value in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX):
            continue
        parts = tuple(p.lower() for p in name[len(ENV_PREFIX) :].split("__"))
        if not all(parts):
            raise ConfigError(f"malformed environment variable {name}: use TRADEWIND__SECTION__KEY")
        _merge(layers, origins, _nest(parts, value), f"environment variable {name}", ())
    for dotted, value in (overrides or {}).items():
        if value is not None:
            _merge(layers, origins, _nest(tuple(dotted.split(".")), value), "command line", ())
    try:
        return AppConfig.model_validate(layers)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, origins)) from None


def secret_values(config: AppConfig) -> list[str]:
    """Every secret string in ``config``, for the log redaction filter."""
    found: list[str] = []

    def walk(model: BaseModel) -> None:
        for name in type(model).model_fields:
            value = getattr(model, name)
            if isinstance(value, SecretStr):
                found.append(value.get_secret_value())
            elif isinstance(value, BaseModel):
                walk(value)

    walk(config)
    return found


def render_toml(config: AppConfig) -> str:
    """Render ``config`` as TOML with every secret shown as ``"***"`` (set) or left out (unset)."""
    lines: list[str] = []
    for section in type(config).model_fields:
        model = getattr(config, section)
        lines.append(f"[{section}]")
        for key in type(model).model_fields:
            value = getattr(model, key)
            if value is None:
                lines.append(f"# {key} is not set")
                continue
            lines.append(f"{key} = {_toml_value(value)}")
        lines.append("")
    return "\n".join(lines)


def _toml_value(value: object) -> str:
    if isinstance(value, SecretStr):
        return '"***"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, enum.Enum):
        value = value.value
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None


def _nest(parts: tuple[str, ...], value: object) -> dict[str, Any]:
    nested: Any = value
    for part in reversed(parts):
        nested = {part: nested}
    return typing.cast(dict[str, Any], nested)


def _merge(
    into: dict[str, Any],
    origins: dict[str, str],
    layer: Mapping[str, Any],
    source: str,
    prefix: tuple[str, ...],
) -> None:
    for key, value in layer.items():
        dotted = ".".join((*prefix, key))
        if isinstance(value, Mapping):
            target = into.setdefault(key, {})
            if not isinstance(target, dict):
                raise ConfigError(
                    f"{source}: '{dotted}' is a section, but an earlier source set it to a value"
                )
            origins.setdefault(dotted, source)
            _merge(target, origins, value, source, (*prefix, key))
        else:
            into[key] = value
            origins[dotted] = source


def _describe(exc: ValidationError, origins: Mapping[str, str]) -> str:
    messages = []
    for error in exc.errors():
        loc = tuple(str(p) for p in error["loc"])
        dotted = ".".join(loc)
        source = _origin(loc, origins)
        if error["type"] == "extra_forbidden":
            messages.append(f"unknown config key '{dotted}' in {source}{_did_you_mean(loc)}")
        elif error["type"] == "value_error":
            # A validator's own words ("must be one of DEBUG, INFO, ...") say more than the type.
            reason = str(error["msg"]).removeprefix("Value error, ")
            messages.append(f"config key '{dotted}' in {source} {reason}")
        else:
            expected = _expected_type(loc)
            messages.append(
                f"config key '{dotted}' in {source} must be {expected}, got {error.get('input')!r}"
            )
    return "; ".join(messages)


def _origin(loc: tuple[str, ...], origins: Mapping[str, str]) -> str:
    for end in range(len(loc), 0, -1):
        found = origins.get(".".join(loc[:end]))
        if found:
            return found
    return "the defaults"


def _field_annotation(loc: tuple[str, ...]) -> Any:
    model: Any = AppConfig
    annotation: Any = None
    for part in loc:
        if (
            not (isinstance(model, type) and issubclass(model, BaseModel))
            or part not in model.model_fields
        ):
            return None
        annotation = model.model_fields[part].annotation
        model = annotation
    return annotation


def _did_you_mean(loc: tuple[str, ...]) -> str:
    import difflib

    parent = _field_annotation(loc[:-1]) if len(loc) > 1 else AppConfig
    if not (isinstance(parent, type) and issubclass(parent, BaseModel)):
        return ""
    close = difflib.get_close_matches(loc[-1], list(parent.model_fields), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _expected_type(loc: tuple[str, ...]) -> str:
    return _type_name(_field_annotation(loc))


def _type_name(annotation: Any) -> str:
    if annotation is None:
        return "a valid value"
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        names = [_type_name(a) for a in typing.get_args(annotation) if a is not type(None)]
        return " or ".join(names)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return "one of " + ", ".join(repr(m.value) for m in annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "a table of settings"
    simple = {
        bool: "true or false",
        int: "an integer",
        float: "a number",
        Decimal: "a decimal number",
        str: "a string",
        SecretStr: "a string",
        Path: "a path (string)",
    }
    return simple.get(annotation, getattr(annotation, "__name__", str(annotation)))
