"""The SQL implementation of the repository port (SQLite or PostgreSQL).

One repository belongs to one bot (and, while trading, one session). It holds one connection and
commits after every call, so each write is durable when the call returns: an order recorded before
it is sent survives a SIGKILL of the process. The order path's writes (order, transitions, fill)
are compiled once and run on the driver's connection (:mod:`tradewind.persistence.hot_path`): the
live order round trip has a budget of 1 ms. Everything else is SQLAlchemy Core.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from tradewind.core.money import ZERO
from tradewind.core.orders import (
    TERMINAL,
    Fill,
    Liquidity,
    Order,
    OrderStatus,
    OrderType,
    TimeInForce,
)
from tradewind.core.records import Side
from tradewind.core.repository import (
    Checkpoint,
    OrderTransition,
    PositionState,
    RiskEvent,
    TransitionSource,
)
from tradewind.persistence.audit import CursorAppender, append_operator_action
from tradewind.persistence.hot_path import HotPath
from tradewind.persistence.models import (
    BalanceRow,
    Bot,
    EquitySnapshotRow,
    FillRow,
    FundingRow,
    OrderRow,
    OrderTransitionRow,
    PositionRow,
    RiskEventRow,
)
from tradewind.persistence.types import to_ms, utc_ms

_ORDERS = OrderRow.__table__
_TRANSITIONS = OrderTransitionRow.__table__
_FILLS = FillRow.__table__
_POSITIONS = PositionRow.__table__
_BALANCES = BalanceRow.__table__
_BOTS = Bot.__table__


class SqlTradingRepository:
    """A :class:`~tradewind.core.repository.TradingRepository` over one bot's rows in SQL."""

    def __init__(
        self,
        engine: Engine,
        bot_id: int,
        session_id: int | None = None,
        *,
        audit_key: bytes | None = None,
    ) -> None:
        self.engine = engine
        self.bot_id = bot_id
        self.session_id = session_id
        # Reads go through SQLAlchemy; the order path's writes through the driver (hot_path).
        self._connection: Connection = engine.connect()
        self._raw = engine.raw_connection()
        self._cursor = self._raw.cursor()
        self._hot = HotPath(engine.dialect)
        self._integrity_error: type[Exception] = engine.dialect.loaded_dbapi.IntegrityError
        self._order_ids: dict[str, int] = {}
        # With a key, every order, fill and risk event is chained into the audit trail in the
        # transaction that stores it (paper and live sessions; backtests keep no audit trail).
        self._audit_key = audit_key
        self._audit = None if audit_key is None else CursorAppender(engine.dialect, audit_key)

    def close(self) -> None:
        """Release the connections."""
        self._cursor.close()
        self._raw.close()
        self._connection.close()

    def __enter__(self) -> SqlTradingRepository:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _order_id(self, client_id: str) -> int:
        found = self._order_ids.get(client_id)
        if found is None:
            found = self._connection.execute(
                select(_ORDERS.c.id).where(
                    _ORDERS.c.bot_id == self.bot_id, _ORDERS.c.client_id == client_id
                )
            ).scalar()
            if found is None:
                raise KeyError(f"order {client_id} was never recorded")
            self._order_ids[client_id] = found
        return found

    # -- writes -----------------------------------------------------------------------------------

    def record_order(self, order: Order, ts: int, source: TransitionSource) -> None:
        """Insert a new order and its first transition, in one transaction."""
        hot, cursor = self._hot, self._cursor
        at = hot.time(utc_ms(ts))
        money = hot.money
        values = {
            "bot_id": self.bot_id,
            "session_id": self.session_id,
            "client_id": order.client_id,
            "venue_order_id": order.venue_order_id,
            "strategy": order.strategy_id,
            "symbol": order.symbol,
            "side": order.side.value,
            "type": order.type.value,
            "time_in_force": order.time_in_force.value,
            "quantity": money(order.quantity),
            "quote_quantity": money(order.quote_quantity),
            "price": money(order.price),
            "trigger_price": money(order.trigger_price),
            "post_only": hot.flag(order.post_only),
            "reduce_only": hot.flag(order.reduce_only),
            "tag": order.tag,
            "status": order.status.value,
            "filled_quantity": money(order.filled_quantity),
            "average_price": money(order.average_price),
            "reject_reason": order.reject_reason,
            "created_at": at,
            "updated_at": at,
        }
        try:
            cursor.execute(hot.insert_order.sql, hot.insert_order.params(values))
            order_id = cursor.lastrowid if hot.sqlite else cursor.fetchone()[0]
            transition = {"order_id": order_id, "status": order.status.value, "at": at,
                          "source": source.value, "detail": ""}  # fmt: skip
            cursor.execute(hot.insert_transition.sql, hot.insert_transition.params(transition))
            if self._audit is not None:
                detail = {"client_id": order.client_id, "strategy": order.strategy_id,
                          "symbol": order.symbol, "side": order.side.value,
                          "type": order.type.value, "quantity": order.quantity,
                          "price": order.price, "trigger_price": order.trigger_price,
                          "reduce_only": order.reduce_only, "status": order.status.value,
                          "tag": order.tag}  # fmt: skip
                self._audit.append(cursor, actor=f"strategy:{order.strategy_id}",
                                   channel="engine", action="order", detail=detail,
                                   at=utc_ms(ts), bot_id=self.bot_id)  # fmt: skip
        except BaseException:
            self._raw.rollback()
            raise
        self._raw.commit()
        self._order_ids[order.client_id] = order_id

    def _transition(self, transition: OrderTransition) -> None:
        hot, cursor = self._hot, self._cursor
        order_id = self._order_id(transition.client_id)
        at = hot.time(utc_ms(transition.ts))
        status = transition.status
        reason = (
            transition.detail if status in (OrderStatus.REJECTED, OrderStatus.EXPIRED) else None
        )
        update_values = {
            "order_id": order_id,
            "status": status.value,
            "at": at,
            "venue_order_id": transition.venue_order_id or None,
            "filled_quantity": hot.money(transition.filled_quantity),
            "average_price": hot.money(transition.average_price),
            "quantity": hot.money(transition.quantity),
            "reject_reason": reason or None,
        }
        cursor.execute(hot.update_order.sql, hot.update_order.params(update_values))
        row = {"order_id": order_id, "status": status.value, "at": at,
               "source": transition.source.value, "detail": transition.detail}  # fmt: skip
        cursor.execute(hot.insert_transition.sql, hot.insert_transition.params(row))

    def record_transition(self, transition: OrderTransition) -> None:
        """Update the order's current state and add the transition, in one transaction."""
        try:
            self._transition(transition)
        except BaseException:
            self._raw.rollback()
            raise
        self._raw.commit()

    def record_fill(
        self, fill: Fill, strategy_id: str, transition: OrderTransition | None = None
    ) -> bool:
        """Insert a fill (and the status change it caused, atomically); False when the exchange's
        trade id is stored already (nothing is written then)."""
        hot = self._hot
        order_id = self._order_ids.get(fill.client_id)
        if order_id is None:
            try:
                order_id = self._order_id(fill.client_id)
            except KeyError:
                order_id = None  # a fill of an order placed elsewhere (reconciliation)
        values = {
            "bot_id": self.bot_id,
            "order_id": order_id,
            "trade_id": fill.trade_id or None,
            "client_id": fill.client_id,
            "strategy": strategy_id,
            "symbol": fill.symbol,
            "side": fill.side.value,
            "price": hot.money(fill.price),
            "quantity": hot.money(fill.quantity),
            "fee": hot.money(fill.fee),
            "fee_currency": fill.fee_currency,
            "liquidity": fill.liquidity.value,
            "at": hot.time(utc_ms(fill.ts)),
        }
        try:
            self._cursor.execute(hot.insert_fill.sql, hot.insert_fill.params(values))
            if transition is not None:
                self._transition(transition)
            if self._audit is not None:
                detail = {"client_id": fill.client_id, "trade_id": fill.trade_id,
                          "symbol": fill.symbol, "side": fill.side.value, "price": fill.price,
                          "quantity": fill.quantity, "fee": fill.fee,
                          "fee_currency": fill.fee_currency}  # fmt: skip
                self._audit.append(self._cursor, actor=f"strategy:{strategy_id}",
                                   channel="engine", action="fill", detail=detail,
                                   at=utc_ms(fill.ts), bot_id=self.bot_id)  # fmt: skip
        except self._integrity_error:
            self._raw.rollback()
            if fill.trade_id and self._has_fill(fill):
                return False
            raise
        except BaseException:
            self._raw.rollback()
            raise
        self._raw.commit()
        return True

    def _has_fill(self, fill: Fill) -> bool:
        return (
            self._connection.execute(
                select(_FILLS.c.id).where(
                    _FILLS.c.bot_id == self.bot_id,
                    _FILLS.c.symbol == fill.symbol,
                    _FILLS.c.trade_id == fill.trade_id,
                )
            ).first()
            is not None
        )

    def record_funding(
        self, symbol: str, ts: int, amount: Decimal, currency: str, rate: Decimal
    ) -> None:
        """Store one funding payment of a perpetual (negative when paid)."""
        self._connection.execute(
            insert(FundingRow.__table__),
            {
                "bot_id": self.bot_id,
                "symbol": symbol,
                "amount": amount,
                "currency": currency,
                "rate": rate,
                "at": utc_ms(ts),
            },
        )
        self._connection.commit()

    def save_positions(self, positions: Sequence[PositionState], ts: int) -> None:
        """Upsert the given positions in one transaction."""
        self._upsert_positions(positions, ts)
        self._connection.commit()

    def _upsert_positions(self, positions: Sequence[PositionState], ts: int) -> None:
        connection = self._connection
        at = utc_ms(ts)
        existing = {
            (row.strategy, row.symbol): row.id
            for row in connection.execute(
                select(_POSITIONS.c.id, _POSITIONS.c.strategy, _POSITIONS.c.symbol).where(
                    _POSITIONS.c.bot_id == self.bot_id
                )
            )
        }
        for position in positions:
            values = {
                "quantity": position.quantity,
                "average_price": position.average_price,
                "entry_at": utc_ms(position.entry_ts) if position.entry_ts else None,
                "realized_pnl": position.realized_pnl,
                "open_fees": position.open_fees,
                "open_funding": position.open_funding,
                "dust": position.dust or None,
                "updated_at": at,
            }
            row_id = existing.get((position.strategy_id, position.symbol))
            if row_id is None:
                connection.execute(
                    insert(_POSITIONS),
                    {
                        "bot_id": self.bot_id,
                        "strategy": position.strategy_id,
                        "symbol": position.symbol,
                        **values,
                    },
                )
            else:
                connection.execute(
                    update(_POSITIONS).where(_POSITIONS.c.id == row_id).values(values)
                )

    def save_balances(self, balances: Mapping[str, Decimal], ts: int) -> None:
        """Upsert the given balances in one transaction."""
        self._upsert_balances(balances, ts)
        self._connection.commit()

    def _upsert_balances(self, balances: Mapping[str, Decimal], ts: int) -> None:
        connection = self._connection
        at = utc_ms(ts)
        existing = {
            row.asset: row.id
            for row in connection.execute(
                select(_BALANCES.c.id, _BALANCES.c.asset).where(_BALANCES.c.bot_id == self.bot_id)
            )
        }
        for asset, total in balances.items():
            row_id = existing.get(asset)
            if row_id is None:
                connection.execute(
                    insert(_BALANCES),
                    {"bot_id": self.bot_id, "asset": asset, "total": total, "updated_at": at},
                )
            else:
                connection.execute(
                    update(_BALANCES)
                    .where(_BALANCES.c.id == row_id)
                    .values(total=total, updated_at=at)
                )

    def save_checkpoint(
        self,
        positions: Sequence[PositionState],
        balances: Mapping[str, Decimal],
        fills: int,
        ts: int,
    ) -> None:
        """Upsert the positions and balances and note that they include the bot's first
        ``fills`` fills, in one transaction (a kill leaves the previous checkpoint whole)."""
        try:
            self._upsert_positions(positions, ts)
            self._upsert_balances(balances, ts)
            self._connection.execute(
                update(_BOTS)
                .where(_BOTS.c.id == self.bot_id)
                .values(checkpoint_fills=fills, checkpoint_at=utc_ms(ts))
            )
        except BaseException:
            self._connection.rollback()
            raise
        self._connection.commit()

    def load_checkpoint(self) -> Checkpoint | None:
        """The last checkpoint and the fills recorded after it (None before the first)."""
        fills = self._connection.execute(
            select(_BOTS.c.checkpoint_fills).where(_BOTS.c.id == self.bot_id)
        ).scalar()
        self._connection.commit()
        if fills is None:
            return None
        rows = self._connection.execute(
            select(_FILLS)
            .where(_FILLS.c.bot_id == self.bot_id)
            .order_by(_FILLS.c.id)
            .offset(int(fills))
        ).all()
        self._connection.commit()
        return Checkpoint(
            tuple(self.load_positions()), self.load_balances(), int(fills),
            tuple((_fill(r), r.strategy) for r in rows),
        )  # fmt: skip

    def record_equity(self, ts: int, equity: Decimal, currency: str) -> None:
        """Store one equity point."""
        self._connection.execute(
            insert(EquitySnapshotRow.__table__),
            {
                "bot_id": self.bot_id,
                "session_id": self.session_id,
                "at": utc_ms(ts),
                "equity": equity,
                "currency": currency,
            },
        )
        self._connection.commit()

    def record_risk_event(self, event: RiskEvent) -> None:
        """Store one risk event (a denial, breaker ones included, or a liquidation)."""
        values = {
            "bot_id": self.bot_id,
            "session_id": self.session_id,
            "at": utc_ms(event.ts),
            "kind": event.kind,
            "strategy": event.strategy_id,
            "symbol": event.symbol,
            "action": event.action,
            "code": event.code,
            "reason": event.reason,
        }
        try:
            self._connection.execute(insert(RiskEventRow.__table__), values)
            if self._audit_key is not None:
                detail = {k: v for k, v in values.items() if k not in ("bot_id", "at")}
                # A breaker acts for the account, not for one strategy: the engine is the actor.
                actor = f"strategy:{event.strategy_id}" if event.strategy_id else "engine"
                append_operator_action(
                    self._connection, self._audit_key, actor=actor,
                    channel="engine", action=f"risk.{event.kind}", detail=detail,
                    bot_id=self.bot_id, at=values["at"],
                )  # fmt: skip
        except BaseException:
            self._connection.rollback()
            raise
        self._connection.commit()

    # -- reads ------------------------------------------------------------------------------------

    def load_orders(self, *, open_only: bool = False) -> list[Order]:
        """The bot's orders with their fills, oldest first (only working ones if asked)."""
        query = select(_ORDERS).where(_ORDERS.c.bot_id == self.bot_id).order_by(_ORDERS.c.id)
        if open_only:
            query = query.where(_ORDERS.c.status.not_in([s.value for s in TERMINAL]))
        rows = self._connection.execute(query).all()
        fills: dict[int, list[Fill]] = {}
        if rows:
            fill_query = (
                select(_FILLS)
                .where(_FILLS.c.order_id.in_([r.id for r in rows]))
                .order_by(_FILLS.c.id)
            )
            for f in self._connection.execute(fill_query):
                fills.setdefault(f.order_id, []).append(_fill(f))
        self._connection.commit()
        orders = []
        for row in rows:
            order = Order(
                client_id=row.client_id,
                symbol=row.symbol,
                side=Side(row.side),
                type=OrderType(row.type),
                # A quote-quantity order keeps quantity 0 until its fill fixes it.
                quantity=row.quantity,
                price=row.price,
                trigger_price=row.trigger_price,
                time_in_force=TimeInForce(row.time_in_force),
                post_only=row.post_only,
                reduce_only=row.reduce_only,
                quote_quantity=row.quote_quantity if row.quantity == 0 else None,
                strategy_id=row.strategy,
                tag=row.tag,
                created_ts=to_ms(row.created_at),
            )
            if row.quote_quantity is not None and row.quantity != 0:
                order.quote_quantity = row.quote_quantity
            order.status = OrderStatus(row.status)
            order.filled_quantity = row.filled_quantity
            order.average_price = row.average_price
            order.venue_order_id = row.venue_order_id
            order.reject_reason = row.reject_reason
            order.fills = fills.get(row.id, [])
            self._order_ids[row.client_id] = row.id
            orders.append(order)
        return orders

    def load_transitions(self, client_id: str) -> list[OrderTransition]:
        """Every status change of one order, oldest first."""
        order_id = self._order_id(client_id)
        rows = self._connection.execute(
            select(_TRANSITIONS)
            .where(_TRANSITIONS.c.order_id == order_id)
            .order_by(_TRANSITIONS.c.id)
        ).all()
        self._connection.commit()
        return [
            OrderTransition(
                client_id, OrderStatus(r.status), to_ms(r.at), TransitionSource(r.source), r.detail
            )
            for r in rows
        ]

    def load_positions(self) -> list[PositionState]:
        """Every stored position of the bot."""
        rows = self._connection.execute(
            select(_POSITIONS).where(_POSITIONS.c.bot_id == self.bot_id).order_by(_POSITIONS.c.id)
        ).all()
        self._connection.commit()
        return [
            PositionState(
                strategy_id=r.strategy,
                symbol=r.symbol,
                quantity=r.quantity,
                average_price=r.average_price,
                entry_ts=to_ms(r.entry_at) if r.entry_at is not None else 0,
                realized_pnl=r.realized_pnl,
                open_fees=r.open_fees,
                open_funding=r.open_funding,
                dust=r.dust or ZERO,
            )
            for r in rows
        ]

    def load_balances(self) -> dict[str, Decimal]:
        """The stored balance of every asset of the bot."""
        rows = self._connection.execute(
            select(_BALANCES.c.asset, _BALANCES.c.total).where(_BALANCES.c.bot_id == self.bot_id)
        ).all()
        self._connection.commit()
        return {r.asset: r.total for r in rows}

    def load_fills(self) -> list[tuple[Fill, str]]:
        """Every fill of the bot with its strategy, in time order."""
        rows = self._connection.execute(
            select(_FILLS).where(_FILLS.c.bot_id == self.bot_id).order_by(_FILLS.c.at, _FILLS.c.id)
        ).all()
        self._connection.commit()
        return [(_fill(r), r.strategy) for r in rows]

    def load_funding(self) -> list[tuple[str, int, Decimal, str]]:
        """Every funding payment of the bot: ``(symbol, ts, amount, currency)``, in time order."""
        t = FundingRow.__table__
        rows = self._connection.execute(
            select(t.c.symbol, t.c.at, t.c.amount, t.c.currency)
            .where(t.c.bot_id == self.bot_id)
            .order_by(t.c.at, t.c.id)
        ).all()
        self._connection.commit()
        return [(r.symbol, to_ms(r.at), r.amount, r.currency) for r in rows]


def _fill(row: Any) -> Fill:
    return Fill(
        client_id=row.client_id,
        symbol=row.symbol,
        side=Side(row.side),
        ts=to_ms(row.at),
        price=row.price,
        quantity=row.quantity,
        fee=row.fee,
        fee_currency=row.fee_currency,
        liquidity=Liquidity(row.liquidity),
        trade_id=row.trade_id or "",
    )
