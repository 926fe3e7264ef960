"""A simulated ETH/BTC venue in a process of its own, for the tests that SIGKILL a primary.

``python venue_process.py ROOT --seed N --speed X --wall-ms W --replay-ms R --anchor-ms A``
serves the venue of :func:`sourcekit.eth_btc_venue` on a free loopback port, on a replay clock
that reads ``R`` at wall time ``W`` (the parent's clock, so that both processes' bars open at the
same times) with its recording anchored at ``A``, prints one JSON line with its REST and
WebSocket URLs, and serves until it is killed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from sourcekit import eth_btc_venue

from tradewind.exchange_sim import LoopbackServer, SimClock
from tradewind.exchange_sim.clock import wall_ms
from tradewind.exchange_sim.multi_venue import VenueSpec


async def _serve(args: argparse.Namespace) -> None:
    # The parent's replay clock, carried over: R at wall time W, ``speed`` times the wall clock.
    clock = SimClock(args.speed, start_ms=args.replay_ms + round((wall_ms() - args.wall_ms)
                                                                 * args.speed))  # fmt: skip
    spec = VenueSpec("binance", "binance", 0, seed=args.seed)
    sim = eth_btc_venue(spec, args.root, clock, anchor_ms=args.anchor_ms)
    server = LoopbackServer(sim)
    await server.start_async()
    print(json.dumps({"rest_url": server.rest_url, "ws_url": server.ws_url}), flush=True)
    await asyncio.Event().wait()  # until killed


def main() -> None:
    """Parse the arguments and serve."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("root", type=Path)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--speed", type=float, required=True)
    parser.add_argument("--wall-ms", type=int, required=True)
    parser.add_argument("--replay-ms", type=int, required=True)
    parser.add_argument("--anchor-ms", type=int, required=True)
    asyncio.run(_serve(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
