"""Portfolio limits: caps a new entry must fit under, checked against the open positions.

Each limit either denies the entry (counts, liquidity, liquidation distance) or reduces its size to
the largest that fits (exposure, leverage, heat, and correlation when configured to reduce). The
answer carries a machine-readable code (``limit.asset_exposure``...) and a sentence for people.

Definitions (``E`` equity; positions valued at their mark price):

- asset exposure: ``sum |qty| x mark`` of the positions in one base asset, over ``E``
- total exposure: ``|sum qty x mark|`` over all positions (net direction), over ``E``
- leverage: ``sum |qty| x mark`` over all positions (gross), over ``E``
- heat: the open risk to the stops, ``sum |qty| x max(0, (mark - stop) x direction)`` (a position
  without a stop counts its whole value), over ``E``
- correlation: the Pearson correlation of bar returns over a rolling window between the new
  symbol and each symbol already held
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from tradewind.core.errors import UserError
from tradewind.core.money import ZERO, to_decimal


@dataclass(frozen=True, slots=True)
class OpenPosition:
    """A position as the limits see it. ``quantity`` is signed; ``stop`` is its protective stop."""

    strategy_id: str
    symbol: str
    base: str
    quantity: Decimal
    mark: Decimal
    stop: Decimal | None = None

    @property
    def value(self) -> Decimal:
        """Gross value ``|qty| x mark``."""
        return abs(self.quantity) * self.mark

    @property
    def risk(self) -> Decimal:
        """Loss to the stop at the mark (the whole value without a stop)."""
        if self.stop is None:
            return self.value
        direction = 1 if self.quantity > 0 else -1
        return abs(self.quantity) * max(ZERO, (self.mark - self.stop) * direction)


@dataclass(frozen=True, slots=True, kw_only=True)
class EntryRequest:
    """A sized entry the limits check. ``notional`` is its value at ``price`` in quote."""

    strategy_id: str
    symbol: str
    base: str
    is_long: bool
    notional: Decimal
    price: Decimal
    stop: Decimal | None = None
    correlations: dict[str, float] = field(default_factory=dict)
    quote_volume_24h: float | None = None
    liquidation_price: Decimal | None = None

    @property
    def risk_per_value(self) -> Decimal:
        """Loss to the stop per unit of value (1 without a stop)."""
        if self.stop is None or self.price <= 0:
            return Decimal(1)
        return abs(self.price - self.stop) / self.price


@dataclass(frozen=True, slots=True)
class LimitResult:
    """The notional a request may have (0: denied), and the code and reason of the binding limit
    (empty when the request fits as it is)."""

    notional: Decimal
    code: str = ""
    reason: str = ""

    @property
    def denied(self) -> bool:
        """True when nothing may be opened."""
        return self.notional <= 0


@dataclass(frozen=True, slots=True, kw_only=True)
class PortfolioLimits:
    """Caps on positions, exposure, leverage, heat, correlation, liquidity and liquidation
    distance. Each is off when ``None``; fractions are of equity (1.0 = 100%)."""

    max_positions: int | None = None
    max_positions_per_strategy: int | None = None
    max_positions_per_symbol: int | None = None
    max_asset_exposure: float | None = None
    max_total_exposure: float | None = None
    max_leverage: float | None = None
    max_heat: float | None = None
    max_correlation: float | None = None
    correlation_window: int = 100
    correlation_action: str = "deny"
    correlation_scale: float = 0.5
    min_quote_volume_24h: float | None = None
    min_liquidation_distance: float | None = None

    def __post_init__(self) -> None:
        if self.correlation_action not in ("deny", "reduce"):
            raise UserError(
                f"correlation_action must be 'deny' or 'reduce', got {self.correlation_action!r}"
            )
        if not 0 < self.correlation_scale <= 1:
            raise UserError("correlation_scale must be in (0, 1]")
        if self.correlation_window < 3:
            raise UserError("correlation_window must be at least 3 bars")
        for name in ("max_asset_exposure", "max_total_exposure", "max_leverage", "max_heat"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise UserError(f"{name} must be positive, got {value}")

    def check(
        self, request: EntryRequest, positions: list[OpenPosition], equity: Decimal
    ) -> LimitResult:
        """The largest notional of ``request`` that fits every limit, with the binding limit."""
        denial = self._denial(request, positions)
        if denial is not None:
            return denial
        allowed = request.notional
        code = reason = ""

        def cap(limit: Decimal, name: str, text: str) -> None:
            nonlocal allowed, code, reason
            limit = max(limit, ZERO)
            if limit < allowed:
                allowed, code, reason = limit, name, text

        if self.max_asset_exposure is not None:
            held = sum((p.value for p in positions if p.base == request.base), ZERO)
            room = equity * to_decimal(self.max_asset_exposure) - held
            cap(
                room,
                "limit.asset_exposure",
                f"{request.base} exposure cap {self.max_asset_exposure:.0%} of equity",
            )
        if self.max_total_exposure is not None:
            net = sum((p.quantity * p.mark for p in positions), ZERO)
            signed_room = equity * to_decimal(self.max_total_exposure) - (
                net if request.is_long else -net
            )
            cap(
                signed_room,
                "limit.total_exposure",
                f"net exposure cap {self.max_total_exposure:.0%} of equity",
            )
        if self.max_leverage is not None:
            gross = sum((p.value for p in positions), ZERO)
            cap(
                equity * to_decimal(self.max_leverage) - gross,
                "limit.leverage",
                f"leverage cap {self.max_leverage}x",
            )
        if self.max_heat is not None:
            heat = sum((p.risk for p in positions), ZERO)
            room = equity * to_decimal(self.max_heat) - heat
            cap(
                room / request.risk_per_value,
                "limit.heat",
                f"portfolio heat cap {self.max_heat:.1%} of equity",
            )
        if self.max_correlation is not None and self.correlation_action == "reduce":
            worst = self._most_correlated(request, positions)
            if worst is not None:
                cap(
                    request.notional * to_decimal(self.correlation_scale),
                    "limit.correlation",
                    f"correlation {worst[1]:.2f} with {worst[0]} above {self.max_correlation}",
                )
        if allowed <= 0:
            return LimitResult(ZERO, code, f"no room left under the {reason}")
        return LimitResult(allowed, code, reason)

    def _denial(self, request: EntryRequest, positions: list[OpenPosition]) -> LimitResult | None:
        held = [p for p in positions if p.quantity != 0]
        if self.max_positions is not None and len(held) >= self.max_positions:
            return LimitResult(
                ZERO,
                "limit.max_positions",
                f"{len(held)} positions open (max {self.max_positions})",
            )
        mine = [p for p in held if p.strategy_id == request.strategy_id]
        if (
            self.max_positions_per_strategy is not None
            and len(mine) >= self.max_positions_per_strategy
        ):
            return LimitResult(
                ZERO,
                "limit.max_positions_strategy",
                f"{len(mine)} positions open for {request.strategy_id} (max {self.max_positions_per_strategy})",
            )
        same = [p for p in held if p.symbol == request.symbol]
        if self.max_positions_per_symbol is not None and len(same) >= self.max_positions_per_symbol:
            return LimitResult(
                ZERO,
                "limit.max_positions_symbol",
                f"{len(same)} positions open in {request.symbol} (max {self.max_positions_per_symbol})",
            )
        if self.min_quote_volume_24h is not None and (
            request.quote_volume_24h is None or request.quote_volume_24h < self.min_quote_volume_24h
        ):
            return LimitResult(
                ZERO,
                "limit.liquidity",
                f"24h quote volume {request.quote_volume_24h} below {self.min_quote_volume_24h}",
            )
        if self.max_correlation is not None and self.correlation_action == "deny":
            worst = self._most_correlated(request, positions)
            if worst is not None:
                return LimitResult(
                    ZERO,
                    "limit.correlation",
                    f"correlation {worst[1]:.2f} with {worst[0]} above {self.max_correlation}",
                )
        if request.liquidation_price is not None:
            liq = request.liquidation_price
            # A stop the liquidation would beat is no stop: refused. Without a stop there is
            # nothing to check (no rule is on unless the user names it).
            if request.stop is not None and (
                request.stop <= liq if request.is_long else request.stop >= liq
            ):
                return LimitResult(
                    ZERO,
                    "limit.liquidation",
                    f"the stop {request.stop} is beyond the liquidation price {liq}",
                )
            distance = abs(request.price - liq) / request.price
            if self.min_liquidation_distance is not None and distance < to_decimal(
                self.min_liquidation_distance
            ):
                return LimitResult(
                    ZERO,
                    "limit.liquidation",
                    f"liquidation {distance:.2%} away, below the minimum {self.min_liquidation_distance:.2%}",
                )
        return None

    def _most_correlated(
        self, request: EntryRequest, positions: list[OpenPosition]
    ) -> tuple[str, float] | None:
        assert self.max_correlation is not None
        worst: tuple[str, float] | None = None
        for p in positions:
            if p.quantity == 0 or p.symbol == request.symbol:
                continue
            corr = request.correlations.get(p.symbol)
            # Same direction and correlated adds risk; an opposite position hedges it.
            same_way = (p.quantity > 0) == request.is_long
            over = corr is not None and same_way and corr >= self.max_correlation
            if over and (worst is None or corr > worst[1]):
                worst = (p.symbol, corr)
        return worst
