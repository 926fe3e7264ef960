"""``tradewind trade``: a paper session on live market data (the exchange in the config's
``[exchange]`` table: a real exchange's public streams, or ``tradewind exchange-sim``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.live import Live
from rich.table import Table

from tradewind.backtest.inputs import parse_positive, strategies_from
from tradewind.backtest.result import BacktestResult
from tradewind.backtest.spec import Account, BacktestSpec, Costs
from tradewind.cli.audit import AUDIT_KEY
from tradewind.cli.backtest import print_health, print_health_headline
from tradewind.cli.context import STATE
from tradewind.cli.keys import FdOption, KeystoreOption, open_keystore
from tradewind.cli.outputs import writable_dir, write_output
from tradewind.cli.results import metrics_table
from tradewind.cli.run_options import Params, RunOptions, Strategies, run_options, strategy_choice
from tradewind.connectors.config import ExchangeConfig
from tradewind.core.errors import UserError
from tradewind.core.strict_json import write_json
from tradewind.core.timeframe import Timeframe
from tradewind.ops.credentials import with_keystore_credentials
from tradewind.ops.fallback import FALLBACK_ACTION, FallbackPolicy, live_refusal
from tradewind.ops.keystore import DEFAULT_PATH, Keystore, KeystoreError
from tradewind.ops.two_factor import confirm_if_enrolled, for_keystore
from tradewind.ops.venue_errors import VenueErrorPolicy
from tradewind.persistence.audit import record_operator_action
from tradewind.persistence.bots import open_bot
from tradewind.risk.config import check_rules
from tradewind.risk.stake import Stake
from tradewind.session.live import LiveConfig, LiveSession
from tradewind.session.native_stops import refuse_non_native
from tradewind.session.operate import ServeOptions, SessionOps
from tradewind.session.paper import PaperConfig, PaperSession, SessionStatus
from tradewind.venues.sim import FillModel
from tradewind.venues.sim.fill_model import FillAt

_NOT_IN_SESSIONS = ("data", "data_dir", "date_from", "date_to", "exchange", "report", "leverage")

log = logging.getLogger(__name__)


@run_options
def trade(
    opts: RunOptions,
    strategy: Strategies,
    param: Params = None,
    mode: Annotated[
        str,
        typer.Option("--mode", help="paper: live market data, simulated fills; live: real orders."),
    ] = "paper",
    run_dir: Annotated[
        Path | None,
        typer.Option("--run-dir", help="Run folder (default: user_data/runs/paper-<UTC time>)."),
    ] = None,
    max_bars: Annotated[
        int | None, typer.Option("--max-bars", help="Stop after this many closed bars.")
    ] = None,
    warmup: Annotated[
        int, typer.Option("--warmup", help="Closed bars loaded before the first decision.")
    ] = 300,
    grace: Annotated[
        float,
        typer.Option("--grace", help="Seconds an instant waits for the other symbols' bars."),
    ] = 2.0,
    bot: Annotated[
        str,
        typer.Option("--bot", help="The bot: its folder and database (orders, fills, sessions)."),
    ] = "paper",
    serve: Annotated[
        bool, typer.Option("--serve", help="Serve the operator API and web dashboard.")
    ] = False,
    api_port: Annotated[
        int, typer.Option("--api-port", help="Port of the API on 127.0.0.1 (0: any free port).")
    ] = 8080,
    live_confirmed: Annotated[
        bool,
        typer.Option(
            "--i-understand-live-orders", help="--mode live: confirm that real orders will be sent."
        ),
    ] = False,
    max_capital: Annotated[
        str | None,
        typer.Option(
            "--max-capital", help="--mode live (required): the most quote currency the bot may use."
        ),
    ] = None,
    entry_timeout: Annotated[
        float,
        typer.Option("--entry-timeout", help="--mode live: cancel an entry unfilled after N s."),
    ] = 60.0,
    max_orders_per_minute: Annotated[
        int,
        typer.Option(
            "--max-orders-per-minute", help="--mode live: more orders a minute halt new entries."
        ),
    ] = 20,
    allow_unrestricted_ip: Annotated[
        bool,
        typer.Option(
            "--allow-unrestricted-ip", help="--mode live: accept a key not bound to IP addresses."
        ),
    ] = False,
    unverifiable_key_ok: Annotated[
        bool,
        typer.Option(
            "--unverifiable-key-ok",
            help="--mode live: accept a key whose permissions the exchange does not report.",
        ),
    ] = False,
    reconcile_every: Annotated[
        float,
        typer.Option(
            "--reconcile-every",
            help="--mode live: reconcile with the exchange every N s while trading.",
        ),
    ] = 30.0,
    keystore: KeystoreOption = DEFAULT_PATH,
    passphrase_fd: FdOption = None,
    operator: Annotated[
        str | None,
        typer.Option("--operator", help="--mode live, two-factor on: who confirms."),
    ] = None,
    code: Annotated[
        str | None,
        typer.Option("--code", help="--mode live, two-factor on: the operator's current code."),
    ] = None,
) -> None:
    """Trade on live market data: `--mode paper` fills orders by the backtest's rules.

    The exchange and its URLs come from the config's [exchange] table (name, rest_url, ws_url, as
    `tradewind exchange-sim` prints them), so the same command runs against a real exchange's
    public data or the simulator. With [[sources.candles]] in the config, a paper or live session
    reads every source listed at once, fails over between them without a missing bar, and takes
    no new entries while their prices diverge (docs/market-sources.md); a live session's orders
    still go to the [exchange] alone (the first candle source: the same venue, without the key).
    Several symbols: --symbol A/B,C/D (one account). The session records what it saw in
    --run-dir; `tradewind drift RUN_DIR` replays it through the backtest. Stop with Ctrl-C (the
    summary is printed) or --max-bars.

    `--fill book` (paper): market orders walk the live L2 book (the exchange's depth stream, or
    [[sources.books]] when the config has [sources]) instead of filling at the next open; the
    session records the books it walked, and the drift report replays them.

    `--mode live` sends real orders with the [exchange] key (or its keystore entry): it asks for
    confirmation (or --i-understand-live-orders), refuses a key that can withdraw, uses at most
    --max-capital, cancels entries unfilled after --entry-timeout seconds, and halts new entries
    beyond --max-orders-per-minute. Its open orders are cancelled when it stops.

    With a keystore (--keystore, its passphrase as `tradewind keys` takes it), the session signs
    its audit trail with the keystore's key (`tradewind audit verify` checks it), and once an
    operator is enrolled (`tradewind 2fa enroll`) two-factor is on: `--mode live` needs
    --operator and --code, and so do the dangerous actions on the running bot.
    """
    if mode not in ("paper", "live"):
        raise UserError(f"--mode must be paper or live, got {mode!r}")
    opts.refuse("trade", "a session trades live data, not stored candles", *_NOT_IN_SESSIONS)
    opts.check_outputs()
    risk = opts.risk()
    if risk is not None and mode == "live":
        refuse_non_native(risk)  # a live session keeps only stops on the exchange, so far
    if not opts.symbol:
        raise UserError("--symbol is required: the market(s) to trade, e.g. --symbol BTC/USDT")
    if not opts.timeframe:
        raise UserError("-t/--timeframe is required, e.g. -t 1m")
    symbols = tuple(s.strip() for s in opts.symbol.split(",") if s.strip())
    if risk is not None:
        check_rules(risk, Timeframe.parse(opts.timeframe).ms, Stake.parse(opts.stake))
    chosen, params = strategy_choice(strategy, param)
    # --fill book: market orders walk the live L2 book (a paper session's venue; at the next
    # open plus latency, as a backtest fed books with book_walk).
    book_walk = opts.fill == "book"
    if book_walk and mode == "live":
        raise UserError("--fill book is for --mode paper: a live session's exchange fills its "
                        "orders from its own book")  # fmt: skip
    try:
        fill_at = FillAt.NEXT_OPEN if book_walk else FillAt(opts.fill)
    except ValueError:
        raise UserError(
            f"--fill must be next_open, close or book (paper), got {opts.fill!r}"
        ) from None
    spec = BacktestSpec(
        account=Account(cash=opts.cash, stake=opts.stake),
        fill=FillModel(
            fill_at=fill_at,
            slippage_bps=opts.slippage_bps,
            volatility_slippage=opts.volatility_slippage,
            book_walk=book_walk,
        ),
        costs=Costs(fee=opts.fee),
        execution=opts.algo(),
        risk=risk,
    )
    # Checked before connecting to the exchange, not after.
    parse_positive(opts.cash, "--cash")
    Stake.parse(opts.stake)
    started = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    folder = writable_dir(run_dir or Path("user_data") / "runs" / f"{mode}-{started}", "--run-dir")
    common: dict[str, Any] = {
        "strategies": strategies_from(chosen, params), "symbols": symbols,
        "timeframe": opts.timeframe, "spec": spec, "run_dir": folder, "warmup_bars": warmup,
        "max_bars": max_bars, "grace_s": grace,
    }  # fmt: skip
    config: PaperConfig
    store = _keystore(keystore, passphrase_fd, needed=_names_keystore_entries(mode))
    fallback = None
    if mode == "live":
        if max_capital is None:
            raise UserError("--mode live needs --max-capital: the most the bot may use, "
                            "e.g. --max-capital 200")  # fmt: skip
        if store is not None:
            confirm_if_enrolled(store, "switching to live trading", operator, code)
        if not live_confirmed:
            live_confirmed = _ask_confirmation()
        config = LiveConfig(
            exchange=_live_exchange(store), max_capital=_amount(max_capital),
            confirmed=live_confirmed, entry_timeout_s=entry_timeout,
            max_orders_per_minute=max_orders_per_minute,
            allow_unrestricted_ip=allow_unrestricted_ip,
            unverifiable_key_ok=unverifiable_key_ok, reconcile_s=reconcile_every,
            venue_errors=_venue_errors(), sources=STATE.config().sources, **common,
        )  # fmt: skip
        fallback = _live_refusal(bot)
        if fallback is not None:
            # Repeated live failures (systemd restarting a bot that fails each time): paper.
            log.error("%s", fallback)
            STATE.console.print(f"[bold red]{fallback}[/]")
            mode = "paper"
            config = _paper_config(common)
    else:
        config = _paper_config(common)
    STATE.console.print(
        f"{mode} session: {', '.join(strategy)} on {', '.join(symbols)} {opts.timeframe} "
        f"from {config.exchange.rest_url or config.exchange.name}; recording in {folder}",
        highlight=False,
    )
    ops = _session_ops(
        store, bot, mode, ServeOptions(port=api_port) if serve else None, fallback is not None
    )
    if fallback is not None:
        _record_fallback(bot, ops.audit_key, fallback)

    def paper_after() -> tuple[PaperConfig, SessionOps]:
        # A live session whose venue kept failing protected its positions and stopped: the bot
        # trades paper from here (recorded in its own folder), as a restart would.
        serve_at = ServeOptions(port=api_port) if serve else None
        paper_ops = _session_ops(store, bot, "paper", serve_at, True)
        return _paper_config({**common, "run_dir": folder / "paper-fallback"}), paper_ops

    result = asyncio.run(_run(config, ops, paper_after if mode == "live" else None))
    print_health_headline(result)
    STATE.console.print(metrics_table(result))
    print_health(result)
    STATE.console.print(f"session recorded in {folder}; compare with: tradewind drift {folder}")
    if opts.json_path is not None:
        payload = result.to_json_dict()
        write_output(opts.json_path, "--json", lambda path: write_json(path, payload))
        STATE.console.print(f"JSON written to {opts.json_path}")


async def _run(
    config: PaperConfig,
    ops: SessionOps,
    paper_after: Callable[[], tuple[PaperConfig, SessionOps]] | None = None,
) -> BacktestResult:
    live = sys.stdout.isatty() and STATE.console.is_terminal
    view = (
        Live(_table(SessionStatus()), console=STATE.console, refresh_per_second=4) if live else None
    )

    printed = [0]

    def update(status: SessionStatus) -> None:
        if status.api_url and not printed[1:]:
            printed.append(1)
            STATE.console.print(f"operator API: {status.api_url}  dashboard: "
                                f"{status.api_url}/dashboard", highlight=False)  # fmt: skip
        if view is not None:
            view.update(_table(status))
        elif status.bars > printed[0]:
            printed[0] = status.bars
            STATE.console.print(_line(status), highlight=False)

    session = (
        LiveSession(config, on_update=update, ops=ops)
        if isinstance(config, LiveConfig)
        else PaperSession(config, on_update=update, ops=ops)
    )
    with _stop_on_signals(session), view or contextlib.nullcontext():
        result = await session.run()
    if not (isinstance(session, LiveSession) and session.fell_back and paper_after is not None):
        return result
    STATE.console.print(f"[bold red]live trading stopped: {session.fell_back}; trading paper "
                        "from here (`tradewind live-resume` allows live again)[/]")  # fmt: skip
    paper_config, paper_ops = paper_after()
    paper = PaperSession(paper_config, on_update=update, ops=paper_ops)
    with _stop_on_signals(paper), view or contextlib.nullcontext():
        return await paper.run()


def _ask_confirmation() -> bool:
    """Ask on the terminal whether to send real orders (no terminal: not confirmed)."""
    if not sys.stdin.isatty():
        return False
    return typer.confirm("--mode live sends real orders with real money. Continue?", default=False)


def _amount(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        raise UserError(f"--max-capital must be a number, got {text!r}") from None


def _session_ops(
    store: Keystore | None, bot: str, mode: str, serve: ServeOptions | None, fallback: bool
) -> SessionOps:
    """The operator's side of the session: with a keystore, its audit key and two-factor."""
    if store is None:
        return SessionOps(STATE.config(), bot, serve=serve, mode=mode, fallback=fallback,
                          config_path=STATE.config_path, config_overrides=STATE.overrides)  # fmt: skip
    audit_key = store.ensure_random(AUDIT_KEY, "audit").reveal().encode()
    return SessionOps(STATE.config(), bot, serve=serve, mode=mode, keystore=store,
                      audit_key=audit_key, two_factor=for_keystore(store),
                      fallback=fallback, config_path=STATE.config_path,
                      config_overrides=STATE.overrides)  # fmt: skip


def _venue_errors() -> VenueErrorPolicy:
    """The config's ``[fallback]``: when a live session gives up on its venue."""
    cfg = STATE.config().fallback
    return VenueErrorPolicy(max_errors=cfg.venue_errors, window_s=cfg.window_s,
                            on_trip=cfg.on_trip, stop_distance=cfg.stop_distance,
                            confirm_s=cfg.confirm_s)  # fmt: skip


def _paper_config(common: dict[str, Any]) -> PaperConfig:
    sources = STATE.config().sources
    exchange = STATE.config().exchange if sources is None else sources.candles[0].exchange
    return PaperConfig(exchange=exchange, sources=sources, **common)


def _live_refusal(bot: str) -> str | None:
    """Why this live start falls back to paper (see :mod:`tradewind.ops.fallback`), or None."""
    cfg = STATE.config().database
    database = open_bot(bot, bots_dir=cfg.bots_dir, url=cfg.url, durability=cfg.durability)
    try:
        return live_refusal(database, FallbackPolicy())
    finally:
        database.engine.dispose()


def _record_fallback(bot: str, audit_key: bytes, reason: str) -> None:
    cfg = STATE.config().database
    database = open_bot(bot, bots_dir=cfg.bots_dir, url=cfg.url, durability=cfg.durability)
    try:
        record_operator_action(database.engine, audit_key, actor="supervisor", channel="cli",
                               action=FALLBACK_ACTION, detail={"reason": reason},
                               bot_id=database.bot_id)  # fmt: skip
    finally:
        database.engine.dispose()


def _names_keystore_entries(mode: str) -> bool:
    """Whether the config takes a secret this session needs from the keystore."""
    config = STATE.config()
    telegram = config.telegram is not None and config.telegram.keystore_entry is not None
    return telegram or (mode == "live" and config.exchange.keystore_entry is not None)


def _keystore(path: Path, passphrase_fd: int | None, *, needed: bool) -> Keystore | None:
    """The keystore when there is one (or the config names entries in it), else None."""
    if not needed and not path.exists() and path == DEFAULT_PATH:
        return None  # no keystore, and none was named: a paper session needs none
    try:
        return open_keystore(path, passphrase_fd, False, create=False)
    except KeystoreError as error:
        raise UserError(str(error)) from None


def _live_exchange(store: Keystore | None) -> ExchangeConfig:
    """The [exchange] table, with the key read from the keystore when it names an entry."""
    exchange = STATE.config().exchange
    if exchange.keystore_entry is None or store is None:
        return exchange
    try:
        return with_keystore_credentials(exchange, store)
    except KeystoreError as error:
        raise UserError(str(error)) from None


@contextlib.contextmanager
def _stop_on_signals(session: PaperSession) -> Iterator[None]:
    """Ctrl-C and SIGTERM stop the session gracefully (summary, no traceback)."""
    loop = asyncio.get_running_loop()
    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, session.stop, f"stopped by {sig.name}")
            installed.append(sig)
    try:
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


def _when(ms: int | None) -> str:
    return "-" if ms is None else datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M")


def _line(status: SessionStatus) -> str:
    equity = "-" if status.equity is None else f"{status.equity:,.8f}".rstrip("0").rstrip(".")
    held = ", ".join(f"{sym} {qty}" for _, sym, qty in status.positions) or "flat"
    return (
        f"bar {status.bars} closed {_when(status.last_close_ms)}  equity {equity} "
        f"{status.currency}  {held}  orders {status.orders} (open {status.open_orders})  "
        f"fills {status.fills}"
    )


def _table(status: SessionStatus) -> Table:
    table = Table(title=f"session: {status.phase}", show_header=False)
    table.add_column("what")
    table.add_column("value")
    equity = "-" if status.equity is None else f"{status.equity:,.8f}".rstrip("0").rstrip(".")
    table.add_row("equity", f"{equity} {status.currency}")
    table.add_row("bars traded", f"{status.bars} (last closed {_when(status.last_close_ms)} UTC)")
    positions = ", ".join(f"{s}: {sym} {q}" for s, sym, q in status.positions) or "flat"
    table.add_row("positions", positions)
    table.add_row("orders", f"{status.orders} ({status.open_orders} open), {status.fills} fills")
    if status.api_url:
        table.add_row("dashboard", f"{status.api_url}/dashboard")
    streams = ", ".join(f"{n} {s}" for n, s in status.streams.items()) or "-"
    table.add_row("streams", streams)
    if status.alerts:
        table.add_row("alerts", "\n".join(status.alerts[-3:]))
    return table
