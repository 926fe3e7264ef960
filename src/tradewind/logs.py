"""Logging setup: human lines or JSON lines, with every configured secret redacted.

Stdlib logging only. :class:`RedactingFilter` sits on the handler, so a secret is removed from
every record that reaches output, whichever logger emitted it, including exception text.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TextIO

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


class RedactingFilter(logging.Filter):
    """Replace each known secret in a record's final message (and traceback) with ``***``.

    The message is rendered first (``record.getMessage()``), so a secret passed as a ``%s``
    argument is caught too.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets: list[str] = []
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """Register more secret values (empty strings and very short values are ignored)."""
        for secret in secrets:
            # Redacting 1-3 character strings would mangle ordinary words and prove nothing.
            if secret and len(secret) >= 4 and secret not in self._secrets:
                self._secrets.append(secret)
        # Longest first, so a secret that contains another is removed whole.
        self._secrets.sort(key=len, reverse=True)

    def redact(self, text: str) -> str:
        """Return ``text`` with every registered secret replaced."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place so no formatter can see the secret."""
        message = record.getMessage()
        record.msg = self.redact(message)
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            formatter = logging.Formatter()
            record.exc_text = self.redact(formatter.formatException(record.exc_info))
            record.exc_info = None
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
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            payload["exception"] = record.exc_text
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
    return redactor
