"""``tradewind ctl``: operate a running bot from the shell, through its operator API.

The CLI is one more thin adapter over the control facade: each command is one API call, so it
acts exactly as the dashboard and Telegram do and lands in the same operator-actions chain (as
``token:<name>`` over the ``api`` channel). The token comes from ``TRADEWIND__API__TOKEN`` (the
``[api]`` table), never from a flag, so it stays out of the shell's history and process list.
"""

from __future__ import annotations

import json
import logging
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

import httpx
import typer

from tradewind.cli.context import STATE
from tradewind.core.errors import UserError

app = typer.Typer(help="Operate a running bot through its API (token: TRADEWIND__API__TOKEN).",
                  no_args_is_help=True)  # fmt: skip

UrlArg = Annotated[
    str, typer.Option("--url", help="The bot's API (tradewind trade --serve --api-port N).")
]
ReasonOption = Annotated[
    str, typer.Option("--reason", "-r", help="Why: written to the operator-actions chain.")
]
_DEFAULT_URL = "http://127.0.0.1:8080"


def _call(url: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """One API call with the operator's token; a refusal or an unreachable bot is one line."""
    parsed = urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise UserError(f"--url {url!r}: not the bot's API address, e.g. {_DEFAULT_URL}")
    token = STATE.config().api.token
    if token is None:
        raise UserError("no API token: set TRADEWIND__API__TOKEN (tradewind api-token add)")
    headers = {"Authorization": f"Bearer {token.get_secret_value()}"}
    # httpx logs each request at INFO: the answer below says everything the operator needs.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        with httpx.Client(base_url=url.rstrip("/"), timeout=30) as client:
            answer = client.request(method, f"/api/v1/{path}", headers=headers, json=body)
    except (httpx.HTTPError, httpx.InvalidURL) as error:
        raise UserError(f"no answer from the bot at {url}: {type(error).__name__}") from None
    if answer.status_code >= 400:
        try:
            detail = answer.json().get("detail", answer.text)
        except ValueError:
            detail = answer.text
        raise UserError(f"the bot refused ({answer.status_code}): {detail}")
    return answer.json()


def _segment(symbol: str) -> str:
    """A symbol as one path segment of the API (``BTC/USDT`` -> ``BTC-USDT``), escaped."""
    return quote(symbol.replace("/", "-"), safe="")


def _act(url: str, path: str, reason: str, **body: Any) -> None:
    done = _call(url, "POST", path, {"reason": reason, **body})
    STATE.console.print(f"{done.get('action', path)}: {done.get('outcome', '')}", highlight=False)


@app.command("status")
def status(url: UrlArg = _DEFAULT_URL) -> None:
    """The bot's status, risk state and health, as JSON."""
    answer = {name: _call(url, "GET", name) for name in ("status", "risk", "positions")}
    STATE.console.print_json(json.dumps(answer, default=str))


@app.command("parents")
def parents(
    working: Annotated[bool, typer.Option("--working", help="Only those still working.")] = False,
    url: UrlArg = _DEFAULT_URL,
) -> None:
    """The bot's parent orders (TWAP, VWAP, ...) as its database holds them, as JSON."""
    answer = _call(url, "GET", "parents?working=true" if working else "parents")
    STATE.console.print_json(json.dumps(answer, default=str))


@app.command("costs")
def costs(url: UrlArg = _DEFAULT_URL) -> None:
    """Every session's execution costs from the bot's database (bps of the arrival mid), by
    strategy, venue, algorithm and kind, as JSON."""
    STATE.console.print_json(json.dumps(_call(url, "GET", "costs/stored"), default=str))


@app.command("pause")
def pause(reason: ReasonOption, url: UrlArg = _DEFAULT_URL) -> None:
    """No new entries; exits and protective stops go on."""
    _act(url, "pause", reason)


@app.command("resume")
def resume(reason: ReasonOption, url: UrlArg = _DEFAULT_URL) -> None:
    """Take new entries again."""
    _act(url, "resume", reason)


@app.command("stop-entries")
def stop_entries(symbol: str, reason: ReasonOption, url: UrlArg = _DEFAULT_URL) -> None:
    """No new entries in SYMBOL (BTC/USDT or BTC-USDT); its exits go on."""
    _act(url, f"symbols/{_segment(symbol)}/stop-entries", reason)


@app.command("allow-entries")
def allow_entries(symbol: str, reason: ReasonOption, url: UrlArg = _DEFAULT_URL) -> None:
    """Take new entries in SYMBOL again."""
    _act(url, f"symbols/{_segment(symbol)}/allow-entries", reason)


@app.command("force-exit")
def force_exit(
    reason: ReasonOption,
    symbol: Annotated[
        str | None, typer.Argument(help="The position's symbol; leave out with --all.")
    ] = None,
    every: Annotated[bool, typer.Option("--all", help="Close every position.")] = False,
    url: UrlArg = _DEFAULT_URL,
) -> None:
    """Close one position (SYMBOL) or, with --all, every one."""
    if (symbol is None) == (not every):
        raise UserError("name a SYMBOL or give --all (not both)")
    _act(url, "force-exit", reason, **({} if every else {"symbol": symbol}))


@app.command("emergency-stop")
def emergency_stop(
    reason: ReasonOption,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: cancel, flatten and halt.")] = False,
    url: UrlArg = _DEFAULT_URL,
) -> None:
    """Cancel every order, flatten what the bot owns and halt until resumed (needs --yes)."""
    if not yes:
        raise UserError("the emergency stop cancels every order and flattens the bot: add --yes")
    _act(url, "emergency-stop", reason)
