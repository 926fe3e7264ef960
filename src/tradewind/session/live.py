"""A live session: the paper session's Node, bars and recording, with real orders on the exchange.

:class:`LiveSession` is a :class:`~tradewind.session.paper.PaperSession` whose driver is the
:class:`~tradewind.session.live_driver.LiveDriver`: orders go to the exchange through the live
venue port (:class:`~tradewind.venues.live.LiveVenuePort`: a client id on every order, ambiguous
answers looked up and never resent), and the exchange's answers come back into the Node whenever
they arrive. The bot's database records every order before it is sent (the session's
:class:`~tradewind.engine.recording.RepositoryRecorder`, on the Node's bus ahead of the send).

Before the feed starts (fail closed, nothing sent yet):

1. the session must be confirmed (:attr:`LiveConfig.confirmed`: the CLI's
   ``--i-understand-live-orders`` or an interactive yes);
2. the API key must not be able to withdraw or transfer
   (:func:`tradewind.connectors.key_check.check_key`);
3. the capital the bot may use is the smaller of the quote balance and ``max_capital``: the
   Node's account holds that much and sizes every order from it.

Before the first decision, the exchange is reconciled with the database
(:func:`tradewind.venues.live.reconcile.reconcile`): orders an earlier session left open are
looked up and their end and fills booked; a divergence nothing explains stops the start with
the report. Balances the bot did not create are reported as external and never traded. The
positions the bot's earlier sessions left (the last checkpoint and the fills after it) are held
again, and the bot's own orders still working on the exchange (its client ids, stored as not
ended) are carried on, not refused: the port follows each by client id, and a native stop goes on
as its position's stop (:meth:`~tradewind.session.live_driver.LiveDriver.carry_on`), so a restart
places no second stop and the position stays protected throughout.

While trading, the reconcile runs again every ``reconcile_s`` seconds, after every user-stream
or market-stream reconnect, and when the user stream's balance or position updates differ from
the bot's fills (:class:`~tradewind.venues.live.running.RunningReconcile`): a fill the
bot missed is booked once, what the bot did not make is reported, each finding is journalled as an
alert; a divergence nothing explains pauses new entries (fail closed; exits still pass).

While trading, repeated venue errors within a window (:class:`LiveConfig.venue_errors`) make the
session confirm a native stop on every open position (or flatten them, as configured), record it
in the audit trail, alert, and stop: the caller goes on in paper (:attr:`LiveSession.fell_back`),
and live resumes only through ``tradewind live-resume`` with a two-factor code
(:mod:`tradewind.session.venue_fallback`).

With :attr:`~tradewind.session.paper.PaperConfig.sources` the market data comes from ordered
sources with failover, as in a paper session (:class:`~tradewind.connectors.failover.SourceSet`;
the first candle source is the trading exchange, read through the session's own client), while
every order still goes to the one trading exchange: a stalled candle stream on the trading venue
hands the bars to the next source and the session keeps deciding and trading on them, with the
"stale data" and "data divergence" breakers applied as in paper.

When the session stops, its open orders are cancelled on the exchange (a fallback's confirmed
stops excepted); positions stay.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from tradewind.backtest.api import PreparedRun
from tradewind.connectors.failover import SourceSet
from tradewind.connectors.key_check import check_key
from tradewind.connectors.market_feed import MarketFeed
from tradewind.connectors.shared_budget import SharedRateBudget
from tradewind.core.errors import UserError
from tradewind.core.instrument import Instrument
from tradewind.core.market_events import StreamState
from tradewind.core.orders import ClientIdFactory
from tradewind.data.session_recording import JournalKind
from tradewind.engine.equity import account_currency
from tradewind.engine.portfolio import Portfolio, Position
from tradewind.engine.resume import ResumedAccount
from tradewind.engine.write_ahead import WriteAheadOrders
from tradewind.logs import register_secret
from tradewind.ops.fallback import FALLBACK_ACTION
from tradewind.ops.venue_errors import VenueErrorPolicy, VenueErrors
from tradewind.persistence.audit import record_operator_action
from tradewind.persistence.execution import StoredParent
from tradewind.session.driver import BarDriver
from tradewind.session.live_driver import LiveDriver
from tradewind.session.operate import SessionOps
from tradewind.session.paper import PaperConfig, PaperSession
from tradewind.session.venue_fallback import protect_positions
from tradewind.venues.live import LiveVenuePort
from tradewind.venues.live.reconcile import (
    ReconcileError,
    ReconcileReport,
    StoredState,
    reconcile,
)
from tradewind.venues.live.requests import VenueCondition
from tradewind.venues.live.running import Finding, RunningReconcile

__all__ = ["LiveConfig", "LiveSession"]

log = logging.getLogger(__name__)

_WIND_DOWN_S = 10.0
"""How long a stopping session waits for the exchange to confirm its cancels."""

_WEIGHT_PER_MINUTE = {"binance": 6000}
"""The request weight an exchange allows one IP a minute (Binance's ``REQUEST_WEIGHT`` in
``exchangeInfo``'s ``rateLimits``); the weight headers correct the shared count, a 429's
``Retry-After`` holds every process back."""


@dataclass(frozen=True, kw_only=True)
class LiveConfig(PaperConfig):
    """What a live session runs: a paper session's settings (the spec's cash is not used: the
    capital is the exchange balance, capped) plus the live safeguards.

    Parameters
    ----------
    max_capital
        The most of the account's quote balance the bot may use (the cap on its capital).
    confirmed
        The operator confirmed that real orders will be sent; without it the session refuses.
    entry_timeout_s
        An entry still unfilled this many seconds after it was sent is cancelled.
    max_orders_per_minute
        More orders than this within a minute halt new entries.
    allow_unrestricted_ip
        Accept a key not bound to IP addresses (a warning instead of a refusal).
    unverifiable_key_ok
        Accept a key on an exchange that does not report a key's permissions (a warning instead
        of a refusal).
    poll_s
        Seconds between the port's lookups of open orders.
    stream
        Watch the user-data stream (polling stays on underneath).
    venue_errors
        How many venue errors within how long make the session protect its positions and fall
        back to paper (:mod:`tradewind.ops.venue_errors`).
    reconcile_s
        Seconds between reconciles while trading (one also runs after each stream reconnect).
    """

    max_capital: Decimal
    confirmed: bool = False
    entry_timeout_s: float = 60.0
    max_orders_per_minute: int = 20
    allow_unrestricted_ip: bool = False
    unverifiable_key_ok: bool = False
    poll_s: float = 0.5
    stream: bool = True
    venue_errors: VenueErrorPolicy = field(default_factory=VenueErrorPolicy)
    reconcile_s: float = 30.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.confirmed:
            raise UserError(
                "--mode live sends real orders with real money: confirm with "
                "--i-understand-live-orders (or answer yes when asked)"
            )
        if not self.max_capital > 0:
            raise UserError(f"--max-capital must be positive, got {self.max_capital}")
        if not self.entry_timeout_s > 0:
            raise UserError(f"--entry-timeout must be positive, got {self.entry_timeout_s}")
        if not self.reconcile_s > 0:
            raise UserError(f"--reconcile-every must be positive, got {self.reconcile_s}")
        if self.max_orders_per_minute < 1:
            raise UserError(
                f"--max-orders-per-minute must be at least 1, got {self.max_orders_per_minute}"
            )
        exchange = self.exchange
        if exchange.api_key is None or exchange.secret is None:
            raise UserError(
                "live trading needs the exchange key: set [exchange] api_key and secret, or "
                "keystore_entry (`tradewind keys add`)"
            )


class LiveSession(PaperSession):
    """One live-trading session (see the module docstring). ``ops`` is required: the bot's
    database records the orders."""

    mode = "live"
    id_prefix = "lv"

    def __init__(self, config: LiveConfig, **kw: Any) -> None:
        if kw.get("ops") is None:
            raise UserError("a live session records its orders in the bot's database: give ops")
        super().__init__(config, **kw)
        # Keys read from the keystore are not in the config's secrets: every log handler's
        # redacting filter learns them here, before any request could log a header.
        for secret in (config.exchange.api_key, config.exchange.secret, config.exchange.password):
            if secret is not None:
                register_secret(secret.get_secret_value())
        self.live = config
        self.port: LiveVenuePort | None = None
        self.reconciled = ""
        """The summary of the reconciliation before trading."""
        self._capital_value = Decimal(0)
        self._breaker_shown = False
        self.venue_errors = VenueErrors(config.venue_errors)
        """The venue errors of this session (``/health``'s venue; they trip the fallback)."""
        self.reconciled_at: float | None = None
        """When the exchange was last reconciled with the database (UTC seconds)."""
        self.reconciling: RunningReconcile | None = None
        """The reconcile while trading (started once the start's reconcile passed)."""
        self._streams: dict[str, StreamState] = {}
        self.fell_back = ""
        """Why the session fell back to paper (repeated venue errors), empty while it has not:
        the caller goes on in paper (``tradewind trade`` does)."""
        self._falling_back: asyncio.Task[None] | None = None
        self._kept: set[str] = set()
        """Stops confirmed by a fallback: they stay on the exchange when the session stops."""

    # -- before the feed --------------------------------------------------------------------------

    async def _preflight(self, client: Any) -> None:
        config = self.live
        verdict = await asyncio.to_thread(
            check_key,
            config.exchange,
            allow_unrestricted_ip=config.allow_unrestricted_ip,
            unverifiable_key_ok=config.unverifiable_key_ok,
        )
        if not verdict.ok:
            raise UserError("refusing to trade live with this API key: "
                            + "; ".join(verdict.refusals))  # fmt: skip
        assert self.ops is not None
        key = config.exchange.api_key
        self.ops.bind_account(config.exchange.name, key.get_secret_value() if key else "")
        self.port = LiveVenuePort(client, self.instruments, poll_s=config.poll_s,
                                  stream=config.stream, budget=self._budget())  # fmt: skip
        self.port.on_request_failure = self.venue_errors.failed
        self.port.requests.on_condition = self._venue_condition
        quote = account_currency(self.instruments)
        balances = await self.port.balances()
        have = balances.get(quote, Decimal(0))
        if have <= 0:
            raise UserError(f"the account holds no {quote}: nothing to trade with")
        self._capital_value = min(have, config.max_capital)
        log.info("live capital: %s %s (balance %s, cap %s)", self._capital_value, quote, have,
                 config.max_capital)  # fmt: skip

    def _budget(self) -> SharedRateBudget | None:
        """The request-weight budget every Tradewind process on this machine shares for the
        exchange (one file in the folder of all bots: the limit is the IP's)."""
        name = self.live.exchange.name
        limit = _WEIGHT_PER_MINUTE.get(name)
        if limit is None:
            return None
        assert self.ops is not None
        folder = Path(self.ops.config.database.bots_dir)
        return SharedRateBudget(folder / f"rate-{name}.json", limit, window_s=60.0)

    def _capital(self) -> Decimal:
        return self._capital_value

    def _resumed(self) -> ResumedAccount | None:
        """None: a live session takes its account from the exchange and reconciles the bot's
        stored orders with it (:meth:`_before_trading`), it does not resume a checkpoint."""
        return None

    def _driver(self, prepared: PreparedRun, ids: ClientIdFactory) -> BarDriver:
        assert self.port is not None
        config = self.live
        return LiveDriver(
            prepared, config.strategies, self.port, bus=self.bus, ids=ids,
            entry_timeout_s=config.entry_timeout_s,
            max_orders_per_minute=config.max_orders_per_minute,
        )  # fmt: skip

    # -- before the first decision ----------------------------------------------------------------

    async def _before_trading(self) -> None:
        port, ops = self.port, self.ops
        assert port is not None
        assert ops is not None
        assert ops.database is not None
        self._operate(port, ops)
        repository = ops.database.repository(ops.session_id, audit_key=ops.audit_key)
        stored_orders = repository.load_orders()
        fills = [f for f, _ in repository.load_fills()]
        open_orders = {o.client_id: o.symbol for o in stored_orders if not o.status.is_terminal}
        holdings, positions = _owned(self._bot_positions(), self.instruments)
        stored = StoredState(
            open_orders=open_orders,
            last_fill_ts=max((f.ts for f in fills), default=0),
            trade_ids=frozenset(f.trade_id for f in fills),
            holdings=holdings, positions=positions,
        )  # fmt: skip
        try:
            report = await reconcile(port, stored, own_prefix=f"tw-{self.id_prefix}-")
        except ReconcileError as error:
            raise UserError(str(error)) from None
        # Book what the earlier sessions missed, as a restart does (source: reconcile).
        keeper = WriteAheadOrders(repository, port)
        keeper.adopt(stored_orders)
        now = int(time.time() * 1000)
        by_order: dict[str, list[Any]] = {}
        for fill in report.new_fills:
            by_order.setdefault(fill.client_id, []).append(fill)
        for client_id, found in sorted(report.orders.items()):
            keeper.resolve(found, by_order.pop(client_id, []), now)
        for late in by_order.values():
            for fill in late:
                keeper.book_fill(fill)
        for client_id in report.missing:
            keeper.lost(client_id, now, "lost: not on the exchange at the start of a session")
        # The bot's own orders still working (its stored client ids, looked up now) are carried
        # on, not refused. A resting child of a parent the bot left working (an iceberg's
        # visible slice, a smart limit's post) goes back to its resumed parent below; any other
        # (a native stop above all) to the Node: the stop goes on protecting its position.
        by_id = {o.client_id: o for o in stored_orders}
        open_ids = sorted(c for c, o in report.orders.items() if not o.status.is_terminal)
        children = _resting_children(open_ids, ops.working_parents())
        working = [(by_id[c], report.orders[c]) for c in open_ids if c not in children]
        held = self._bot_positions()  # the earlier sessions' and what reconciling just booked
        assert isinstance(self.driver, LiveDriver)
        kept = self.driver.carry_on(held, working)
        if ops.recorder is not None:
            # The recorder books the carried orders' later fills on what they had, and the
            # checkpoints count every fill stored (the earlier sessions' and the ones reconciling
            # booked): a restart resumes from the checkpoint plus the fills after that count.
            ops.recorder.adopt(order for order, _ in working)
            ops.recorder.fills = len(repository.load_fills())
        if working or any(p.quantity for p in held.values()):
            text = (
                f"carried on {len(working)} working order(s) of an earlier session "
                f"({len(kept)} protective stop(s)), positions: "
                + (", ".join(f"{p.quantity} {p.symbol} ({p.strategy_id})"
                             for p in held.values() if p.quantity) or "none")
            )  # fmt: skip
            log.info("%s", text)
            self._alert(text)
        self.reconciled = report.summary()
        self.reconciled_at = time.time()
        log.info("reconciled with the exchange: %s", self.reconciled)
        self._alert("reconciled: " + self.reconciled.splitlines()[0])
        assert self.driver is not None
        self._resumed_parents(ops.resume_parents(self.driver.node))
        orders = self.driver.node.desk.engine.manager.orders
        adopted = [orders[c] for c in sorted(children)]
        if ops.recorder is not None:
            # Their later fills add to what they had, under their strategy.
            ops.recorder.adopt(adopted)
        for order in adopted:
            port.adopt(order)
        if children:
            text = "adopted resting child order(s): " + ", ".join(sorted(children))
            log.info("%s", text)
            self._alert(text)
        await port.start()
        self._reconcile_while_trading(stored, report, held)

    def _bot_positions(self) -> dict[tuple[str, str], Position]:
        """The positions the bot's earlier sessions left: the last checkpoint with every fill
        recorded after it, or every recorded fill when no checkpoint was written yet (a first
        session killed before its first closed bar)."""
        ops = self.ops
        assert ops is not None
        resumed = ops.resume(self.instruments)
        if resumed is not None:
            return dict(resumed.portfolio.positions)
        assert ops.database is not None
        portfolio = Portfolio(self.instruments, cash={})
        with ops.database.repository() as repository:
            for fill, strategy_id in repository.load_fills():
                if fill.symbol not in self.instruments:
                    raise UserError(
                        f"bot {ops.bot!r} traded {fill.symbol}, which this session does not: "
                        "trade that market too, or use another --bot name"
                    )
                portfolio.apply_fill(fill, strategy_id, fill.ts)
        return dict(portfolio.positions)

    def _reconcile_while_trading(
        self,
        stored: StoredState,
        report: ReconcileReport,
        held: Mapping[tuple[str, str], Position],
    ) -> None:
        """Start the reconcile while trading, from where the start's reconcile left off (the
        positions ``held`` then)."""
        assert self.port is not None
        holdings, positions = _owned(held, self.instruments)
        booked = stored.trade_ids | {f.trade_id for f in report.new_fills}
        # Fills before the start's reconcile are settled; a minute back covers the ones during it.
        start = int(time.time() * 1000) - 60_000
        since = max([start, stored.last_fill_ts, *(f.ts for f in report.new_fills)])
        self.reconciling = RunningReconcile(
            self.port, own_prefix=f"tw-{self.id_prefix}-", since_ms=since, booked=booked,
            every_s=self.live.reconcile_s, on_finding=self._reconcile_finding,
            on_divergence=self._reconcile_divergence, on_pass=self._reconciled_again,
            adopted=report.external_positions, on_external=self._adopted,
            watch_account=self.live.stream, carried_holdings=holdings,
            carried_positions=positions,
        )  # fmt: skip
        self._adopted(report.external_positions)
        self.reconciling.start()

    def _adopted(self, positions: dict[str, Decimal]) -> None:
        """Positions the bot did not make, owned by ``external``: the risk engine counts them."""
        if self.driver is not None:
            self.driver.node.account.set_external(positions)

    def _venue_condition(self, event: VenueCondition) -> None:
        """The exchange said to wait (429, 418, maintenance): journalled and shown, by name."""
        self.recorder.journal(
            JournalKind.ALERT, ts_ms=event.ts,
            payload={"venue_condition": event.condition.value, "method": event.method,
                     "hold_s": event.hold_s, "detail": event.message},
        )  # fmt: skip
        self._alert(f"exchange {event.condition.value.replace('_', ' ')}: "
                    f"requests held {event.hold_s:g}s")  # fmt: skip

    def _reconciled_again(self, _report: ReconcileReport) -> None:
        self.reconciled_at = time.time()

    def _reconcile_finding(self, finding: Finding) -> None:
        self.recorder.journal(
            JournalKind.ALERT, ts_ms=finding.ts,
            payload={"reconcile": finding.kind.value, "trigger": finding.trigger,
                     "detail": finding.detail},
        )  # fmt: skip
        self._alert(f"reconcile: {finding.kind.value.replace('_', ' ')}: {finding.detail}")

    def _reconcile_divergence(self, reason: str) -> None:
        """Fail closed: no new entries until an operator resumes (exits still pass)."""
        if self.driver is not None:
            self.driver.node.pause(reason)

    def _operate(self, port: LiveVenuePort, ops: SessionOps) -> None:
        """The venue's state and the reconciliation's age in ``/health``; the shared request
        budget's use in ``/metrics``."""
        name = self.live.exchange.name

        def venue() -> dict[str, Any]:
            return {"exchange": name, **self.venue_errors.health(),
                    "stream_errors": port.stream_errors}  # fmt: skip

        def reconciliation() -> dict[str, Any]:
            if self.reconciled_at is None:
                return {"ok": False, "state": "not reconciled yet"}
            age = max(0.0, time.time() - self.reconciled_at)
            return {"ok": True, "age_s": round(age, 1),
                    "summary": self.reconciled.splitlines()[0]}  # fmt: skip

        ops.add_health("venue", venue)
        ops.add_health("reconciliation", reconciliation)
        if ops.anomalies is not None:
            port.requests.on_latency = ops.anomalies.request
        budget = port.budget
        if budget is not None:
            ops.rate_budget(lambda: budget.used() / budget.limit)

    # -- while trading ----------------------------------------------------------------------------

    def _tick(self, feed: MarketFeed | SourceSet) -> None:
        super()._tick(feed)
        health = feed.health()
        if self.reconciling is not None and any(
            state is StreamState.LIVE and self._streams.get(name) is StreamState.STALE
            for name, state in health.items()
        ):
            self.reconciling.request("market stream reconnect")
        self._streams = dict(health)
        driver = self.driver
        if not isinstance(driver, LiveDriver):
            return
        for client_id in driver.expire_entries():
            self._alert(f"entry {client_id} not filled in {driver.entry_timeout_s}s: cancelled")
        if driver.breaker and not self._breaker_shown:
            self._breaker_shown = True
            self._alert(driver.breaker)
            if self.ops is not None:
                self.ops.breaker_tripped(driver, "order_rate", driver.breaker)
        if self.venue_errors.tripped and self._falling_back is None:
            self._falling_back = asyncio.get_running_loop().create_task(self._fall_back(driver))

    async def _fall_back(self, driver: LiveDriver) -> None:
        """Repeated venue errors: protect the positions, record, alert, stop trading live
        (:mod:`tradewind.session.venue_fallback`)."""
        port, ops = self.port, self.ops
        assert port is not None
        assert ops is not None
        policy = self.live.venue_errors
        errors = self.venue_errors
        reason = (f"{errors.recent()} venue errors within {policy.window_s:g}s "
                  f"(last: {errors.last})")  # fmt: skip
        log.error("venue failing, falling back to paper: %s", reason)
        last_close = {
            symbol: Decimal(str(bars.close[-1]))
            for symbol, bars in driver.bars.items()
            if len(bars)
        }
        try:
            done = await protect_positions(driver.node, port, last_close, policy, reason)
        finally:
            self.fell_back = reason
        self._kept = set(done.stops)
        outcome = "; ".join(done.lines) or "no open position"
        if ops.database is not None:
            record_operator_action(
                ops.database.engine, ops.audit_key, actor="engine", channel="engine",
                action=FALLBACK_ACTION, detail={"reason": reason, "on_trip": policy.on_trip,
                                                **done.detail()},
                outcome=f"live stopped; {outcome}"[:200], bot_id=ops.database.bot_id,
            )  # fmt: skip
        message = (f"falling back to paper: {reason}; {outcome}; `tradewind live-resume` with a "
                   "two-factor code allows live again")  # fmt: skip
        ops.events.publish("alert.venue_errors", {"ts": driver.node.now, "message": message,
                                                  "stops": done.stops})  # fmt: skip
        self._alert(message)
        self.stop(f"fallback to paper: {reason}"[:200])

    # -- the end ----------------------------------------------------------------------------------

    async def _wind_down(self) -> None:
        """Cancel the session's open orders on the exchange, except the protective stops resting
        there, wait for the answers, and stop the port (the client is closed with the feed).

        A position the session leaves open keeps its native stop: a stopped bot protects what it
        holds as a crashed one does, and the next start carries the stop on (it adopts the bot's
        own working orders). Entries, take-profits and children are cancelled."""
        driver, port = self.driver, self.port
        if self.reconciling is not None:
            await self.reconciling.close()
        if self._falling_back is not None and not self._falling_back.done():
            self._falling_back.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._falling_back
        if driver is not None:
            # A fallback's confirmed stops and the positions' resting stops stay.
            kept = self._kept | set(driver.node.resting.stops.values())
            left = sorted(
                c for c in kept if c in driver.node.orders and driver.node.orders[c].is_open
            )
            if left:
                log.warning(
                    "left %d protective stop(s) resting on the exchange for the open "
                    "position(s): %s (the next start carries them on)",
                    len(left),
                    ", ".join(left),
                )
            for order in list(driver.node.orders.values()):
                if order.is_open and order.client_id not in kept:
                    driver.node.manager.cancel(order.client_id, driver.node.now)
            deadline = time.monotonic() + _WIND_DOWN_S
            while any(o.is_open and c not in kept for c, o in driver.node.orders.items()):
                if time.monotonic() > deadline:
                    left = [c for c, o in driver.node.orders.items() if o.is_open and c not in kept]
                    log.error("orders still open on the exchange at the end: %s", left)
                    break
                await asyncio.sleep(0.05)
        if port is not None:
            await port.close()


def _resting_children(working: list[str], parents: list[StoredParent]) -> set[str]:
    """The client ids among ``working`` that are children of the stored working ``parents``
    (``<parent>-<n>`` with ``n`` within the ids the parent numbered)."""
    numbered = {s.parent.parent_id: s.children for s in parents}
    found = set()
    for client_id in working:
        parent_id, _, number = client_id.rpartition("-")
        if number.isdigit() and 0 < int(number) <= numbered.get(parent_id, 0):
            found.add(client_id)
    return found


def _owned(
    positions: Mapping[tuple[str, str], Position], instruments: Mapping[str, Instrument]
) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    """What the bot's positions own on the exchange: spot base assets (dust included) and
    USDT-M positions by symbol (every strategy's together)."""
    holdings: dict[str, Decimal] = {}
    futures: dict[str, Decimal] = {}
    for (_, symbol), position in positions.items():
        instrument = instruments.get(symbol)
        if instrument is None:
            continue
        if instrument.is_spot:
            base = instrument.base
            holdings[base] = holdings.get(base, Decimal(0)) + position.quantity + position.dust
        elif position.quantity:
            futures[symbol] = futures.get(symbol, Decimal(0)) + position.quantity
    return holdings, futures
