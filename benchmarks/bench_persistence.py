"""Persistence: the cost of recording an order's life, and a profit report over 1M stored fills.

1. Order round trip on SQLite WAL (``synchronous=NORMAL``, the default, and ``FULL``): the SQL
   repository records an order (``NEW``), its ``SUBMITTED`` and ``ACCEPTED`` transitions, and its
   fill with the ``FILLED`` transition, each call committed. Target <= 0.3 ms per order (the live
   order round trip budget is 1 ms). Peer: bare ``sqlite3`` running the same statements and
   commits, with no SQLAlchemy. Every order is read back and checked before a time counts.
2. Profit report: exact cash flow per symbol over 1M stored fills (synthetic: prices and sizes
   from a fixed seed; 100k with --quick): on SQLite, exact Decimal sums over the decimal text read
   from the covering index; when the local server is reachable, PostgreSQL's NUMERIC sums (checked
   equal to SQLite's). Target <= 1 s. Peer: SQLite's own float ``sum`` over the same rows (fast,
   but not exact).
"""

from __future__ import annotations

import random
import sqlite3
import tempfile
import time
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from benchmarks.common import Row

_T0 = 1_767_225_600_000


def _order_life(repo, i: int) -> None:  # type: ignore[no-untyped-def]
    from tradewind.core.orders import Fill, Liquidity, Order, OrderStatus, OrderType
    from tradewind.core.records import Side
    from tradewind.core.repository import OrderTransition, TransitionSource

    cid = f"tw-bench-{i}"
    ts = _T0 + i
    order = Order(cid, "BTC/USDT", Side.BUY, OrderType.LIMIT, Decimal("0.015"),
                  price=Decimal("42000.10"), strategy_id="bench", created_ts=ts)  # fmt: skip
    repo.record_order(order, ts, TransitionSource.ENGINE)
    repo.record_transition(OrderTransition(cid, OrderStatus.SUBMITTED, ts, TransitionSource.ENGINE))
    repo.record_transition(
        OrderTransition(
            cid, OrderStatus.ACCEPTED, ts + 1, TransitionSource.VENUE, venue_order_id=str(i)
        )
    )
    fill = Fill(cid, "BTC/USDT", Side.BUY, ts + 2, Decimal("42000.10"), Decimal("0.015"),
                Decimal("0.63000150"), "USDT", Liquidity.TAKER, str(i))  # fmt: skip
    repo.record_fill(fill, "bench", OrderTransition(
        cid, OrderStatus.FILLED, ts + 2, TransitionSource.VENUE,
        filled_quantity=Decimal("0.015"), average_price=Decimal("42000.10")))  # fmt: skip


def _sql_round_trip(folder: Path, durability: str, n: int) -> float:
    from tradewind.persistence.bots import open_bot

    bot = open_bot(f"bench-{durability}", bots_dir=folder, durability=durability)  # type: ignore[arg-type]
    with bot.repository() as repo:
        for i in range(50):  # warm-up: statement caches
            _order_life(repo, 10_000_000 + i)
        start = time.perf_counter()
        for i in range(n):
            _order_life(repo, i)
        elapsed = time.perf_counter() - start
        orders = repo.load_orders()
    assert len(orders) == n + 50
    assert all(o.status.value == "filled" and len(o.fills) == 1 for o in orders)
    bot.engine.dispose()
    return elapsed / n


def _bare_round_trip(folder: Path, n: int) -> float:
    """The same rows and commits through sqlite3 directly (the schema made by the migrations)."""
    from tradewind.persistence.bots import open_bot

    bot = open_bot("bench-bare", bots_dir=folder)
    bot.engine.dispose()
    con = sqlite3.connect(folder / "bench-bare" / "state.sqlite", isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    start = time.perf_counter()
    for i in range(n):
        cid = f"tw-bench-{i}"
        at = (datetime(1970, 1, 1) + timedelta(milliseconds=_T0 + i)).isoformat(" ")
        con.execute("BEGIN")
        oid = con.execute(
            "INSERT INTO orders (bot_id, session_id, client_id, venue_order_id, strategy, symbol, "
            "side, type, time_in_force, quantity, quote_quantity, price, trigger_price, post_only, "
            "reduce_only, tag, status, filled_quantity, average_price, reject_reason, created_at, "
            "updated_at) VALUES (?, NULL, ?, NULL, 'bench', 'BTC/USDT', 'buy', 'limit', 'gtc', "
            "'0.015', NULL, '42000.10', NULL, 0, 0, '', 'new', '0', NULL, '', ?, ?) RETURNING id",
            (bot.bot_id, cid, at, at),
        ).fetchone()[0]
        con.execute("INSERT INTO order_transitions (order_id, status, at, source, detail) "
                    "VALUES (?, 'new', ?, 'engine', '')", (oid, at))  # fmt: skip
        con.execute("COMMIT")
        for status, source in (("submitted", "engine"), ("accepted", "venue")):
            con.execute("BEGIN")
            con.execute("UPDATE orders SET status = ?, updated_at = ? WHERE id = ?",
                        (status, at, oid))  # fmt: skip
            con.execute("INSERT INTO order_transitions (order_id, status, at, source, detail) "
                        "VALUES (?, ?, ?, ?, '')", (oid, status, at, source))  # fmt: skip
            con.execute("COMMIT")
        con.execute("BEGIN")
        con.execute(
            "INSERT INTO fills (bot_id, order_id, trade_id, client_id, strategy, symbol, side, "
            "price, quantity, fee, fee_currency, liquidity, at) VALUES (?, ?, ?, ?, 'bench', "
            "'BTC/USDT', 'buy', '42000.10', '0.015', '0.63000150', 'USDT', 'taker', ?)",
            (bot.bot_id, oid, str(i), cid, at),
        )
        con.execute("UPDATE orders SET status = 'filled', filled_quantity = '0.015', "
                    "average_price = '42000.10', updated_at = ? WHERE id = ?", (at, oid))  # fmt: skip
        con.execute("INSERT INTO order_transitions (order_id, status, at, source, detail) "
                    "VALUES (?, 'filled', ?, 'venue', '')", (oid, at))  # fmt: skip
        con.execute("COMMIT")
    elapsed = time.perf_counter() - start
    assert con.execute("SELECT count(*) FROM fills").fetchone()[0] == n
    con.close()
    return elapsed / n


def _fill_rows(n: int, bot_id: int) -> list[tuple[object, ...]]:
    rng = random.Random(17)
    symbols = ("BTC/USDT", "ETH/USDT", "XRP/USDT", "SOL/USDT")
    rows = []
    base = datetime(2026, 1, 1)
    for i in range(n):
        price = Decimal(rng.randint(1_000_000, 9_000_000)) / 100
        quantity = Decimal(rng.randint(1, 100_000)) / 100_000
        fee = (price * quantity * Decimal("0.001")).quantize(Decimal("1e-8"))
        at = (base + timedelta(seconds=i)).isoformat(" ")
        rows.append((bot_id, f"t{i}", f"c{i}", "bench", symbols[i % 4],
                     "buy" if rng.random() < 0.5 else "sell", str(price), str(quantity), str(fee),
                     "USDT", "taker", at))  # fmt: skip
    return rows


_INSERT_FILLS = (
    "INSERT INTO fills (bot_id, trade_id, client_id, strategy, symbol, side, price, quantity, fee, "
    "fee_currency, liquidity, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _profit_sqlite(folder: Path, rows_n: int) -> tuple[float, float, list[dict[str, object]]]:
    from tradewind.persistence import queries
    from tradewind.persistence.bots import open_bot

    bot = open_bot("bench-report", bots_dir=folder)
    con = sqlite3.connect(folder / "bench-report" / "state.sqlite")
    con.executemany(_INSERT_FILLS, _fill_rows(rows_n, bot.bot_id))
    con.commit()
    report = queries.profit_report(bot.engine, bot.bot_id)  # warm the page cache
    start = time.perf_counter()
    report = queries.profit_report(bot.engine, bot.bot_id)
    ours = time.perf_counter() - start
    assert sum(int(r["fills"]) for r in report) == rows_n  # type: ignore[call-overload]
    start = time.perf_counter()
    floats = con.execute(
        "SELECT symbol, count(*), sum(price * quantity), sum(fee) FROM fills WHERE bot_id = ? "
        "GROUP BY symbol, fee_currency",
        (bot.bot_id,),
    ).fetchall()
    peer = time.perf_counter() - start
    assert len(floats) == len(report)
    con.close()
    bot.engine.dispose()
    return ours, peer, report


def _profit_postgres(rows_n: int, expected: list[dict[str, object]]) -> float | None:
    import uuid

    try:
        import psycopg

        admin = psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True,
                                connect_timeout=3)  # fmt: skip
    except Exception:
        return None
    from tradewind.persistence import queries
    from tradewind.persistence.bots import open_bot
    from tradewind.persistence.engine import make_engine, upgrade

    name = f"tradewind_bench_{uuid.uuid4().hex[:8]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    try:
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        bot = open_bot("bench-report", bots_dir=".", url=url)
        with psycopg.connect(url.replace("+psycopg", "")) as con, con.cursor() as cur:
            with cur.copy(
                "COPY fills (bot_id, trade_id, client_id, strategy, symbol, side, price, "
                "quantity, fee, fee_currency, liquidity, at) FROM STDIN"
            ) as copy:
                for row in _fill_rows(rows_n, bot.bot_id):
                    copy.write_row((*row[:-1], f"{row[-1]}+00"))
            con.commit()
            cur.execute("ANALYZE fills")
        queries.profit_report(bot.engine, bot.bot_id)
        start = time.perf_counter()
        report = queries.profit_report(bot.engine, bot.bot_id)
        elapsed = time.perf_counter() - start
        for got, want in zip(report, expected, strict=True):
            assert got["bought"] == want["bought"] and got["fees"] == want["fees"]  # noqa: PT018
        bot.engine.dispose()
        return elapsed
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def run(quick: bool) -> list[Row]:
    """Time the order round trip and the profit report."""
    n = 300 if quick else 3000
    fills_n = 100_000 if quick else 1_000_000
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        normal = _sql_round_trip(folder, "normal", n)
        bare = _bare_round_trip(folder, n)
        full = _sql_round_trip(folder, "full", max(100, n // 10))
        rows.append(Row("persistence", "order + 3 transitions + fill, SQLite WAL NORMAL", normal,
                        peer_name="bare sqlite3, same rows", peer=bare, target="<= 0.3 ms",
                        note=f"{n} orders, 4 commits each"))  # fmt: skip
        rows.append(Row("persistence", "order + 3 transitions + fill, SQLite WAL FULL", full,
                        note="fsync per commit: survives power loss"))  # fmt: skip
        ours, peer, report = _profit_sqlite(folder, fills_n)
        rows.append(Row("persistence", f"profit report, {fills_n:,} fills, SQLite (exact)", ours,
                        peer_name="SQLite float sum", peer=peer, target="<= 1 s",
                        note="exact Decimal sums"))  # fmt: skip
        postgres = _profit_postgres(fills_n, report)
        if postgres is not None:
            rows.append(Row("persistence", f"profit report, {fills_n:,} fills, PostgreSQL",
                            postgres, target="<= 1 s", note="NUMERIC sums on the local server"))  # fmt: skip
    return rows
