"""``tradewind exchange-sim --venues binance,bybit,binance2``: several venues in one process.

Each venue gets its own port (``--port``, ``--port + 1``...), protocol (from its name), exchange
core and prices (offset, spread, latency and size noise drawn from ``--seed``, see
:mod:`tradewind.exchange_sim.multi_venue`), and the same demo account (the key of
``--seed``) on each. One JSON line per venue gives its configuration and URLs. Venue faults come
from ``--venue-faults FILE`` (TOML ``[[venue_fault]]`` tables: ``venue``, ``kind``
(``venue_outage``, ``venue_stall``, ``price_divergence``), ``at_s`` or ``probability_per_s``,
``duration_s``, ``divergence_bps``).
"""

from __future__ import annotations

import asyncio
import json
import signal
import tomllib
from pathlib import Path
from typing import Any

from tradewind.cli.context import STATE
from tradewind.core.errors import UserError
from tradewind.exchange_sim.faults import FaultKind, FaultPlan
from tradewind.exchange_sim.multi_venue import MultiVenue, Venue, build_venue, plan_venues
from tradewind.exchange_sim.venue_chaos import VenueFault


def venue_faults(path: Path | None, names: list[str]) -> dict[str, list[VenueFault]]:
    """Read the venue faults of ``path`` by venue (exit 2 naming what is wrong)."""
    found: dict[str, list[VenueFault]] = {n: [] for n in names}
    if path is None:
        return found
    try:
        config = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise UserError(f"venue fault file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"venue fault file {path} is not valid TOML: {exc}") from None
    for i, table in enumerate(config.get("venue_fault", []), start=1):
        entry = dict(table)
        venue = entry.pop("venue", None)
        if venue not in found:
            raise UserError(f"{path}: venue_fault {i} names venue {venue!r}, not one of {names}")
        try:
            entry["kind"] = FaultKind(entry.get("kind", ""))
            found[venue].append(VenueFault(**entry))
        except (TypeError, ValueError) as exc:
            raise UserError(f"{path}: venue_fault {i}: {exc}") from None
    return found


def serve_venues(
    names_text: str,
    *,
    root: Path,
    port: int,
    seed: int,
    faults_path: Path | None,
    account: dict[str, Any],
    **sim_args: Any,
) -> None:
    """Build the venues, then serve them until Ctrl-C or SIGTERM."""
    names = [n.strip() for n in names_text.split(",") if n.strip()]
    try:
        specs = plan_venues(names, base_port=port, seed=seed)
    except ValueError as exc:
        raise UserError(f"--venues: {exc}") from None
    chaos = venue_faults(faults_path, names)
    venues = []
    for spec in specs:
        try:
            sim = build_venue(spec, root, faults=FaultPlan(seed=spec.seed), **sim_args)
        except FileNotFoundError as exc:
            raise UserError(f"recording missing in {root}: {exc.filename}") from None
        key = sim.open_account("demo", **account)
        venues.append((Venue(spec, sim, chaos[spec.name]), key))
    asyncio.run(_serve([v for v, _ in venues], venues[0][1]))


async def _serve(venues: list[Venue], key: Any) -> None:
    group = MultiVenue(venues)
    try:
        await group.start()
    except OSError as exc:
        await group.stop()
        raise UserError(f"cannot listen on 127.0.0.1: {exc.strerror}") from None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    console = STATE.console
    for venue in venues:
        described = venue.describe()
        console.print(
            f"{described['name']:<10} {described['protocol']:<8} {described['rest_url']}  "
            f"offset {described['offset_bps']:+.1f} bp, half-spread "
            f"{described['half_spread_bps']:.1f} bp, latency {described['latency_ms']:g} ms, "
            f"size noise {described['size_noise']:.0%}, venue faults {len(venue.faults)}",
            highlight=False,
        )
    for venue in venues:
        console.print(json.dumps(venue.describe()), highlight=False, soft_wrap=True)
    console.print(f"demo account on every venue: api key {key.key}", highlight=False)
    console.print("serving; Ctrl-C to stop", highlight=False)
    try:
        await stop.wait()
    finally:
        await group.stop()
        console.print("stopped", highlight=False)
