"""Logging setup: human lines or JSON lines, with every configured secret redacted.

Stdlib logging only. :class:`RedactingFilter` sits on the handler, so a secret is removed from
every record that reaches output, whichever logger emitted it, including exception text.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TextIO
from urllib.parse import quote, quote_plus

from pydantic import BaseModel, ConfigDict, field_validator

REDACTED = "***"
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class LogConfig(BaseModel):
    """Log level and format."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    level: str = "INFO"
    json_lines: bool = False

    @field_validator("level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in LEVELS:
            raise ValueError(f"must be one of {', '.join(LEVELS)}, got {value!r}")
        return level


# Secrets registered by whatever holds them (the keystore, the config loader): every
# RedactingFilter consults this set too, so a secret loaded after logging was set up is still
# removed from output. Process-wide on purpose: a secret is secret for every handler.
_REGISTERED: set[str] = set()

# Header values and query-string signatures that carry or derive from a key, whatever the key:
# ccxt logs request headers (X-MBX-APIKEY and friends) and signed URLs at DEBUG.
_SENSITIVE_PATTERNS = (
    re.compile(
        r"(?i)(['\"]?(?:x-mbx-apikey|x-bapi-api-key|api-key|apikey|x-api-key|authorization|"
        r"ok-access-key|ok-access-sign|x-bapi-sign)['\"]?\s*[:=]\s*['\"]?)([^'\",}\s&]+)"
    ),
    re.compile(r"(?i)((?:^|[?&\s])signature=)([0-9a-fA-F]{16,})"),
)


def register_secret(value: str) -> None:
    """Register ``value`` so every :class:`RedactingFilter` removes it (and its encodings)."""
    if value and len(value) >= 4:
        _REGISTERED.add(value)


def encoded_forms(secret: str) -> set[str]:
    """``secret`` as it may appear in output: plain, URL-encoded, base64 (standard and URL-safe,
    with and without padding) and hex (either case)."""
    raw = secret.encode()
    forms = {secret, quote(secret, safe=""), quote_plus(secret)}
    for encoded in (base64.b64encode(raw), base64.urlsafe_b64encode(raw)):
        text = encoded.decode()
        forms.update((text, text.rstrip("=")))
    hexed = binascii.hexlify(raw).decode()
    forms.update((hexed, hexed.upper()))
    return {form for form in forms if len(form) >= 4}


class RedactingFilter(logging.Filter):
    """Replace each known secret in a record's final message (and traceback) with ``***``.

    The message is rendered first (``record.getMessage()``), so a secret passed as a ``%s``
    argument is caught too. Each secret is removed in its plain, URL-encoded, base64 and hex
    forms, along with the values of API-key headers and query-string signatures.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._own: set[str] = set()
        self._secrets: list[str] = []
        self._seen: frozenset[str] = frozenset()
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """Register more secret values (empty strings and very short values are ignored)."""
        # Redacting 1-3 character strings would mangle ordinary words and prove nothing.
        self._own.update(secret for secret in secrets if secret and len(secret) >= 4)
        self._seen = frozenset()

    def _forms(self) -> list[str]:
        known = frozenset(self._own | _REGISTERED)
        if known != self._seen:
            forms: set[str] = set()
            for secret in known:
                forms |= encoded_forms(secret)
            # Longest first, so a secret that contains another is removed whole.
            self._secrets = sorted(forms, key=len, reverse=True)
            self._seen = known
        return self._secrets

    def redact(self, text: str) -> str:
        """Return ``text`` with every registered secret replaced."""
        for secret in self._forms():
            if secret in text:
                text = text.replace(secret, REDACTED)
        for pattern in _SENSITIVE_PATTERNS:
            text = pattern.sub(lambda match: match.group(1) + REDACTED, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place so no formatter can see the secret."""
        message = record.getMessage()
        record.msg = self.redact(message)
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            # Formatters print a cached exc_text instead of formatting exc_info again, so the
            # redacted text is what every handler shows; exc_info stays for handlers that inspect
            # the exception itself (the record is shared by all of them).
            formatter = logging.Formatter()
            record.exc_text = self.redact(formatter.formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (ISO-8601 UTC), level, logger, message, and exception text."""

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` as a JSON line."""
        payload: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        # A redacted exc_text (see RedactingFilter) takes precedence over the raw exception.
        if record.exc_text:
            payload["exception"] = record.exc_text
        elif record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, ensure_ascii=False)


def setup_logging(
    config: LogConfig, secrets: Iterable[str] = (), stream: TextIO | None = None
) -> RedactingFilter:
    """Configure the root logger once for this process and return its redaction filter."""
    handler = logging.StreamHandler(stream or sys.stderr)
    if config.json_lines:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter(
                "%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%Y-%m-%d %H:%M:%S"
            )
        )
    redactor = RedactingFilter(secrets)
    handler.addFilter(redactor)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(config.level.upper())
    # Alembic announces its SQL dialect at INFO on every start: noise between a command's lines.
    if logging.getLevelName(config.level.upper()) > logging.DEBUG:
        logging.getLogger("alembic").setLevel(logging.WARNING)
    return redactor
