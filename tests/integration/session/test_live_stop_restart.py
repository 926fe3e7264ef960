"""A live bot killed with its native stop resting on the exchange carries the stop on when it is
started again: no refusal, no second stop, and the stop still protects the position (the price
crosses it after the restart: the exchange fills it and the bot books the fill once).

A child process (``stop_child.py``) trades live through the real ccxt client against the exchange
simulator, which replays the recorded XRP/ETH minutes at 120 times real speed; its strategy buys
once and keeps a 3% stop resting on the exchange. It is killed with SIGKILL once the stop rests,
then started again on the same bot with a strategy that never acts. Once the restarted bot says
it carried the stop on, two other accounts push the last price through it (one bids below the
stop, the other sells through the book into that bid). The truth is the simulator's own ledger.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tradewind.connectors.client import create_async_client
from tradewind.connectors.config import ExchangeConfig
from tradewind.core.orders import OrderStatus
from tradewind.exchange_sim import LoopbackServer, SimClock, SimExchange
from tradewind.exchange_sim.accounts import ApiKey, Permissions
from tradewind.exchange_sim.recordings import shared_listings
from tradewind.persistence.bots import open_bot

CHILD = Path(__file__).with_name("stop_child.py")
SYMBOL, SYMBOL_ID = "XRP/ETH", "XRPETH"
RISK = {"exits": {"stop_pct": 0.03}}


class Child:
    """A bot process whose stderr is read as it comes (the test waits for named lines)."""

    def __init__(self, server: LoopbackServer, key: ApiKey, tmp_path: Path, run: str,
                 max_bars: int, enter: bool) -> None:  # fmt: skip
        args = [sys.executable, str(CHILD), server.rest_url, key.key, key.secret,
                str(tmp_path / "bots"), str(tmp_path / run), str(max_bars),
                "1" if enter else "0", json.dumps(RISK)]  # fmt: skip
        self.process = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line)

    @property
    def err(self) -> str:
        return "".join(self.lines)

    async def wait_for(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.err:
            if self.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"no {text!r} from the bot:\n{self.err[-3000:]}")
            await asyncio.sleep(0.05)

    async def end(self, timeout: float) -> str:
        out, _ = await asyncio.to_thread(self.process.communicate, timeout=timeout)
        self._reader.join(timeout=5)
        return out


def _ledger(server: LoopbackServer, key: ApiKey) -> list[Any]:
    return server.call(lambda: sorted(server.sim.store.all_orders(key.account, False, SYMBOL_ID),
                                      key=lambda o: o.order_id))  # fmt: skip


async def _until(check: Any, what: str, timeout: float, child: Child) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline or child.process.poll() is not None:
            pytest.fail(f"timed out waiting for {what}:\n{child.err[-3000:]}")
        await asyncio.sleep(0.05)


@pytest.mark.slow
@pytest.mark.timeout(300)
async def test_a_restarted_bot_carries_its_resting_stop_on_and_it_still_protects(
    shared_data: Path, tmp_path: Path
) -> None:
    sim = SimExchange(seed=37, clock=SimClock(speed=120), history=0.5)
    frame = pd.read_feather(shared_data / "candles" / "XRP_ETH-1m.feather")
    sim.add_listing(shared_listings()["spot:XRPETH"], klines={"1m": frame})
    async with LoopbackServer(sim) as server:

        def account(name: str, **balances: int) -> ApiKey:
            return server.call(lambda: server.sim.open_account(
                name, balances=balances, permissions=Permissions(ip_restrict=True)))  # fmt: skip

        key = account("stopkill", ETH=10, XRP=5000)
        first = Child(server, key, tmp_path, "run1", 400, enter=True)
        try:
            await _until(lambda: any(o.type == "STOP_LOSS" and o.status == "NEW"
                                     for o in _ledger(server, key)), "the stop to rest", 120, first)  # fmt: skip
            first.process.send_signal(signal.SIGKILL)
            await first.end(60)
        finally:
            first.process.kill()
        assert first.process.returncode == -signal.SIGKILL
        [stop] = [o for o in _ledger(server, key) if o.type == "STOP_LOSS"]
        assert stop.status == "NEW", "the stop fired while the bot was dead: nothing proven"
        # Started again: it must carry the stop on (no refusal, no second stop).
        again = Child(server, key, tmp_path, "run2", 40, enter=False)
        try:
            await again.wait_for("protective stop(s)", 120)
            assert "carried on 1 working order(s) of an earlier session (1 protective stop(s))" in (
                again.err
            )
            # Push the last price through the stop: a bid below it, and a sell through the book
            # into that bid.
            bidder, seller = account("bidder", ETH=100), account("seller", XRP=50_000_000)
            config = {"rest_url": server.rest_url, "rate_limit": False}
            low = float(stop.stop_price) * 0.99
            clients = [create_async_client(ExchangeConfig(api_key=k.key, secret=k.secret, **config),
                                           market_types=("spot",)) for k in (bidder, seller)]  # fmt: skip
            try:
                for client in clients:
                    await client.load_markets()
                book = await clients[1].fetch_order_book(SYMBOL, 500)
                above = sum(q for p, q in book["bids"] if p > low)
                await clients[0].create_order(SYMBOL, "limit", "buy", 20_000, low)
                await clients[1].create_order(SYMBOL, "market", "sell", round(above + 5_000))
            finally:
                for client in clients:
                    await client.close()
            await _until(lambda: any(o.client_id == stop.client_id and o.status == "FILLED"
                                     for o in _ledger(server, key)), "the stop's fill", 30, again)  # fmt: skip
            out = await again.end(180)
        finally:
            again.process.kill()
        assert again.process.returncode == 0, again.err[-3000:]
        assert "done" in out
        ledger = _ledger(server, key)
        trades = server.call(lambda: [str(t["id"]) for t in key.account.trades])
    # No second stop, nothing sold but by the stop, the stop filled in full.
    assert [o.client_id for o in ledger if o.type == "STOP_LOSS"] == [stop.client_id]
    sells = [o for o in ledger if o.side == "SELL"]
    assert [o.client_id for o in sells] == [stop.client_id]
    [filled] = sells
    assert filled.status == "FILLED"
    assert filled.filled == filled.qty
    # Booked once: the database holds the stop filled with the exchange's trades, each once.
    bot = open_bot("stopkill", bots_dir=tmp_path / "bots", create=False)
    with bot.repository() as repository:
        stored = {o.client_id: o for o in repository.load_orders()}
        fills = [f for f, _ in repository.load_fills()]
        checkpoint = repository.load_checkpoint()
    bot.engine.dispose()
    assert stored[stop.client_id].status is OrderStatus.FILLED
    assert stored[stop.client_id].filled_quantity == filled.filled
    assert sorted(f.trade_id for f in fills) == sorted(trades)
    assert sum(f.quantity for f in fills if f.client_id == stop.client_id) == filled.filled
    # The restarted bot ended flat: its last checkpoint holds no position and counts every fill.
    assert checkpoint is not None
    assert not checkpoint.later
    assert all(p.quantity == 0 for p in checkpoint.positions)
    assert Decimal(filled.filled) > 0
