"""Several simulated exchanges in one process, each on its own port and protocol.

Every venue replays the same recordings (Binance-protocol venues list the shared recordings,
Bybit-protocol ones :func:`~.recordings.list_bybit_recordings`, which replay the same Bybit L2
book), each with its own exchange core (accounts, orders, matching), and its own prices: its
recorded books are replayed through :class:`~.venue_skew.SkewedBook`.

Per-venue parameters (:func:`plan_venues`), seeded so the same ``seed`` gives the same venues:

============== ==============================================================================
offset_bps     the venue's price offset; 0 for the first venue (the reference), otherwise
               drawn uniformly from [-8, 8] bps (0.1 bp steps)
half_spread    extra half-spread; 0 for the first venue, otherwise from [0, 3] bps
latency_ms     latency of every REST request and every WebSocket frame (``SimExchange.latency_s``,
               served by :func:`~.faults.fault_middleware` and :class:`~.connections.Connection`);
               0 for the first, otherwise 2-25 ms
size_noise     relative noise on level sizes; 0 for the first, otherwise 5 %
============== ==============================================================================

A venue name says its protocol: ``binance``, ``binance2``, ``binance-eu``... speak Binance's,
``bybit``, ``bybit2``... Bybit's v5. Venue faults (outage, stall, price divergence) are in
:mod:`.venue_chaos`.
"""

from __future__ import annotations

import random
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tradewind.exchange_sim.bybit.app import build_bybit_app
from tradewind.exchange_sim.exchange import SimExchange
from tradewind.exchange_sim.recordings import list_bybit_recordings, list_shared_recordings
from tradewind.exchange_sim.replay import RecordedBook
from tradewind.exchange_sim.server import LoopbackServer, build_app
from tradewind.exchange_sim.venue_chaos import VenueChaos, VenueFault
from tradewind.exchange_sim.venue_skew import SkewedBook

_NAME = re.compile(r"^(binance|bybit)[a-z0-9-]*$")


@dataclass(frozen=True)
class VenueSpec:
    """One venue: name, protocol, port and how its prices differ from the recording."""

    name: str
    protocol: str
    port: int
    seed: int
    offset_bps: float = 0.0
    half_spread_bps: float = 0.0
    latency_ms: float = 0.0
    size_noise: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """The venue's configuration as plain values (printed by the CLI)."""
        return asdict(self)


def plan_venues(names: list[str], *, base_port: int, seed: int) -> list[VenueSpec]:
    """Return the venues named (ports ``base_port``, ``base_port + 1``...; 0: any free port).

    Raises
    ------
    ValueError
        For a name that names no protocol, or a name given twice.
    """
    if len(set(names)) != len(names):
        raise ValueError(f"a venue is named twice in {','.join(names)}")
    if not names:
        raise ValueError("name at least one venue")
    specs = []
    for i, name in enumerate(names):
        match = _NAME.match(name)
        if match is None:
            raise ValueError(
                f"venue {name!r}: a venue name starts with its protocol, 'binance' or 'bybit' "
                "(e.g. binance, bybit, binance2)"
            )
        port = base_port + i if base_port else 0
        venue_seed = seed * 1000 + i
        if i == 0:
            specs.append(VenueSpec(name, match.group(1), port, venue_seed))
            continue
        rng = random.Random(f"venue:{seed}:{name}")
        specs.append(
            VenueSpec(
                name, match.group(1), port, venue_seed,
                offset_bps=round(rng.uniform(-8.0, 8.0), 1),
                half_spread_bps=round(rng.uniform(0.0, 3.0), 1),
                latency_ms=float(rng.randint(2, 25)),
                size_noise=0.05,
            )
        )  # fmt: skip
    return specs


def skew_replays(sim: SimExchange, spec: VenueSpec) -> None:
    """Replay every recorded book of ``sim`` at the venue's prices."""
    for market in sim.all_markets():
        if isinstance(market.replay, RecordedBook) and not isinstance(market.replay, SkewedBook):
            listing = market.listing
            market.replay = SkewedBook(
                market.replay, tick=listing.tick_size, step=listing.step_size,
                offset_bps=spec.offset_bps, half_spread_bps=spec.half_spread_bps,
                size_noise=spec.size_noise, seed=spec.seed,
            )  # fmt: skip


def build_venue(spec: VenueSpec, root: Path, **sim_args: Any) -> SimExchange:
    """Return the venue's exchange: its protocol's recordings from ``root``, skewed."""
    sim = SimExchange(seed=spec.seed, **sim_args)
    if spec.protocol == "bybit":
        list_bybit_recordings(sim, root)
    else:
        list_shared_recordings(sim, root)
    skew_replays(sim, spec)
    return sim


@dataclass(eq=False)
class Venue:
    """A running venue: its spec, exchange, server and chaos."""

    spec: VenueSpec
    sim: SimExchange
    server: LoopbackServer = field(init=False)
    chaos: VenueChaos = field(init=False)
    faults: list[VenueFault] = field(default_factory=list)

    def __post_init__(self) -> None:
        spec = self.spec
        self.sim.latency_s = spec.latency_ms / 1000
        self.chaos = VenueChaos(spec.name, self.sim, self.faults, seed=spec.seed)
        app = build_bybit_app if spec.protocol == "bybit" else build_app
        self.server = LoopbackServer(self.sim, port=spec.port, app_factory=app)

    def describe(self) -> dict[str, Any]:
        """The venue's configuration and URLs (the server must be running)."""
        return {**self.spec.as_dict(), "port": self.server.port,
                "rest_url": self.server.rest_url, "ws_url": self.server.ws_url}  # fmt: skip


class MultiVenue:
    """Start and stop several venues on the running event loop (``async with``)."""

    def __init__(self, venues: list[Venue]) -> None:
        self.venues = venues

    def __getitem__(self, name: str) -> Venue:
        for venue in self.venues:
            if venue.spec.name == name:
                return venue
        raise KeyError(name)

    async def start(self) -> None:
        """Start every venue's server and chaos task."""
        for venue in self.venues:
            await venue.server.start_async()
            venue.chaos.start()

    async def stop(self) -> None:
        """Stop every venue."""
        for venue in self.venues:
            await venue.chaos.stop()
            await venue.server.stop_async()

    async def __aenter__(self) -> MultiVenue:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
