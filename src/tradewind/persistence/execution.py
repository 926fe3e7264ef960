"""Parent orders and execution costs in the bot's database.

:class:`ExecutionStore` writes a parent's state ahead of its children (the session's recorder
calls :meth:`ExecutionStore.write_parent` on every ``parent.*`` announcement, which comes before
the child it concerns is recorded and sent), reads back the parents still working when a session
restarts, and keeps the transaction-cost analysis of every order and parent
(:mod:`tradewind.execution.tca`), aggregated by strategy, venue and algorithm for the operator
interfaces.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, insert, select, update

from tradewind.core.algo_spec import Algo, AlgoSpec, Timeout
from tradewind.core.records import Side
from tradewind.execution.parent import Parent, ParentStatus
from tradewind.execution.tca import TcaBook, TcaRecord
from tradewind.persistence.models import ExecutionCostRow, ParentOrderRow
from tradewind.persistence.types import to_ms, utc_ms

__all__ = ["ExecutionStore", "StoredParent", "spec_from_json", "spec_to_json"]

_PARENTS = ParentOrderRow.__table__
_COSTS = ExecutionCostRow.__table__
_RENAMED = {"strategy_id": "strategy"}
"""TCA record fields stored under another column name."""
_TIMES = {"start_ts": "start_at", "end_ts": "end_at"}


def spec_to_json(spec: AlgoSpec) -> str:
    """Every setting of ``spec`` as JSON (Decimals as text; the learned volume curve kept)."""
    out: dict[str, Any] = {}
    for spec_field in fields(spec):
        value = getattr(spec, spec_field.name)
        if isinstance(value, Decimal):
            value = str(value)
        elif isinstance(value, tuple):
            value = list(value)
        elif isinstance(value, Algo | Timeout):
            value = value.value
        out[spec_field.name] = value
    return json.dumps(out, sort_keys=True)


def spec_from_json(text: str) -> AlgoSpec:
    """The :class:`AlgoSpec` :func:`spec_to_json` wrote."""
    raw = json.loads(text)
    values: dict[str, Any] = dict(raw)
    values["algo"] = Algo(raw["algo"])
    values["on_timeout"] = Timeout(raw["on_timeout"])
    values["volume_curve"] = tuple(raw["volume_curve"])
    for name in ("visible", "chase_bps", "guard_bps"):
        values[name] = Decimal(raw[name])
    limit = raw.get("limit_price")
    values["limit_price"] = None if limit is None else Decimal(limit)
    return AlgoSpec(**values)


@dataclass(frozen=True, slots=True)
class StoredParent:
    """A parent as written: the parent (no children attached yet) and how many children it
    numbered before the restart."""

    parent: Parent
    children: int


class ExecutionStore:
    """One bot's parent orders and execution costs (see the module's doc).

    Parameters
    ----------
    engine
        The bot's database.
    bot_id
        The bot the rows belong to.
    session_id
        The session writing them (None: reads only, or outside a session).
    """

    def __init__(self, engine: Engine, bot_id: int, session_id: int | None = None) -> None:
        self.engine = engine
        self.bot_id = bot_id
        self.session_id = session_id
        self._written: set[str] = set()

    # -- parents ----------------------------------------------------------------------------------

    def write_parent(self, parent: Parent) -> None:
        """Insert or update ``parent``'s row (one transaction: durable when this returns)."""
        state = {
            "status": parent.status.value,
            "reason": parent.reason,
            "children": parent.numbered,
            "filled_quantity": parent.filled_quantity,
            "crossing": parent.crossing,
            "limit_price": parent.limit_price,
            "ended_at": None if parent.ended_ts is None else utc_ms(parent.ended_ts),
            "final_mid": parent.final_mid,
            "chosen_by": parent.chosen_by,
            "session_id": self.session_id,
        }
        with self.engine.begin() as connection:
            if parent.parent_id not in self._written:
                exists = connection.execute(
                    select(_PARENTS.c.id).where(
                        _PARENTS.c.bot_id == self.bot_id, _PARENTS.c.parent_id == parent.parent_id
                    )
                ).scalar()
                if exists is None:
                    connection.execute(insert(_PARENTS), {
                        "bot_id": self.bot_id, "parent_id": parent.parent_id,
                        "strategy": parent.strategy_id, "symbol": parent.symbol,
                        "side": parent.side.value, "algo": parent.spec.algo.value,
                        "quantity": parent.quantity, "reduce_only": parent.reduce_only,
                        "spec": spec_to_json(parent.spec),
                        "plan": json.dumps([[ts, str(q)] for ts, q in parent.plan]),
                        "created_at": utc_ms(parent.created_ts),
                        "arrival_mid": parent.arrival_mid, **state,
                    })  # fmt: skip
                    self._written.add(parent.parent_id)
                    return
                self._written.add(parent.parent_id)
            connection.execute(
                update(_PARENTS)
                .where(_PARENTS.c.bot_id == self.bot_id, _PARENTS.c.parent_id == parent.parent_id)
                .values(**state)
            )

    def parents(self, *, working_only: bool = False) -> list[StoredParent]:
        """The bot's parents (only those still working with ``working_only``), oldest first."""
        query = select(_PARENTS).where(_PARENTS.c.bot_id == self.bot_id).order_by(_PARENTS.c.id)
        if working_only:
            query = query.where(_PARENTS.c.status == ParentStatus.WORKING.value)
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        return [StoredParent(_parent(row), int(row.children)) for row in rows]

    # -- costs ------------------------------------------------------------------------------------

    def record_costs(self, records: Iterable[TcaRecord]) -> int:
        """Store each record once (by execution id); returns how many were new."""
        records = list(records)
        if not records:
            return 0
        ids = [r.execution_id for r in records]
        with self.engine.begin() as connection:
            known = set(connection.execute(
                select(_COSTS.c.execution_id).where(
                    _COSTS.c.bot_id == self.bot_id, _COSTS.c.execution_id.in_(ids))
            ).scalars())  # fmt: skip
            rows = []
            for record in records:
                if record.execution_id in known:
                    continue
                known.add(record.execution_id)
                row: dict[str, Any] = {"bot_id": self.bot_id, "session_id": self.session_id}
                for name, value in record.as_dict().items():
                    if name in _TIMES:
                        row[_TIMES[name]] = utc_ms(int(value))  # type: ignore[call-overload]
                    else:
                        row[_RENAMED.get(name, name)] = value
                rows.append(row)
            if rows:
                connection.execute(insert(_COSTS), rows)
        return len(rows)

    def costs(self, *, session_id: int | None = None) -> list[TcaRecord]:
        """Every stored cost record of the bot (of one session), in recording order."""
        query = select(_COSTS).where(_COSTS.c.bot_id == self.bot_id).order_by(_COSTS.c.id)
        if session_id is not None:
            query = query.where(_COSTS.c.session_id == session_id)
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        out = []
        for row in rows:
            values: dict[str, Any] = {}
            for record_field in fields(TcaRecord):
                name = record_field.name
                value = getattr(row, _TIMES.get(name) or _RENAMED.get(name, name))
                if name in _TIMES:
                    value = to_ms(value)
                values[name] = math.nan if value is None else value
            out.append(TcaRecord(**values))
        return out

    def summary(self, *, session_id: int | None = None) -> dict[str, Any]:
        """The stored costs aggregated by strategy, venue, algorithm and kind (order or parent):
        quantity-weighted means in bps of the arrival mid (:meth:`TcaBook.aggregate`)."""
        book = TcaBook()
        book.records.extend(self.costs(session_id=session_id))
        return {
            "records": len(book.records),
            "by_strategy": book.aggregate("strategy_id"),
            "by_venue": book.aggregate("venue"),
            "by_algo": book.aggregate("algo"),
            "by_kind": book.aggregate("kind"),
        }


def _parent(row: Any) -> Parent:
    plan = [(int(ts), Decimal(q)) for ts, q in json.loads(row.plan)]
    parent = Parent(
        row.parent_id, row.strategy, row.symbol, Side(row.side), row.quantity,
        spec_from_json(row.spec), bool(row.reduce_only), to_ms(row.created_at), row.arrival_mid,
        plan=plan, status=ParentStatus(row.status), reason=row.reason,
        limit_price=row.limit_price, crossing=bool(row.crossing),
        ended_ts=None if row.ended_at is None else to_ms(row.ended_at), final_mid=row.final_mid,
        filled_quantity=row.filled_quantity, chosen_by=row.chosen_by,
    )  # fmt: skip
    return parent
