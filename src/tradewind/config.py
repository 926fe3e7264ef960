"""The application config: one frozen section per component, from TOML, env and flags.

Precedence, lowest to highest: defaults, the TOML file, environment variables
(``TRADEWIND__SECTION__KEY=value``), command-line flags. Unknown keys are refused with the key's
name and where it came from; a wrong type names the key and the type it needs.
"""

from __future__ import annotations

import enum
import json
import math
import os
import re
import tomllib
import types
import typing
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from tradewind.connectors.config import ExchangeConfig
from tradewind.connectors.source_config import SourcesConfig
from tradewind.core.errors import ConfigError
from tradewind.data.config import DataConfig
from tradewind.logs import LogConfig
from tradewind.persistence.config import DatabaseConfig
from tradewind.risk.config import RiskConfig

ENV_PREFIX = "TRADEWIND__"
DEFAULT_FILE = Path("tradewind.toml")


NOTIFICATION_KINDS = (
    "entry", "exit", "stop", "take_profit", "breaker", "error", "stream", "anomaly", "operator",
    "denied", "daily_report", "weekly_report",
)  # fmt: skip
"""What the notifier can send: fills that open or close a position (``stop`` and
``take_profit`` are exits by a protective order), breaker trips and lifts, errors (strategy
faults, rejected orders, error log lines), stream disconnects and reconnects, anomaly alerts,
operator actions, risk denials, and the scheduled reports."""

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class NotificationsConfig(BaseModel):
    """The ``[notifications]`` table: where alerts and reports go, which, when and how many.

    Parameters
    ----------
    urls
        Apprise URLs (``json://``, ``form://``, ``mailto://``, ``ntfy://``, ...). They often
        carry tokens or passwords, so they are secrets: never logged or shown. From the
        environment (``TRADEWIND__NOTIFICATIONS__URLS``) give them separated by spaces. No URL:
        notifications are off.
    events
        The kinds to send (see :data:`NOTIFICATION_KINDS`); ``denied`` is off by default, since
        breaker trips already say why entries are refused.
    report_time
        When the daily P&L report is sent, ``HH:MM`` UTC; the weekly summary goes at the same time.
    weekly_day
        The weekday of the weekly summary.
    max_per_minute
        Rate cap: at most this many notifications a minute; what is held back is summarised in
        one message when the minute ends, never dropped silently. Reports are not capped.
    dedupe_seconds
        The same event (same kind and subject) is sent once within this window; 0 sends every one.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    urls: tuple[SecretStr, ...] = ()
    events: tuple[str, ...] = tuple(k for k in NOTIFICATION_KINDS if k != "denied")
    report_time: str = "08:00"
    weekly_day: str = "monday"
    max_per_minute: int = 20
    dedupe_seconds: int = 300

    @field_validator("urls", mode="before")
    @classmethod
    def _split_urls(cls, value: object) -> object:
        return value.split() if isinstance(value, str) else value

    @field_validator("urls")
    @classmethod
    def _url_shaped(cls, value: tuple[SecretStr, ...]) -> tuple[SecretStr, ...]:
        for i, url in enumerate(value):
            scheme, sep, rest = url.get_secret_value().partition("://")
            if not sep or not scheme.isalnum() or not rest:
                # The URL itself may hold a token: name its position, never its text.
                raise ValueError(f"entry {i + 1} is not a URL (scheme://...)")
        return value

    @field_validator("events", mode="before")
    @classmethod
    def _split_events(cls, value: object) -> object:
        return value.replace(",", " ").split() if isinstance(value, str) else value

    @field_validator("events")
    @classmethod
    def _known_events(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        import difflib

        for kind in value:
            if kind not in NOTIFICATION_KINDS:
                close = difflib.get_close_matches(kind, NOTIFICATION_KINDS, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ValueError(
                    f"has unknown kind {kind!r}{hint}; kinds: {', '.join(NOTIFICATION_KINDS)}"
                )
        return value

    @field_validator("report_time")
    @classmethod
    def _hh_mm(cls, value: str) -> str:
        hours, sep, minutes = value.partition(":")
        if not (sep and hours.isdigit() and minutes.isdigit() and len(minutes) == 2
                and int(hours) < 24 and int(minutes) < 60):  # fmt: skip
            raise ValueError(f"must be a UTC time HH:MM (like 08:00), got {value!r}")
        return f"{int(hours):02d}:{minutes}"

    @field_validator("weekly_day")
    @classmethod
    def _weekday(cls, value: str) -> str:
        if value.lower() not in WEEKDAYS:
            raise ValueError(f"must be a weekday ({', '.join(WEEKDAYS)}), got {value!r}")
        return value.lower()

    @field_validator("max_per_minute")
    @classmethod
    def _cap(cls, value: int) -> int:
        if not 1 <= value <= 1000:
            raise ValueError(f"must be in 1..1000, got {value}")
        return value

    @field_validator("dedupe_seconds")
    @classmethod
    def _window(cls, value: int) -> int:
        if not 0 <= value <= 86_400:
            raise ValueError(f"must be in 0..86400 (a day), got {value}")
        return value

    @property
    def enabled(self) -> bool:
        """True when there is somewhere to send to."""
        return bool(self.urls)


# A Bot API token is the bot's numeric id, a colon and a 35-character secret (letters, digits,
# "_" and "-"); the check is loose on the length so a test server's tokens pass.
_TELEGRAM_TOKEN = re.compile(r"\d{3,}:[A-Za-z0-9_-]{20,}")


class TelegramConfig(BaseModel):
    """The Telegram bot (``[telegram]``): who may command it, and where its token comes from.

    The token is a secret: give it by ``TRADEWIND__TELEGRAM__TOKEN`` or store it in the keystore
    and name the entry in ``keystore_entry`` (``tradewind keys add NAME --kind telegram``), never
    in the file. The bot answers only the users in ``allowed_users``, in their private chats and
    in the group chats listed in ``allowed_chats``; anyone else gets no answer at all. It lives
    here rather than beside the bot in ``ops`` because the config ring sits below the apps ring.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    token: SecretStr | None = None
    keystore_entry: str | None = None
    allowed_users: tuple[int, ...] = ()
    allowed_chats: tuple[int, ...] = ()
    commands_per_minute: int = Field(default=20, ge=1, le=600)
    """How many commands one user may send in a minute; more are refused with the wait."""
    confirm_timeout_s: float = Field(default=60.0, gt=0, le=3600)
    """How long the confirm button of a destructive command stays valid."""
    api_url: str = "https://api.telegram.org/bot"
    """The Bot API server (a self-hosted one, or a test server); the token is appended."""

    @model_validator(mode="after")
    def _usable(self) -> TelegramConfig:
        if (self.token is None) == (self.keystore_entry is None):
            raise ValueError(
                "must take the bot token from exactly one place: TRADEWIND__TELEGRAM__TOKEN "
                "(token) or a keystore entry (keystore_entry)"
            )
        # Never echo the token: the message says what is wrong with it, not what it is.
        if self.token is not None and not _TELEGRAM_TOKEN.fullmatch(self.token.get_secret_value()):
            raise ValueError(
                "has a token that does not look like a Bot API token (digits, a colon, then at "
                "least 20 letters, digits, '_' or '-'; BotFather gives it)"
            )
        if not self.allowed_users:
            raise ValueError(
                "has no allowed_users: list the numeric Telegram user ids that may command the "
                "bot (a bot that answers anyone can be stopped or emptied by anyone)"
            )
        if not self.api_url.startswith(("https://", "http://")):
            raise ValueError(f"has an api_url that is not an http(s) URL: {self.api_url!r}")
        return self


ROLLBACK_CAUSES = ("drift", "accuracy")


class MlConfig(BaseModel):
    """``[ml]``: how a session watches the registered models it trades (the feedback loop).

    Every prediction is recorded and resolved when its horizon has passed; over the latest
    ``feedback_window`` resolved ones, accuracy below ``min_accuracy`` (default: the model's own
    out-of-sample baseline, from its card), or a mean confidence more than
    ``max_confidence_gap`` above the accuracy, alerts and recalibrates. Every ``drift_every`` bars
    the latest ``drift_window`` bars' monitored features are compared with the model's training
    rows (PSI above ``psi_limit`` and its sampling bound, with a KS p-value below ``p_limit``
    shared among the features, both at effective sample sizes: ``p_limit`` is the false-alarm
    rate of one check on clean data). ``rollback_on`` names the causes
    that also roll the model back to the version it replaced (none by default: alert only).
    With ``retrain_data`` (a candle file kept current, e.g. by ``tradewind data download``),
    every ``retrain_every_days`` of bars a traded production model's retraining is queued for
    the jobs worker (``ml_retrain``: promoted only if it beats production out of sample).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    feedback_window: int = Field(default=50, ge=5, le=100_000)
    min_accuracy: float | None = Field(default=None, gt=0, lt=1)
    max_confidence_gap: float = Field(default=0.1, gt=0, le=1)
    drift_window: int = Field(default=200, ge=20, le=100_000)
    drift_every: int = Field(default=20, ge=1, le=100_000)
    psi_limit: float = Field(default=0.25, gt=0)
    p_limit: float = Field(default=0.01, gt=0, lt=1)
    rollback_on: tuple[str, ...] = ()
    retrain_every_days: float = Field(default=7.0, gt=0)
    retrain_data: str | None = None

    @field_validator("rollback_on")
    @classmethod
    def _causes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [v for v in value if v not in ROLLBACK_CAUSES]
        if unknown:
            raise ValueError(f"names {', '.join(unknown)}; causes are {', '.join(ROLLBACK_CAUSES)}")
        return value


class ApiConfig(BaseModel):
    """The operator API (``[api]``): the token a bot's own API accepts from the start.

    The token is a secret: give it by ``TRADEWIND__API__TOKEN``, never in the file. When it is set,
    ``tradewind demo`` logs in with it instead of printing a new one; other tokens are issued with
    ``tradewind api-token add`` and stored hashed in the bot's database.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    token: SecretStr | None = None
    max_failed_logins: int = Field(default=10, ge=1, le=10**9)
    """Failed logins (wrong tokens) one address may make within ``login_window_s`` before it
    gets 429 for the rest of the window."""
    login_window_s: float = Field(default=60.0, gt=0, le=86_400)

    @model_validator(mode="after")
    def _long_enough(self) -> ApiConfig:
        # Never echo the token: the message says what is wrong with it, not what it is.
        if self.token is not None and len(self.token.get_secret_value()) < 16:
            raise ValueError("has a token shorter than 16 characters (guessable)")
        return self


class HeartbeatConfig(BaseModel):
    """The dead man's switch (``[heartbeat]``): a GET to ``url`` every ``interval_s`` while the
    bot makes progress, carrying the audit chain's head; the monitor alarms when beats stop."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str
    interval_s: float = Field(default=10.0, gt=0, le=3600)
    max_silence_s: float = Field(default=60.0, gt=0, le=86_400)
    """How long the bot may make no progress (no bar, no event) before the beats stop."""

    @model_validator(mode="after")
    def _http(self) -> HeartbeatConfig:
        if not self.url.startswith(("https://", "http://")):
            raise ValueError(f"has a url that is not an http(s) URL: {self.url!r}")
        return self


class FallbackConfig(BaseModel):
    """When a live session gives up on a failing venue (``[fallback]``): ``venue_errors`` venue
    errors within ``window_s`` seconds make it protect every open position (``on_trip``: ``stop``
    confirms a native stop ``stop_distance`` beyond the last close, ``flatten`` closes at market),
    record and alert, and go on in paper until an operator runs ``tradewind live-resume``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    venue_errors: int = Field(default=5, ge=1, le=10_000)
    window_s: float = Field(default=60.0, gt=0, le=86_400)
    on_trip: typing.Literal["stop", "flatten"] = "stop"
    stop_distance: Decimal = Field(default=Decimal("0.05"), gt=0, lt=1)
    confirm_s: float = Field(default=15.0, gt=0, le=600)


class AppConfig(BaseModel):
    """Every component's config, composed. Each section is documented beside its component."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    data: DataConfig = DataConfig()
    exchange: ExchangeConfig = ExchangeConfig()
    database: DatabaseConfig = DatabaseConfig()
    log: LogConfig = LogConfig()
    risk: RiskConfig = RiskConfig()
    notifications: NotificationsConfig = NotificationsConfig()
    telegram: TelegramConfig | None = None
    heartbeat: HeartbeatConfig | None = None
    ml: MlConfig = MlConfig()
    api: ApiConfig = ApiConfig()
    fallback: FallbackConfig = FallbackConfig()
    sources: SourcesConfig | None = None
    """Several market-data sources for paper sessions (failover, cross-checks); None: the
    ``[exchange]`` alone."""


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
    """Every secret string in ``config``, for the log redaction filter: secret fields and the
    password inside any URL (``postgresql://user:PASSWORD@host/db``)."""
    found: list[str] = []

    def walk(model: BaseModel) -> None:
        for name in type(model).model_fields:
            value = getattr(model, name)
            if isinstance(value, SecretStr):
                found.append(value.get_secret_value())
            elif isinstance(value, tuple) and value and isinstance(value[0], SecretStr):
                found.extend(v.get_secret_value() for v in value)
                found.extend(p for v in value if (p := _url_password(v.get_secret_value())))
            elif isinstance(value, BaseModel):
                walk(value)
            elif isinstance(value, str) and (password := _url_password(value)):
                found.append(password)

    walk(config)
    return found


def render_toml(config: AppConfig) -> str:
    """Render ``config`` as TOML a user can copy into ``tradewind.toml``, with no secret in it.

    A set secret (an API key, a URL holding a password) becomes a comment that names the
    environment variable to give it by; an unset value becomes a ``# key is not set`` comment.
    Reading the output back gives the same config, less the secrets.
    """
    lines: list[str] = []
    for section in type(config).model_fields:
        value = getattr(config, section)
        if value is None:  # an optional table left out (``[telegram]``)
            lines.extend((f"# [{section}] is not set", ""))
            continue
        _render_table(lines, (section,), value)
    return "\n".join(lines).rstrip() + "\n"


def _render_table(lines: list[str], path: tuple[str, ...], model: BaseModel) -> None:
    lines.append(f"[{'.'.join(_toml_key(p) for p in path)}]")
    tables: list[tuple[tuple[str, ...], BaseModel]] = []
    for key in type(model).model_fields:
        value = getattr(model, key)
        env = ENV_PREFIX + "__".join(p.upper() for p in (*path, key))
        if isinstance(value, BaseModel):
            tables.append(((*path, key), value))
        elif (
            isinstance(value, dict)
            and value
            and all(isinstance(v, BaseModel) for v in value.values())
        ):
            tables.extend(((*path, key, str(k)), v) for k, v in value.items())
        elif value is None:
            lines.append(f"# {key} is not set")
        elif isinstance(value, SecretStr) or (
            isinstance(value, tuple) and value and isinstance(value[0], SecretStr)
        ):
            lines.append(f"# {key} is set (hidden); give it by {env}")
        elif isinstance(value, str) and _url_password(value):
            shown = _toml_value(value.replace(_url_password(value) or "", "***"))
            lines.append(f"# {key} = {shown} (password hidden); give it by {env}")
        else:
            lines.append(f"{_toml_key(key)} = {_toml_value(value)}")
    lines.append("")
    for sub_path, sub in tables:
        _render_table(lines, sub_path, sub)


def _url_password(text: str) -> str | None:
    if "://" not in text:
        return None
    try:
        return urlsplit(text).password or None
    except ValueError:
        return None


def _toml_key(key: str) -> str:
    return key if key.replace("_", "").replace("-", "").isalnum() else json.dumps(key)


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        if isinstance(value, float) and math.isnan(value):
            return "nan"
        if isinstance(value, float) and value in (float("inf"), float("-inf")):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, enum.Enum):
        return _toml_value(value.value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        items = ", ".join(f"{_toml_key(str(k))} = {_toml_value(v)}" for k, v in value.items())
        return "{" + (f" {items} " if items else "") + "}"
    if isinstance(value, BaseModel):
        return _toml_value(value.model_dump(exclude_none=True))
    # Decimals stay strings, so reading the file back keeps every digit.
    return json.dumps(str(value))


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
        if part.isdigit() and typing.get_origin(annotation) in (tuple, list):
            # An item of a list (``allowed_users.0``): the item's type.
            annotation = model = typing.get_args(annotation)[0]
            continue
        if (
            not (isinstance(model, type) and issubclass(model, BaseModel))
            or part not in model.model_fields
        ):
            return None
        annotation = _unwrap_optional(model.model_fields[part].annotation)
        model = annotation
    return annotation


def _unwrap_optional(annotation: Any) -> Any:
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
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
