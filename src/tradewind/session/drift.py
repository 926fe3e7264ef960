"""The drift report: a session replayed through the backtest, trade by trade, every difference
with its cause.

A paper session decides on bars as the exchange first announced them, as they arrived. The
backtest replays the exchange's *final* bars over the same span, with the session's settings
(strategies and parameters, account, fill model, risk rules, the exchange's instruments) from the session's
first traded bar, warm-up included. Where the two agree there is nothing to report; the
session driver makes them agree by construction, so every difference has a cause in the data,
and the report names it from the recording's evidence:

- **bar revised after its close**: the exchange changed a bar after announcing it closed;
- **bar missing from the session**: the exchange's history has a bar the session never received
  (a dropped message with backfill off);
- **bar not in the exchange's history**: the session acted on a bar the exchange does not list;
- **bar differs from the exchange's**: the announced values are not the final ones;
- **bar arrived late**: it reached the session more than ``late_ms`` after it closed;
- **latency**: an order reached the venue later after it was sent than the replay assumes (the
  journal records each order's send time and, at the paper venue, when it arrived). A trade whose
  entry or exit order was late is paired with the replay's trade of the same signal (the replay's
  entry between the order's send time and the session's entry) and its differences name that
  order.

The replay assumes the session's latency unless ``latency_ms`` says otherwise: ``latency_ms=0``
compares the session with a backtest whose orders arrive the moment they are sent.

A **live** session's orders were filled by the exchange's book when they reached it, a moment after
the bar that decided them closed, where the backtest fills at the next bar's open, in one piece.
Its trades are matched to the replay's by that bar (each time floored to the bar it falls in), the
pieces of one round trip (an exit filled in parts) summed into one, and a difference in price,
quantity or fees of a matched trade is explained by that matching: "filled by the exchange's
book". Anything else (a trade one side lacks, another exit bar) still needs evidence from the data.

A session with the ``book`` fill model is replayed with the book snapshots it fed its venue
(``recording/books``): the replay's market orders walk the same books.

The final bars are the exchange's REST history over the session's span (its final word), or,
offline, the recording with each revision applied; ``reference`` replaces both (a candle file in
the session's time).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pandas as pd

from tradewind.backtest.api import backtest
from tradewind.backtest.inputs import strategy_from
from tradewind.book.stream import DecodedBookStream
from tradewind.core.errors import UserError
from tradewind.core.instrument import FeeSide, Instrument, MarketType
from tradewind.core.timeframe import Timeframe
from tradewind.data.session_recording import read_table
from tradewind.session.funding import settlements_frame
from tradewind.session.paper import FUNDING_FILE, RESULT_FILE, SESSION_FILE
from tradewind.session.paper_books import recorded_books

__all__ = ["Difference", "DriftReport", "drift_report", "final_bars_from_exchange"]

_OHLCV = ("open", "high", "low", "close", "volume")
_PRICES = ("open", "high", "low", "close")


@dataclass(frozen=True)
class Evidence:
    """Something in the data that makes the replay differ: a bar of ``symbol`` at ``bar_ms``."""

    symbol: str
    bar_ms: int
    cause: str
    detail: str

    def describe(self) -> str:
        """``cause at <bar time> (detail)``."""
        when = pd.Timestamp(self.bar_ms, unit="ms", tz="UTC").strftime("%Y-%m-%d %H:%M")
        return (
            f"{self.cause} at {when} UTC ({self.detail})"
            if self.detail
            else f"{self.cause} at {when} UTC"
        )


@dataclass(frozen=True)
class Difference:
    """One way the session's trades differ from the replay's."""

    what: str
    """``missing`` (the backtest traded, the session did not), ``extra``, or the field that
    differs: ``exit_time``, ``entry_price``, ``exit_price``, ``quantity``, ``fees``."""
    symbol: str
    side: str
    entry_time: str
    session: str
    backtest: str
    cause: str


@dataclass
class DriftReport:
    """Every difference, the evidence found in the data, and the two trade counts."""

    differences: list[Difference] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)
    session_trades: int = 0
    backtest_trades: int = 0
    bars: int = 0

    @property
    def ok(self) -> bool:
        """True when the session and the backtest traded alike."""
        return not self.differences

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data."""
        return {
            "ok": self.ok,
            "session_trades": self.session_trades,
            "backtest_trades": self.backtest_trades,
            "bars": self.bars,
            "differences": [d.__dict__ for d in self.differences],
            "evidence": [{**e.__dict__, "text": e.describe()} for e in self.evidence],
        }


def drift_report(
    run_dir: Path,
    final: Mapping[str, pd.DataFrame] | None = None,
    *,
    late_ms: int = 5_000,
    latency_ms: int | None = None,
) -> DriftReport:
    """Replay the session in ``run_dir`` through the backtest and diff the two.

    ``final`` gives the exchange's final bars per symbol (``date`` column, OHLCV); None uses
    the recording with its revisions applied. ``latency_ms`` is the order latency the replay
    assumes (None: the session's own setting).

    Raises
    ------
    UserError
        If ``run_dir`` holds no finished session.
    """
    run_dir = Path(run_dir)
    settings = _read_json(run_dir / SESSION_FILE, "no session.json: not a session's run folder")
    result = _read_json(run_dir / RESULT_FILE, "no result.json: the session did not finish")
    tf = Timeframe.parse(settings["timeframe"])
    recorded = read_table(run_dir, "bars")
    if recorded.empty:
        raise UserError(f"{run_dir}: the recording holds no bars")
    report = DriftReport(session_trades=len(result["trades"]))
    truth: dict[str, pd.DataFrame] = {}
    for symbol in settings["symbols"]:
        rows = recorded[recorded["symbol"] == symbol]
        announced = _bars(rows[rows["source"] != "revised"], first=True)
        revised = _bars(rows[rows["source"] == "revised"], first=False)
        given = None if final is None else final.get(symbol)
        truth[symbol] = _final(announced, revised, given)
        report.evidence += _evidence(symbol, announced, revised, truth[symbol], tf, late_ms)
    report.bars = sum(len(f) for f in truth.values())
    if latency_ms is not None:
        if latency_ms < 0:
            raise UserError(f"latency cannot be negative, got {latency_ms} ms")
        settings["fill"]["latency_ms"] = latency_ms
    late_orders = _late_orders(run_dir, int(settings["fill"]["latency_ms"]))
    report.evidence = sorted(
        [*report.evidence, *{id(e): e for e in late_orders.values()}.values()],
        key=lambda e: e.bar_ms,
    )
    books = recorded_books(run_dir) if settings["fill"].get("book_walk") else None
    replay = _replay(settings, truth, _funding(run_dir), books)
    report.backtest_trades = len(replay)
    session = pd.DataFrame(result["trades"])
    live = settings.get("mode") == "live"
    if live and len(session):
        session = _round_trips(session, tf)
        report.session_trades = len(session)
    if live:
        report.evidence = sorted(report.evidence + _book_evidence(run_dir, tf),
                                 key=lambda e: e.bar_ms)  # fmt: skip
    report.differences = _diff(session, replay, report.evidence, late_orders, live=live)
    return report


def _round_trips(trades: pd.DataFrame, tf: Timeframe) -> pd.DataFrame:
    """A live session's trades by the bar each entry and exit fell in, the pieces of one round
    trip (an order filled in parts) summed, prices weighted by quantity."""
    frame = trades.copy()
    for column in ("entry_time", "exit_time"):
        frame[column] = frame[column].map(lambda t: _floor(t, tf))
    for column in ("quantity", "entry_price", "exit_price", "fees"):
        frame[column] = frame[column].astype(float)
    frame["entry_value"] = frame["entry_price"] * frame["quantity"]
    frame["exit_value"] = frame["exit_price"] * frame["quantity"]
    grouped = frame.groupby(["symbol", "side", "entry_time"], as_index=False).agg(
        exit_time=("exit_time", "max"), quantity=("quantity", "sum"), fees=("fees", "sum"),
        entry_value=("entry_value", "sum"), exit_value=("exit_value", "sum"),
    )  # fmt: skip
    grouped["entry_price"] = grouped["entry_value"] / grouped["quantity"]
    grouped["exit_price"] = grouped["exit_value"] / grouped["quantity"]
    return grouped.drop(columns=["entry_value", "exit_value"])


def _book_evidence(run_dir: Path, tf: Timeframe) -> list[Evidence]:
    """A live session's orders the exchange's book ended with a remainder unfilled (a market
    order that ran out of depth expires): the rest of the position waited for a later order."""
    journal = read_table(run_dir, "journal")
    orders = journal[journal["kind"] == "order"]
    symbols: dict[str, str] = {}
    found: list[Evidence] = []
    for row in orders.itertuples():
        payload = orjson.loads(str(row.payload))
        client_id = str(payload.get("client_id", ""))
        if payload.get("event") == "order.submitted":
            symbols[client_id] = str(row.symbol)
        elif payload.get("event") == "order.expired" and client_id in symbols:
            ms = int(pd.Timestamp(row.date).value // 1_000_000)
            found.append(Evidence(symbols[client_id], ms - ms % tf.ms,
                                  "order expired in the exchange's book",
                                  f"{client_id}: its remainder found no depth"))  # fmt: skip
    return found


def _floor(moment: Any, tf: Timeframe) -> str:
    """``moment`` floored to the open of the bar it falls in (ISO text)."""
    ms = pd.Timestamp(moment).value // 1_000_000
    return pd.Timestamp(ms - ms % tf.ms, unit="ms", tz="UTC").isoformat()


def final_bars_from_exchange(run_dir: Path, client: Any) -> dict[str, pd.DataFrame]:
    """The exchange's history over the session's span, per symbol (ccxt REST ``fetch_ohlcv``)."""
    settings = _read_json(
        Path(run_dir) / SESSION_FILE, "no session.json: not a session's run folder"
    )
    recorded = read_table(Path(run_dir), "bars")
    tf = settings["timeframe"]
    out = {}
    for symbol in settings["symbols"]:
        dates = recorded.loc[recorded["symbol"] == symbol, "date"]
        first, last = int(dates.min().value // 1_000_000), int(dates.max().value // 1_000_000)
        rows: list[list[Any]] = []
        since = first
        while since <= last:
            page = client.fetch_ohlcv(symbol, tf, since=since, limit=1000)
            page = [r for r in page if r[0] <= last]
            if not page:
                break
            rows += page
            since = int(page[-1][0]) + 1
        frame = pd.DataFrame(rows, columns=["ts", *_OHLCV]).drop_duplicates("ts")
        frame["date"] = pd.to_datetime(frame.pop("ts"), unit="ms", utc=True)
        out[symbol] = frame[["date", *_OHLCV]].reset_index(drop=True)
    return out


# -- the bars --------------------------------------------------------------------------------


def _read_json(path: Path, missing: str) -> dict[str, Any]:
    if not path.is_file():
        raise UserError(f"{path.parent}: {missing}")
    try:
        loaded: dict[str, Any] = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as error:
        raise UserError(f"{path} is not valid JSON: {error}") from None
    return loaded


def _bars(rows: pd.DataFrame, *, first: bool) -> pd.DataFrame:
    """One row per bar (the first announcement, or the last revision), values as floats."""
    kept = rows.drop_duplicates("date", keep="first" if first else "last").sort_values("date")
    out = kept[["date", *_OHLCV, "received_ms", "source"]].copy()
    for column in _OHLCV:
        out[column] = out[column].map(lambda text: float(Decimal(text)))
    return out.reset_index(drop=True)


def _final(
    announced: pd.DataFrame, revised: pd.DataFrame, given: pd.DataFrame | None
) -> pd.DataFrame:
    if given is not None:
        span = (given["date"] >= announced["date"].iloc[0]) & (
            given["date"] <= announced["date"].iloc[-1]
        )
        return given.loc[span, ["date", *_OHLCV]].reset_index(drop=True)
    final = announced.set_index("date")[list(_OHLCV)].copy()
    if len(revised):
        final.update(revised.set_index("date")[list(_OHLCV)])
    return final.reset_index()


def _evidence(
    symbol: str,
    announced: pd.DataFrame,
    revised: pd.DataFrame,
    truth: pd.DataFrame,
    tf: Timeframe,
    late_ms: int,
) -> list[Evidence]:
    found: list[Evidence] = []
    seen = announced.set_index("date")
    final = truth.set_index("date")
    ms = lambda moment: int(pd.Timestamp(moment).value // 1_000_000)  # noqa: E731
    revised_dates = set(revised["date"])
    for date in final.index.difference(seen.index):
        found.append(Evidence(symbol, ms(date), "bar missing from the session",
                              "never received; backfill did not bring it"))  # fmt: skip
    for date in seen.index.difference(final.index):
        found.append(Evidence(symbol, ms(date), "bar not in the exchange's history", ""))
    for date in seen.index.intersection(final.index):
        first, last = seen.loc[date], final.loc[date]
        changed = [c for c in _PRICES if not math.isclose(first[c], last[c], rel_tol=1e-12)]
        if not changed:
            continue
        detail = ", ".join(f"{c} {first[c]:g} -> {last[c]:g}" for c in changed)
        cause = (
            "bar revised after its close"
            if date in revised_dates
            else ("bar differs from the exchange's")
        )
        found.append(Evidence(symbol, ms(date), cause, detail))
    live = announced[announced["source"] != "warmup"]
    for date, received in zip(live["date"], live["received_ms"], strict=True):
        delay = int(received) - (ms(date) + tf.ms)
        if delay > late_ms:
            found.append(
                Evidence(
                    symbol, ms(date), "bar arrived late", f"{delay / 1000:.1f} s after its close"
                )
            )
    return sorted(found, key=lambda e: e.bar_ms)


def _late_orders(run_dir: Path, assumed_ms: int) -> dict[tuple[str, int], Evidence]:
    """Latency evidence per fill (symbol, fill time) of each order that reached the venue more
    than ``assumed_ms`` after it was sent, from the journal's order rows: the send time is the
    ``order.submitted`` row's time, the arrival the ``order.accepted`` row's ``reached_ms``."""
    journal = read_table(run_dir, "journal")
    sent: dict[str, tuple[str, int]] = {}
    reached: dict[str, int] = {}
    fills: dict[str, list[int]] = {}
    for kind, symbol, date, text in zip(journal["kind"], journal["symbol"], journal["date"],
                                        journal["payload"], strict=True):  # fmt: skip
        if kind not in ("order", "fill"):
            continue
        payload = orjson.loads(text)
        event = payload.get("event")
        if event == "order.submitted":
            sent[payload["client_id"]] = (str(symbol), int(pd.Timestamp(date).value // 1_000_000))
        elif event == "order.accepted" and payload.get("reached_ms") is not None:
            reached[payload["client_id"]] = int(payload["reached_ms"])
        elif event == "order.filled":
            fill = payload["fill"]
            fills.setdefault(fill["client_id"], []).append(int(fill["ts"]))
    found: dict[tuple[str, int], Evidence] = {}
    for client_id, arrived in reached.items():
        if client_id not in sent:
            continue
        symbol, at = sent[client_id]
        if arrived - at <= assumed_ms:
            continue
        evidence = Evidence(
            symbol, at, "latency",
            f"order {client_id} reached the venue {(arrived - at) / 1000:.1f} s after it was "
            f"sent; the replay assumes {assumed_ms / 1000:.1f} s",
        )  # fmt: skip
        for fill_ms in fills.get(client_id, ()):
            found[(symbol, fill_ms)] = evidence
    return found


# -- the replay and the diff -----------------------------------------------------------------


def instrument_from_settings(row: Mapping[str, Any]) -> Instrument:
    """An instrument as a session's ``session.json`` records it (see ``PaperSession``)."""

    def dec(key: str) -> Decimal | None:
        return None if row.get(key) is None else Decimal(str(row[key]))

    return Instrument(
        symbol=row["symbol"], base=row["base"], quote=row["quote"], exchange=row["exchange"],
        exchange_id=row["exchange_id"], market_type=MarketType(row["market_type"]),
        price_step=Decimal(row["price_step"]), amount_step=Decimal(row["amount_step"]),
        min_amount=dec("min_amount"), max_amount=dec("max_amount"),
        min_notional=dec("min_notional"), maker_fee=Decimal(row["maker_fee"]),
        taker_fee=Decimal(row["taker_fee"]), fee_side=FeeSide(row["fee_side"]),
    )  # fmt: skip


def _funding(run_dir: Path) -> dict[str, pd.DataFrame] | None:
    """The perpetuals' funding settlements the session learnt (None for a spot session)."""
    path = run_dir / FUNDING_FILE
    if not path.is_file():
        return None
    recorded = _read_json(path, "")
    return {symbol: settlements_frame(rows) for symbol, rows in recorded.items()}


def _replay(
    settings: Mapping[str, Any],
    truth: Mapping[str, pd.DataFrame],
    funding: Mapping[str, pd.DataFrame] | None = None,
    books: Mapping[str, DecodedBookStream] | None = None,
) -> pd.DataFrame:
    strategies = [strategy_from(s["name"], s["params"]) for s in settings["strategies"]]
    fill = settings["fill"]
    first_ms = min(settings["first_bar_ms"].values())
    result = backtest(
        strategies if len(strategies) > 1 else strategies[0],
        dict(truth),
        cash=settings["cash"],
        stake=settings["stake"],
        fee=settings["fee"],
        fill=fill["fill_at"],
        slippage_bps=fill["slippage_bps"],
        volatility_slippage=fill["volatility_slippage"],
        latency_ms=fill["latency_ms"],
        max_participation=fill["max_participation"],
        timeframe=settings["timeframe"],
        instruments={s: instrument_from_settings(i) for s, i in settings["instruments"].items()},
        risk=settings.get("risk"),
        funding=funding,
        books=books or None,
        book_walk=bool(books),
        start=pd.Timestamp(first_ms, unit="ms", tz="UTC"),
    )
    trades = result.trades.copy()
    for column in ("entry_time", "exit_time"):
        trades[column] = trades[column].map(lambda t: pd.Timestamp(t).isoformat())
    return trades


def _cause(evidence: list[Evidence], symbol: str, until: str) -> str:
    limit = pd.Timestamp(until).value // 1_000_000
    before = [e for e in evidence if e.symbol == symbol and e.bar_ms <= limit]
    if before:
        return before[-1].describe()
    if evidence:
        return evidence[0].describe()
    return "unexplained: no revised, missing or late bar was recorded (please report it)"


_BOOK_FILL = (
    "filled by the exchange's book (live): at the book's prices when the order reached it, "
    "not at the next bar's open"
)


def _diff(
    session: pd.DataFrame,
    replay: pd.DataFrame,
    evidence: list[Evidence],
    late: Mapping[tuple[str, int], Evidence],
    *,
    live: bool = False,
) -> list[Difference]:
    keyed_session = {_key(r): r for r in session.to_dict("records")} if len(session) else {}
    keyed_replay = {_key(r): r for r in replay.to_dict("records")} if len(replay) else {}
    paired = _pair_late(keyed_session, keyed_replay, late)
    out: list[Difference] = []
    for key in sorted(set(keyed_session) | set(keyed_replay), key=lambda k: (k[2], k[0])):
        symbol, side, entry = key
        if key in paired.values():
            continue  # compared with the session's late trade it pairs with
        mine = keyed_session.get(key)
        theirs = keyed_replay.get(paired.get(key, key))
        if mine is None or theirs is None:
            what = "missing" if mine is None else "extra"
            out.append(Difference(what, symbol, side, entry, "-" if mine is None else "traded",
                                  "-" if theirs is None else "traded",
                                  _cause(evidence, symbol, entry)))  # fmt: skip
            continue
        for column in ("entry_time", "exit_time", "entry_price", "exit_price", "quantity", "fees"):
            a, b = mine[column], theirs[column]
            same = (
                pd.Timestamp(a) == pd.Timestamp(b)
                if column.endswith("_time")
                else math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-15)
            )
            if not same:
                until = max(str(mine["exit_time"]), str(theirs["exit_time"]))
                reason = _late_cause(
                    late, mine, column, exit_moved=mine["exit_time"] != theirs["exit_time"]
                )
                cause = (
                    _BOOK_FILL if live and column != "exit_time"
                    else reason or _cause(evidence, symbol, until)
                )  # fmt: skip
                out.append(Difference(column, symbol, side, entry, str(a), str(b), cause))
    return out


def _ms(moment: Any) -> int:
    return int(pd.Timestamp(moment).value // 1_000_000)


def _late_cause(
    late: Mapping[tuple[str, int], Evidence],
    trade: Mapping[str, Any],
    column: str,
    *,
    exit_moved: bool,
) -> str:
    """The latency evidence of the order behind ``column`` of the trade: the entry order for
    the entry's fields, the exit order for the exit's, for fees the exit's when the exit moved
    ("" when that order was not late)."""
    symbol = str(trade["symbol"])
    entry = late.get((symbol, _ms(trade["entry_time"])))
    exit_ = late.get((symbol, _ms(trade["exit_time"])))
    if column.startswith("entry") or column == "quantity":
        found = entry
    elif column.startswith("exit") or exit_moved:
        found = exit_
    else:
        found = entry or exit_
    return "" if found is None else found.describe()


def _pair_late(
    session: Mapping[tuple[str, str, str], Mapping[str, Any]],
    replay: Mapping[tuple[str, str, str], Mapping[str, Any]],
    late: Mapping[tuple[str, int], Evidence],
) -> dict[tuple[str, str, str], tuple[str, str, str]]:
    """Session trades whose entry order was late, each with the replay's trade of the same
    signal: unmatched, same symbol and side, entered from the order's send time up to the
    session's entry (the earliest such)."""
    unmatched = sorted((k for k in replay if k not in session), key=lambda k: _ms(k[2]))
    pairs: dict[tuple[str, str, str], tuple[str, str, str]] = {}
    for key in sorted(session, key=lambda k: _ms(k[2])):
        if key in replay:
            continue
        symbol, side, entry = key
        found = late.get((symbol, _ms(entry)))
        if found is None:
            continue
        for candidate in unmatched:
            if candidate[:2] == (symbol, side) and found.bar_ms <= _ms(candidate[2]) < _ms(entry):
                pairs[key] = candidate
                unmatched.remove(candidate)
                break
    return pairs


def _key(row: Mapping[str, Any]) -> tuple[str, str, str]:
    return str(row["symbol"]), str(row["side"]), pd.Timestamp(row["entry_time"]).isoformat()
