"""The order path's writes, compiled once and run on the driver's own connection.

Recording an order's life (the order, its transitions, its fill) sits inside the live order round
trip, whose budget is 1 ms; going through SQLAlchemy's execution layer for each of its nine
statements cost several times the statements themselves (benchmarks/bench_persistence.py). So
these statements are built with SQLAlchemy Core from the same models, compiled once for the
database's dialect, and executed on the DBAPI connection, with the values converted the way the
column types of :mod:`tradewind.persistence.types` store them (checked by reading them back
through SQLAlchemy in the tests).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Dialect, String, bindparam, func, insert, update
from sqlalchemy.sql.expression import Executable

from tradewind.persistence.models import FillRow, OrderRow, OrderTransitionRow
from tradewind.persistence.types import Money, UtcDateTime

_ORDER_COLUMNS = (
    "bot_id", "session_id", "client_id", "venue_order_id", "strategy", "symbol", "side", "type",
    "time_in_force", "quantity", "quote_quantity", "price", "trigger_price", "post_only",
    "reduce_only", "tag", "status", "filled_quantity", "average_price", "reject_reason",
    "created_at", "updated_at",
)  # fmt: skip
_TRANSITION_COLUMNS = ("order_id", "status", "at", "source", "detail")
_FILL_COLUMNS = (
    "bot_id", "order_id", "trade_id", "client_id", "strategy", "symbol", "side", "price",
    "quantity", "fee", "fee_currency", "liquidity", "at",
)  # fmt: skip


def sqlite_time(when: datetime) -> str:
    """A UTC time as SQLAlchemy's SQLite DATETIME stores it (naive, microseconds)."""
    # isoformat is several times faster than strftime, and writes the same text.
    if when.tzinfo is not UTC:
        when = when.astimezone(UTC)
    return when.replace(tzinfo=None).isoformat(" ", "microseconds")


class Statement:
    """One statement compiled for a dialect, and how to lay out its parameters."""

    def __init__(self, statement: Executable, dialect: Dialect, keys: Sequence[str] = ()) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=list(keys) or None)
        self.sql = compiled.string
        self.order: list[str] | None = (
            list(compiled.positiontup) if compiled.positiontup is not None else None
        )
        self.returns = bool(getattr(compiled, "effective_returning", None))

    def params(self, values: dict[str, Any]) -> Any:
        """The parameters in the driver's style (a tuple for qmark, the dict for pyformat)."""
        if self.order is None:
            return values
        return tuple(values[name] for name in self.order)


class HotPath:
    """The compiled order, transition and fill writes of one database, with value conversion."""

    def __init__(self, dialect: Dialect) -> None:
        self.sqlite = dialect.name == "sqlite"
        orders = OrderRow.__table__
        self.insert_order = Statement(
            insert(orders).returning(orders.c.id) if not self.sqlite else insert(orders),
            dialect,
            _ORDER_COLUMNS,
        )
        self.insert_transition = Statement(
            insert(OrderTransitionRow.__table__), dialect, _TRANSITION_COLUMNS
        )
        self.insert_fill = Statement(insert(FillRow.__table__), dialect, _FILL_COLUMNS)
        money, when = Money(), UtcDateTime()
        # One fixed UPDATE: a NULL parameter keeps the column as it is.
        self.update_order = Statement(
            update(orders)
            .where(orders.c.id == bindparam("order_id"))
            .values(
                status=bindparam("status", type_=String()),
                updated_at=bindparam("at", type_=when),
                venue_order_id=func.coalesce(
                    bindparam("venue_order_id", type_=String()), orders.c.venue_order_id
                ),
                filled_quantity=func.coalesce(
                    bindparam("filled_quantity", type_=money), orders.c.filled_quantity
                ),
                average_price=func.coalesce(
                    bindparam("average_price", type_=money), orders.c.average_price
                ),
                quantity=func.coalesce(bindparam("quantity", type_=money), orders.c.quantity),
                reject_reason=func.coalesce(
                    bindparam("reject_reason", type_=String()), orders.c.reject_reason
                ),
            ),
            dialect,
        )

    def money(self, value: Decimal | None) -> Any:
        """A money value as the column stores it."""
        if value is None or not self.sqlite:
            return value
        return format(value, "f")

    def time(self, when: datetime) -> Any:
        """A UTC time as the column stores it."""
        return sqlite_time(when) if self.sqlite else when

    def flag(self, value: bool) -> Any:
        """A boolean as the column stores it."""
        return int(value) if self.sqlite else value
