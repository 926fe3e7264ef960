"""``tradewind exchange-sim``: serve the loopback Binance simulator on recorded data.

It lists every recording of the data folder (the layout of :mod:`tradewind.data.recorded`:
``candles/``, ``futures/``, ``trades/``, ``orderbook/``), or with ``--catalog DIR`` the series of a
user's catalog (:mod:`.sim_catalog`), opens one funded demo account (its API key follows ``--seed``), starts the
server, and prints the REST and WebSocket URLs, the health and replay URLs and a ready ccxt
configuration. It runs until Ctrl-C or SIGTERM
and then closes every WebSocket (code 1001) and stops cleanly (exit code 0).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import signal
import tomllib
from pathlib import Path
from typing import Annotated

import typer

from tradewind.cli.context import STATE
from tradewind.cli.inputs import read_text
from tradewind.cli.sim_catalog import list_catalog
from tradewind.cli.sim_venues import serve_venues
from tradewind.core.errors import UserError
from tradewind.data.recorded import recorded_data_dir
from tradewind.exchange_sim import FaultPlan, LoopbackServer, SimExchange
from tradewind.exchange_sim.accounts import ApiKey, Permissions
from tradewind.exchange_sim.clock import SimClock
from tradewind.exchange_sim.recordings import list_shared_recordings


def _speed(text: str) -> float:
    if text.lower() in ("max", "inf", "fast"):
        return math.inf
    try:
        value = float(text)
    except ValueError:
        raise UserError(f"--speed must be a number or 'max', got {text!r}") from None
    if value <= 0:
        raise UserError(f"--speed must be positive, got {text}")
    return value


def _faults(path: Path | None, seed: int) -> FaultPlan:
    if path is None:
        return FaultPlan(seed=seed)
    text = read_text(path, "--faults")
    try:
        config = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"--faults {path} is not valid TOML: {exc}") from None
    config.setdefault("seed", seed)
    try:
        return FaultPlan.from_mapping(config)
    except (TypeError, ValueError) as exc:
        raise UserError(f"fault file {path}: {exc}") from None


def demo_credentials(seed: int) -> tuple[str, str]:
    """Return the demo account's API key and secret for ``seed`` (64 hex characters each).

    The same seed gives the same key on every start, so a bot's config keeps working across
    restarts. They guard nothing: the simulator listens on 127.0.0.1 only.
    """
    key = hashlib.sha256(f"tradewind exchange-sim key {seed}".encode()).hexdigest()
    secret = hashlib.sha256(f"tradewind exchange-sim secret {seed}".encode()).hexdigest()
    return key, secret


def ccxt_snippet(server: LoopbackServer, key: ApiKey) -> str:
    """Return Python that builds a ccxt client for ``server`` (the recipe of ccxt-loopback.md)."""
    return f'''import ccxt.pro as ccxtpro  # or ccxt / ccxt.async_support (then drop 'ws')
from tradewind.connectors.client import binance_urls

ex = ccxtpro.binance({{
    "apiKey": "{key.key}",
    "secret": "{key.secret}",
    "options": {{"fetchMarkets": {{"types": ["spot", "linear"]}},
                "fetchCurrencies": False, "fetchMargins": False}},
}})
ex.urls["api"] = binance_urls("{server.rest_url}", "{server.ws_url}")
# tradewind config: [exchange] name = "binance", rest_url = "{server.rest_url}",
#                   ws_url = "{server.ws_url}"'''


def exchange_sim(
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            help="Recorded data folder (candles/, futures/, trades/, orderbook/); default: the "
            "real recordings bundled with Tradewind.",
        ),
    ] = None,
    speed: Annotated[
        str, typer.Option("--speed", help="Replay speed factor (1 = real time) or 'max'.")
    ] = "1",
    faults: Annotated[
        Path | None, typer.Option("--faults", help="TOML fault plan ([[fault]] tables, seed).")
    ] = None,
    port: Annotated[
        int, typer.Option("--port", help="TCP port on 127.0.0.1 (0: any free).")
    ] = 8765,
    seed: Annotated[
        int,
        typer.Option("--seed", help="Seed of derived flows, faults and the demo API key."),
    ] = 0,
    usdt: Annotated[
        float, typer.Option("--usdt", help="Spot and futures USDT of the demo account.")
    ] = 100_000.0,
    withdrawals: Annotated[
        bool, typer.Option("--withdrawals", help="Give the demo key withdrawal permission.")
    ] = False,
    max_connection_hours: Annotated[
        float, typer.Option("--max-connection-hours", help="Close WebSockets older than this.")
    ] = 24.0,
    catalog: Annotated[
        Path | None,
        typer.Option(
            "--catalog",
            help="Serve this catalog folder (written by 'tradewind data import' or 'data "
            "download') instead of the recorded data.",
        ),
    ] = None,
    history: Annotated[
        float,
        typer.Option(
            "--history",
            help="Share of each recording already past when the replay starts (0 to 1; 1: the "
            "whole recording is history and the replay starts it again).",
        ),
    ] = 1.0,
    venues: Annotated[
        str | None,
        typer.Option(
            "--venues",
            help="Serve several venues at once, e.g. 'binance,bybit,binance2' (each on its own "
            "port from --port up, protocol from its name, prices offset per venue by --seed).",
        ),
    ] = None,
    venue_faults: Annotated[
        Path | None,
        typer.Option(
            "--venue-faults",
            help="With --venues: TOML [[venue_fault]] tables (venue outage, stall, price "
            "divergence; scheduled at_s or random probability_per_s).",
        ),
    ] = None,
) -> None:
    """Serve a Binance-compatible exchange simulator on recorded data until Ctrl-C.

    Prints the URLs to put in a config and a ready ccxt configuration snippet.
    """
    if data is not None and catalog is not None:
        raise UserError("--data and --catalog name two sources: serve one of them")
    if not 0.0 <= history <= 1.0:
        raise UserError(f"--history must be between 0 and 1, got {history}")
    if venue_faults is not None and venues is None:
        raise UserError("--venue-faults needs --venues")
    if venues is not None:
        if catalog is not None:
            raise UserError("--venues serves the recorded data; it cannot serve --catalog")
        root = data if data is not None else recorded_data_dir()
        if not (root / "candles").is_dir():
            raise UserError(f"{root} is not a recorded-data folder (it has no candles/ folder)")
        demo_key, demo_secret = demo_credentials(seed)
        account = {"balances": {"USDT": usdt, "BTC": 1, "ETH": 10, "XRP": 10_000},
                   "futures_usdt": usdt, "permissions": Permissions(withdrawals=withdrawals),
                   "key": demo_key, "secret": demo_secret}  # fmt: skip
        serve_venues(
            venues, root=root, port=port, seed=seed, faults_path=venue_faults, account=account,
            clock=SimClock(_speed(speed)), history=history,
        )  # fmt: skip
        return
    clock = SimClock(_speed(speed))
    sim = SimExchange(clock=clock, faults=_faults(faults, seed), seed=seed, history=history)
    if catalog is not None:
        report = list_catalog(sim, catalog)
        for label, series in report.listed.items():
            STATE.console.print(f"listed   {label}: {', '.join(series)}", highlight=False)
        for line in report.notes:
            STATE.console.print(f"note     {line}", highlight=False)
        for line in report.skipped:
            STATE.console.print(f"skipped  {line}", highlight=False)
    else:
        root = data if data is not None else recorded_data_dir()
        if not (root / "candles").is_dir():
            raise UserError(f"{root} is not a recorded-data folder (it has no candles/ folder)")
        try:
            list_shared_recordings(sim, root)
        except FileNotFoundError as exc:
            raise UserError(f"recording missing in {root}: {exc.filename}") from None
    demo_key, demo_secret = demo_credentials(seed)
    key = sim.open_account(
        "demo",
        balances={"USDT": usdt, "BTC": 1, "ETH": 10, "XRP": 10_000},
        futures_usdt=usdt,
        permissions=Permissions(withdrawals=withdrawals),
        key=demo_key,
        secret=demo_secret,
    )
    asyncio.run(_serve(sim, key, port, max_connection_hours * 3600.0))


async def _serve(sim: SimExchange, key: ApiKey, port: int, max_age_s: float) -> None:
    server = LoopbackServer(sim, port=port, max_connection_s=max_age_s)
    try:
        await server.start_async()
    except OSError as exc:
        raise UserError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror}") from None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    console = STATE.console
    console.print(f"REST     {server.rest_url}", highlight=False)
    console.print(f"WS       {server.ws_url}", highlight=False)
    console.print(f"health   {server.rest_url}/health", highlight=False)
    console.print(
        f"replay   {server.rest_url}/tradewind/v1/replay  (server time - recording time, per market)",
        highlight=False,
    )
    console.print(
        "markets  "
        + ", ".join(sorted(f"{s}{':USDT' if f else ''}" for f, s in sim.engine.markets)),
        highlight=False,
    )
    console.print(
        json.dumps({"rest_url": server.rest_url, "ws_url": server.ws_url}), highlight=False
    )
    console.print(
        "\nccxt configuration:\n" + ccxt_snippet(server, key), highlight=False, markup=False
    )
    console.print("\nserving; Ctrl-C to stop", highlight=False)
    try:
        await stop.wait()
    finally:
        await server.stop_async()
        console.print("stopped", highlight=False)
