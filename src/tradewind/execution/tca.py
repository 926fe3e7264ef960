"""Transaction-cost analysis: what executing an order or a parent cost, against what benchmark.

Definitions (``side`` is +1 for a buy, -1 for a sell; prices in quote units; bps = 1e-4):

- **implementation shortfall** of the filled part: ``side x (average fill - arrival mid) /
  arrival mid x 1e4``;
- **fees** in bps of the filled notional (a fee paid in the base asset is valued at its fill
  price; a rebate is negative);
- **opportunity cost** of the unfilled remainder: ``side x (final mid - arrival mid) / arrival mid
  x 1e4``, weighted by the unfilled share of the quantity;
- **total cost** per unit of the intended quantity: ``(shortfall + fees) x fill rate +
  opportunity``, in bps of the arrival mid;
- **slippage** of the average fill against the mid at each fill's time (quantity-weighted), the
  market's VWAP over the execution interval and its TWAP (the mean mid over the interval);
- **market move**: ``side x (final mid - arrival mid) / arrival mid x 1e4`` (what waiting cost or
  saved); fill rate; time to fill (first child to last fill); the maker share of the fills.

Analytics are floats (exact money stays in the orders and fills). :class:`TcaBook` aggregates by
strategy, venue and algorithm, and raises a :class:`SlippageAlert` when an execution's slippage
against mid lies beyond 3 standard deviations of the history of its own algorithm (after
``ALERT_MIN_HISTORY`` executions).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from decimal import Decimal

import numpy as np

from tradewind.core.instrument import Instrument
from tradewind.core.orders import Fill, Liquidity, Order
from tradewind.core.records import Side
from tradewind.execution.parent import Parent
from tradewind.series.bars import BarSeries

ALERT_MIN_HISTORY = 20
"""How many executions of an algorithm are needed before its slippage can be called abnormal."""
ALERT_SIGMAS = 3.0


@dataclass(frozen=True, slots=True)
class MarketTape:
    """The market during an execution, as float arrays sorted by time: mids at ``mid_ts``, and the
    public trades (price, base volume) at ``trade_ts`` (empty when only candles are known: then a
    candle's typical price and volume stand in for its trades)."""

    mid_ts: np.ndarray
    mid: np.ndarray
    trade_ts: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    price: np.ndarray = field(default_factory=lambda: np.empty(0))
    volume: np.ndarray = field(default_factory=lambda: np.empty(0))

    def mid_at(self, ts: int) -> float:
        """The latest mid at or before ``ts`` (the first one before the tape starts)."""
        i = int(np.searchsorted(self.mid_ts, ts, side="right")) - 1
        return float(self.mid[max(i, 0)])

    def vwap(self, start: int, end: int) -> float:
        """The market's VWAP of the trades in ``[start, end]`` (NaN when none traded)."""
        lo, hi = np.searchsorted(self.trade_ts, [start, end + 1])
        v = self.volume[lo:hi]
        total = float(v.sum())
        return float((self.price[lo:hi] * v).sum() / total) if total > 0 else math.nan

    def twap(self, start: int, end: int) -> float:
        """The mean mid over ``[start, end]`` (the mid at ``start`` when none changed inside)."""
        lo, hi = np.searchsorted(self.mid_ts, [start, end + 1])
        inside = self.mid[lo:hi]
        return float(inside.mean()) if len(inside) else self.mid_at(start)


@dataclass(frozen=True, slots=True)
class TcaRecord:
    """The cost of one order or parent (see the module's definitions)."""

    execution_id: str
    kind: str
    """``parent`` or ``order``."""
    strategy_id: str
    venue: str
    algo: str
    symbol: str
    side: str
    quantity: float
    filled: float
    fill_rate: float
    average_price: float
    arrival_mid: float
    final_mid: float
    shortfall_bps: float
    fee_bps: float
    opportunity_bps: float
    total_cost_bps: float
    slippage_mid_bps: float
    slippage_vwap_bps: float
    slippage_twap_bps: float
    market_move_bps: float
    maker_share: float
    fees_quote: float
    time_to_fill_ms: int
    start_ts: int
    end_ts: int

    def as_dict(self) -> dict[str, object]:
        """The record as plain JSON values (NaN, where a benchmark is missing, as None)."""
        return {k: (None if isinstance(v, float) and math.isnan(v) else v)
                for k, v in asdict(self).items()}  # fmt: skip


@dataclass(frozen=True, slots=True)
class SlippageAlert:
    """An execution whose slippage against mid is beyond 3 standard deviations of its algorithm's
    history."""

    execution_id: str
    algo: str
    slippage_bps: float
    mean_bps: float
    std_bps: float
    ts: int


def _bps(side: float, price: float, reference: float) -> float:
    if not reference or math.isnan(reference) or math.isnan(price):
        return math.nan
    return side * (price - reference) / reference * 1e4


def fee_in_quote(fill: Fill, instrument: Instrument) -> Decimal:
    """A fill's fee in the quote currency (a base-asset fee valued at the fill price)."""
    if fill.fee_currency == instrument.base:
        return fill.fee * fill.price
    return fill.fee


def measure(
    *,
    execution_id: str,
    kind: str,
    strategy_id: str,
    venue: str,
    algo: str,
    instrument: Instrument,
    side: Side,
    quantity: Decimal,
    fills: Iterable[Fill],
    arrival_mid: float,
    start_ts: int,
    end_ts: int,
    tape: MarketTape,
    final_ts: int | None = None,
) -> TcaRecord:
    """Measure one execution: ``fills`` of ``quantity`` wanted from ``start_ts`` (arrival at
    ``arrival_mid``) to ``end_ts``; the final mid, the interval's VWAP and TWAP come from
    ``tape``. The final mid (opportunity cost, market move) is read at ``end_ts``, or at
    ``final_ts`` when that is later (comparing executions of different lengths at one horizon)."""
    fills = list(fills)
    s = 1.0 if side is Side.BUY else -1.0
    filled = float(sum((f.quantity for f in fills), Decimal(0)))
    notional = float(sum((f.notional for f in fills), Decimal(0)))
    fees = float(sum((fee_in_quote(f, instrument) for f in fills), Decimal(0)))
    qty = float(quantity)
    rate = filled / qty if qty > 0 else 0.0
    final_mid = tape.mid_at(max(end_ts, final_ts or end_ts))
    if filled > 0:
        avg = notional / filled
        shortfall = _bps(s, avg, arrival_mid)
        fee_bps = fees / notional * 1e4
        mid_at_fills = sum(tape.mid_at(f.ts) * float(f.quantity) for f in fills) / filled
        slip_mid = _bps(s, avg, mid_at_fills)
        slip_vwap = _bps(s, avg, tape.vwap(start_ts, end_ts))
        slip_twap = _bps(s, avg, tape.twap(start_ts, end_ts))
        maker = float(sum((f.quantity for f in fills if f.liquidity is Liquidity.MAKER),
                          Decimal(0))) / filled  # fmt: skip
        time_to_fill = max(f.ts for f in fills) - start_ts
    else:
        avg = shortfall = slip_mid = slip_vwap = slip_twap = math.nan
        fee_bps = maker = 0.0
        time_to_fill = -1
    move = _bps(s, final_mid, arrival_mid)
    opportunity = move * (1.0 - rate) if rate < 1.0 else 0.0
    executed = (shortfall + fee_bps) * rate if filled > 0 else 0.0
    return TcaRecord(
        execution_id=execution_id, kind=kind, strategy_id=strategy_id, venue=venue, algo=algo,
        symbol=instrument.symbol, side=side.value, quantity=qty, filled=filled, fill_rate=rate,
        average_price=avg, arrival_mid=arrival_mid, final_mid=final_mid, shortfall_bps=shortfall,
        fee_bps=fee_bps, opportunity_bps=opportunity, total_cost_bps=executed + opportunity,
        slippage_mid_bps=slip_mid, slippage_vwap_bps=slip_vwap, slippage_twap_bps=slip_twap,
        market_move_bps=move, maker_share=maker, fees_quote=fees, time_to_fill_ms=time_to_fill,
        start_ts=start_ts, end_ts=end_ts,
    )  # fmt: skip


_AGG_FIELDS = (
    "shortfall_bps",
    "fee_bps",
    "opportunity_bps",
    "total_cost_bps",
    "slippage_mid_bps",
    "slippage_vwap_bps",
    "slippage_twap_bps",
    "market_move_bps",
    "fill_rate",
    "maker_share",
)


class TcaBook:
    """Every execution's record, the alerts, and aggregates by strategy, venue and algorithm.

    ``on_alert`` is called with each :class:`SlippageAlert` (the bus: ``tca.alert``).
    """

    def __init__(self, on_alert: Callable[[SlippageAlert], None] | None = None) -> None:
        self.records: list[TcaRecord] = []
        self.alerts: list[SlippageAlert] = []
        self.on_alert = on_alert
        self._history: dict[str, list[float]] = {}

    def add(self, record: TcaRecord) -> SlippageAlert | None:
        """Keep ``record``; return (and announce) an alert when its slippage is abnormal."""
        self.records.append(record)
        value = record.slippage_mid_bps
        if math.isnan(value):
            return None
        history = self._history.setdefault(record.algo, [])
        alert = None
        if len(history) >= ALERT_MIN_HISTORY:
            mean = float(np.mean(history))
            std = float(np.std(history))
            if std > 0 and abs(value - mean) > ALERT_SIGMAS * std:
                alert = SlippageAlert(record.execution_id, record.algo, value, mean, std,
                                      record.end_ts)  # fmt: skip
                self.alerts.append(alert)
                if self.on_alert is not None:
                    self.on_alert(alert)
        history.append(value)
        return alert

    def learn(self, records: Iterable[TcaRecord]) -> None:
        """Take earlier executions' slippage into each algorithm's history (a restarted session
        judges its first executions against the bot's stored ones), without keeping the
        records or raising alerts for them."""
        for record in records:
            value = record.slippage_mid_bps
            if not math.isnan(value):
                self._history.setdefault(record.algo, []).append(value)

    def aggregate(self, by: str) -> list[dict[str, object]]:
        """Quantity-weighted means of the cost fields per value of ``by`` (``strategy_id``,
        ``venue``, ``algo``, or ``kind``), with the count and the filled quantity."""
        groups: dict[str, list[TcaRecord]] = {}
        for record in self.records:
            groups.setdefault(str(getattr(record, by)), []).append(record)
        rows: list[dict[str, object]] = []
        for key in sorted(groups):
            records = groups[key]
            row: dict[str, object] = {by: key, "count": len(records),
                                      "filled": sum(r.filled for r in records)}  # fmt: skip
            for name in _AGG_FIELDS:
                pairs = [(getattr(r, name), r.quantity) for r in records]
                pairs = [(v, w) for v, w in pairs if not math.isnan(v) and w > 0]
                weight = sum(w for _, w in pairs)
                row[name] = sum(v * w for v, w in pairs) / weight if weight else None
            rows.append(row)
        return rows

    def as_dict(self) -> dict[str, object]:
        """Everything as JSON values: records, alerts, aggregates by strategy, venue, algo."""
        return {
            "records": [r.as_dict() for r in self.records],
            "alerts": [asdict(a) for a in self.alerts],
            "by_strategy": self.aggregate("strategy_id"),
            "by_venue": self.aggregate("venue"),
            "by_algo": self.aggregate("algo"),
        }


def candle_tape(series: BarSeries) -> MarketTape:
    """The market of a candle series as TCA reads it: each bar's close is the mid from its close
    time on, and its typical price with its volume stands in for its trades."""
    close_time = np.asarray(series.close_time, dtype=np.int64)
    typical = (series.high + series.low + series.close) / 3.0
    return MarketTape(
        close_time, np.asarray(series.close, dtype=np.float64), close_time, typical,
        np.asarray(series.volume, dtype=np.float64),
    )  # fmt: skip


def order_tca(
    order: Order, tape: MarketTape, instrument: Instrument, algo: str | None = None
) -> TcaRecord:
    """The cost of one order with fills: the arrival mid is the close of the last bar complete
    when the order was made, the final mid the close at its last fill; the venue is the
    instrument's exchange (``sim`` when none). ``algo`` labels it (its order type when None)."""
    return measure(
        execution_id=order.client_id,
        kind="order",
        strategy_id=order.strategy_id,
        venue=instrument.exchange or "sim",
        algo=algo or order.type.value,
        instrument=instrument,
        side=order.side,
        quantity=order.quantity or order.filled_quantity,
        fills=order.fills,
        arrival_mid=tape.mid_at(order.created_ts),
        start_ts=order.created_ts,
        end_ts=max(f.ts for f in order.fills),
        tape=tape,
    )


def parent_tca(
    parent: Parent, children: list[Order], tape: MarketTape, instrument: Instrument
) -> TcaRecord:
    """The cost of one parent order: its children's fills against the mid it saw at its
    arrival, over its life (creation to its last fill or its end, whichever is later); an
    unfilled remainder is valued at the mid when it ended (its opportunity cost)."""
    fills = [f for child in children for f in child.fills]
    last = max((f.ts for f in fills), default=parent.created_ts)
    end = max(last, parent.ended_ts or last)
    return measure(
        execution_id=parent.parent_id,
        kind="parent",
        strategy_id=parent.strategy_id,
        venue=instrument.exchange or "sim",
        algo=parent.spec.algo.value,
        instrument=instrument,
        side=parent.side,
        quantity=parent.quantity,
        fills=fills,
        arrival_mid=float(parent.arrival_mid),
        start_ts=parent.created_ts,
        end_ts=end,
        tape=tape,
    )
