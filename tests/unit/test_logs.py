"""Logging: text and JSON lines, and a configured secret never reaches a log line."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from tradewind.logs import REDACTED, LogConfig, RedactingFilter, setup_logging

SECRET = "sk-live-8f3a9c0d"


@pytest.fixture(autouse=True)
def restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def _emit(json_lines: bool) -> str:
    stream = io.StringIO()
    setup_logging(LogConfig(level="DEBUG", json_lines=json_lines), [SECRET], stream=stream)
    log = logging.getLogger("tradewind.test")
    log.info("plain message with the key %s inside", SECRET)
    log.warning(f"f-string with {SECRET}")
    try:
        raise RuntimeError(f"exchange rejected key {SECRET}")
    except RuntimeError:
        log.exception("request failed for %s", "binance")
    return stream.getvalue()


def test_text_lines_never_show_the_secret() -> None:
    text = _emit(json_lines=False)
    assert SECRET not in text
    assert text.count(REDACTED) == 3
    assert "RuntimeError: exchange rejected key ***" in text
    assert "INFO    tradewind.test: plain message with the key *** inside" in text


def test_json_lines_never_show_the_secret() -> None:
    text = _emit(json_lines=True)
    assert SECRET not in text
    records = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    assert [r["level"] for r in records] == ["INFO", "WARNING", "ERROR"]
    assert records[0]["message"] == "plain message with the key *** inside"
    assert records[0]["logger"] == "tradewind.test"
    assert "exchange rejected key ***" in records[2]["exception"]


def test_redaction_prefers_the_longest_secret_and_ignores_short_values() -> None:
    redactor = RedactingFilter(["abcd", "abcdefgh", "xy", ""])
    assert redactor.redact("abcdefgh abcd xy") == "*** *** xy"


def test_other_loggers_are_redacted_too() -> None:
    stream = io.StringIO()
    setup_logging(LogConfig(), [SECRET], stream=stream)
    logging.getLogger("ccxt.base.exchange").error("GET /api?signature=%s", SECRET)
    assert SECRET not in stream.getvalue()
    assert "signature=***" in stream.getvalue()


def test_a_handler_after_the_redactor_sees_the_redacted_traceback_and_the_exception() -> None:
    # The record is shared by every handler: the redactor must not strip what another handler
    # (pytest's caplog, an operator's file handler) inspects, yet none may print the secret.
    stream, seen = io.StringIO(), io.StringIO()
    setup_logging(LogConfig(), [SECRET], stream=stream)
    records: list[logging.LogRecord] = []
    later = logging.StreamHandler(seen)
    later.addFilter(lambda record: records.append(record) is None)
    logging.getLogger().addHandler(later)
    try:
        raise RuntimeError(f"exchange rejected key {SECRET}")
    except RuntimeError:
        logging.getLogger("tradewind.test").exception("request failed")
    [record] = records
    assert record.exc_info is not None
    assert record.exc_info[0] is RuntimeError
    assert SECRET not in seen.getvalue()
    assert SECRET not in stream.getvalue()
    assert "RuntimeError: exchange rejected key ***" in seen.getvalue()
