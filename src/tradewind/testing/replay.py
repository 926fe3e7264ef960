"""Read the exchange simulator's published timelines (``GET /tradewind/v1/replay``).

The simulator replays a recording shifted onto its own clock (see
:mod:`tradewind.exchange_sim.timeline`); tests that compare what they received with the
recording shift the recording by the offset the simulator publishes.
"""

from __future__ import annotations

from typing import Any

import requests


def timeline(rest_url: str, api: str, symbol: str) -> dict[str, Any]:
    """Return the published timeline of ``symbol`` on ``api`` (``"spot"`` or ``"usdm"``).

    Raises
    ------
    LookupError
        If the simulator publishes none for that market.
    """
    answer = requests.get(f"{rest_url}/tradewind/v1/replay", timeout=5)
    answer.raise_for_status()
    for market in answer.json()["markets"]:
        if (market["api"], market["symbol"]) == (api, symbol):
            return dict(market)
    raise LookupError(f"the simulator publishes no timeline for {api} {symbol}")


def first_pass_offset(rest_url: str, api: str, symbol: str) -> int:
    """Return server time minus recording time in the replay's first pass, in ms.

    With the simulator's default ``history=1`` the first pass is the whole recording, served as
    closed history.
    """
    return int(timeline(rest_url, api, symbol)["firstPassOffsetMs"])
