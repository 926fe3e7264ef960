"""Risk configuration: one frozen section of the app config (``[risk]`` in the TOML file), with
per-strategy overrides, and the function that builds the risk engine from it.

Every rule is off by default: no protective exit, no circuit breaker, no portfolio limit, and
sizing by the backtest's own stake. A rule is in force only when it is named (a flag such as
``--stop 0.02``, a key in the file) or comes from a preset chosen by name (``preset =
"conservative"``, ``--risk-preset conservative``; :data:`RISK_PRESETS`). So ``--stop 0.02`` is a
2% stop and nothing else, and :func:`rules_in_force` lists exactly what a run enforces.

Example (TOML)::

    [risk.sizing]
    model = "fixed_risk"
    risk = 0.01

    [risk.exits]
    stop_pct = 0.02
    trailing_pct = 0.01
    scale_out = [[0.02, 0.34], [0.04, 0.33]]

    [risk.breakers]
    daily_loss = 0.02

    [risk.strategies."sma_cross".sizing]
    model = "fixed_fraction"
    fraction = 0.1
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from tradewind.core.errors import ConfigError, UserError
from tradewind.core.instrument import Instrument
from tradewind.risk.breakers import BreakerRules
from tradewind.risk.engine import MarginRules, RiskEngine, RiskProfile
from tradewind.risk.exits import ExitRules, ProtectionBook, Pyramid, ScaleOut
from tradewind.risk.limits import PortfolioLimits
from tradewind.risk.sizing import (
    ConfidenceScaled,
    FixedFraction,
    FixedQuote,
    FixedRisk,
    Kelly,
    OptimalF,
    RiskParity,
    SizingModel,
    StakeSizing,
    VolatilityTarget,
)
from tradewind.risk.stake import Stake
from tradewind.series.bars import BarSeries

_FROZEN = ConfigDict(frozen=True, extra="forbid")

SizingName = Literal[
    "stake",
    "fixed_quote",
    "fixed_fraction",
    "fixed_risk",
    "kelly",
    "optimal_f",
    "volatility",
    "risk_parity",
    "confidence",
]


class SizingConfig(BaseModel):
    """Which sizing model and its parameters (only the chosen model's fields are read)."""

    model_config = _FROZEN

    model: SizingName = "stake"
    """``stake`` (the default) sizes as the backtest's ``stake`` does; the others are rules."""
    stake: str | None = None
    """For ``stake``: ``all``, ``25%`` or an amount; by default the backtest's ``stake``."""
    amount: Decimal | None = None
    fraction: float = 0.02
    risk: float = 0.01
    kelly_fraction: float = 0.5
    cap: float = 0.25
    min_trades: int = 30
    window: int = 100
    fallback_fraction: float = 0.02
    target: float = 0.01
    budget: float = 1.0
    floor: float = 0.01

    def build(self, default_stake: Stake) -> SizingModel:
        """The sizing model object."""
        fallback = FixedFraction(self.fallback_fraction)
        match self.model:
            case "stake":
                return StakeSizing(Stake.parse(self.stake) if self.stake else default_stake)
            case "fixed_quote":
                if self.amount is None:
                    raise UserError("sizing model 'fixed_quote' needs 'amount'")
                return FixedQuote(self.amount)
            case "fixed_fraction":
                return FixedFraction(self.fraction)
            case "fixed_risk":
                return FixedRisk(self.risk)
            case "kelly":
                return Kelly(self.kelly_fraction, self.cap, self.min_trades, self.window, fallback)
            case "optimal_f":
                return OptimalF(self.min_trades, self.window, self.cap, fallback=fallback)
            case "volatility":
                return VolatilityTarget(self.target, self.cap)
            case "risk_parity":
                return RiskParity(self.budget)
            case "confidence":
                return ConfidenceScaled(self.floor, self.cap)
        raise UserError(f"unknown sizing model {self.model!r}")  # pragma: no cover - Literal


class ExitConfig(BaseModel):
    """Protective exits (see :class:`tradewind.risk.exits.ExitRules` for each field)."""

    model_config = _FROZEN

    stop_pct: float | None = None
    stop_atr: float | None = None
    atr_period: int = 14
    take_profit_r: float | None = None
    take_profit_pct: float | None = None
    trailing_pct: float | None = None
    trailing_atr: float | None = None
    trailing_activation: float | None = None
    breakeven_trigger: float | None = None
    breakeven_offset: float = 0.0
    max_bars: int | None = None
    max_hours: float | None = None
    scale_out: list[tuple[float, float]] = []
    pyramid_step: float | None = None
    pyramid_max_adds: int = 2
    pyramid_decay: float = 0.5
    adverse_first: bool = True

    def build(self, timeframe_ms: int) -> ExitRules:
        """The exit rules; ``max_hours`` becomes a bar count on ``timeframe_ms`` bars."""
        max_bars = self.max_bars
        if self.max_hours is not None:
            by_hours = max(1, math.ceil(self.max_hours * 3_600_000 / timeframe_ms))
            max_bars = by_hours if max_bars is None else min(max_bars, by_hours)
        return ExitRules(
            stop_pct=self.stop_pct,
            stop_atr=self.stop_atr,
            atr_period=self.atr_period,
            take_profit_r=self.take_profit_r,
            take_profit_pct=self.take_profit_pct,
            trailing_pct=self.trailing_pct,
            trailing_atr=self.trailing_atr,
            trailing_activation=self.trailing_activation,
            breakeven_trigger=self.breakeven_trigger,
            breakeven_offset=self.breakeven_offset,
            max_bars=max_bars,
            scale_out=tuple(ScaleOut(g, f) for g, f in self.scale_out),
            pyramid=None
            if self.pyramid_step is None
            else Pyramid(self.pyramid_step, self.pyramid_max_adds, self.pyramid_decay),
            adverse_first=self.adverse_first,
        )


class LimitsConfig(BaseModel):
    """Portfolio limits (see :class:`tradewind.risk.limits.PortfolioLimits`)."""

    model_config = _FROZEN

    max_positions: int | None = None
    max_positions_per_strategy: int | None = None
    max_positions_per_symbol: int | None = None
    max_asset_exposure: float | None = None
    max_total_exposure: float | None = None
    max_leverage: float | None = None
    max_heat: float | None = None
    max_correlation: float | None = None
    correlation_window: int = 100
    correlation_action: Literal["deny", "reduce"] = "deny"
    correlation_scale: float = 0.5
    min_quote_volume_24h: float | None = None
    min_liquidation_distance: float | None = None
    leverage: float = 1.0

    def build(self) -> PortfolioLimits:
        """The limits object."""
        fields = self.model_dump(exclude={"leverage"})
        return PortfolioLimits(**fields)


class BreakerConfig(BaseModel):
    """Circuit breakers (see :class:`tradewind.risk.breakers.BreakerRules`)."""

    model_config = _FROZEN

    daily_loss: float | None = None
    weekly_loss: float | None = None
    monthly_loss: float | None = None
    max_drawdown: float | None = None
    kill_on_drawdown: bool = False
    crash_drop: float | None = None
    crash_window: int = 60
    market_crash_drop: float | None = None
    flash_zscore: float | None = None
    flash_window: int = 60
    cooldown_bars: int = 60
    max_consecutive_losses: int | None = None
    loss_cooldown_bars: int = 60
    stale_after_seconds: float | None = None
    max_error_rate: float | None = None
    error_window: int = 20

    def build(self) -> BreakerRules:
        """The breaker rules."""
        fields = self.model_dump(exclude={"stale_after_seconds"})
        stale = self.stale_after_seconds
        return BreakerRules(**fields, stale_after_ms=None if stale is None else int(stale * 1000))


class StrategyRiskConfig(BaseModel):
    """Overrides for one strategy; a section left out uses the global one."""

    model_config = _FROZEN

    sizing: SizingConfig | None = None
    exits: ExitConfig | None = None
    limits: LimitsConfig | None = None


class RiskConfig(BaseModel):
    """The ``[risk]`` section: sizing, exits, limits and breakers, with per-strategy overrides
    keyed by strategy id or name."""

    model_config = _FROZEN

    preset: str | None = None
    """A named set of rules (:data:`RISK_PRESETS`) under the ones given beside it."""
    sizing: SizingConfig = SizingConfig()
    exits: ExitConfig = ExitConfig()
    limits: LimitsConfig = LimitsConfig()
    breakers: BreakerConfig = BreakerConfig()
    cash_buffer: float = 0.01
    """Share of free cash a risk-sized spot buy leaves unspent (fees and rounding room)."""
    strategies: dict[str, StrategyRiskConfig] = {}

    @model_validator(mode="before")
    @classmethod
    def _expand_preset(cls, data: Any) -> Any:
        if not isinstance(data, Mapping) or data.get("preset") is None:
            return data
        name = data["preset"]
        if name not in RISK_PRESETS:
            raise ValueError(
                f"unknown risk preset {name!r}; the presets are {', '.join(sorted(RISK_PRESETS))}"
            )
        return _deep_merge(RISK_PRESETS[name], data)


RISK_PRESETS: dict[str, dict[str, Any]] = {
    "conservative": {
        "sizing": {"model": "fixed_risk", "risk": 0.01},
        "exits": {"stop_pct": 0.02},
        "breakers": {"daily_loss": 0.02, "max_drawdown": 0.20},
    },
}
"""Named rule sets, chosen only by name (``--risk-preset``, ``[risk] preset``). ``conservative``
risks 1% of equity per trade to a 2% stop, halts new entries for the day after a 2% daily loss
and for good after a 20% drawdown."""


def _deep_merge(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


_EXIT_PARAMETERS = ("atr_period", "breakeven_offset", "pyramid_max_adds", "pyramid_decay",
                    "adverse_first")  # fmt: skip
"""Exit settings that only tune a rule (they are no rule of their own)."""
_BREAKER_PARAMETERS = ("crash_window", "flash_window", "cooldown_bars", "loss_cooldown_bars",
                       "error_window")  # fmt: skip
_LIMIT_PARAMETERS = ("correlation_window", "correlation_action", "correlation_scale", "leverage")


def rules_in_force(config: RiskConfig | None) -> list[str]:
    """The rules ``config`` enforces, one ``section.key=value`` each (empty: no rule at all).

    A rule is a non-default sizing model, an exit, breaker or limit that is set (not ``None``,
    ``False`` or empty), or a per-strategy override of one of them. Settings that only tune a
    rule (an ATR period, a cooldown) are shown beside their rule's line only when it is on.
    """
    if config is None:
        return []
    out = _section_rules("", config.sizing, config.exits, config.limits, config.breakers)
    for name, override in config.strategies.items():
        out += _section_rules(
            f"strategies.{name}.", override.sizing, override.exits, override.limits, None
        )
    return out


def _section_rules(
    prefix: str,
    sizing: SizingConfig | None,
    exits: ExitConfig | None,
    limits: LimitsConfig | None,
    breakers: BreakerConfig | None,
) -> list[str]:
    out: list[str] = []
    if sizing is not None and sizing.model != "stake":
        chosen = {"fixed_quote": "amount", "fixed_fraction": "fraction", "fixed_risk": "risk",
                  "kelly": "kelly_fraction", "volatility": "target", "risk_parity": "budget",
                  "confidence": "floor"}.get(sizing.model)  # fmt: skip
        detail = f" ({chosen}={getattr(sizing, chosen)})" if chosen else ""
        out.append(f"{prefix}sizing.model={sizing.model}{detail}")
    for section, model, tuning in (
        ("exits", exits, _EXIT_PARAMETERS),
        ("limits", limits, _LIMIT_PARAMETERS),
        ("breakers", breakers, _BREAKER_PARAMETERS),
    ):
        if model is None:
            continue
        for key, value in model.model_dump().items():
            if key in tuning or value is None or value is False or value == []:
                continue
            out.append(f"{prefix}{section}.{key}={_shown(value)}")
    return out


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_shown(v) for v in value) + "]"
    if isinstance(value, tuple):
        return "(" + ", ".join(_shown(v) for v in value) + ")"
    if isinstance(value, bool):
        return str(value).lower()
    return f"{value:g}" if isinstance(value, float) else str(value)


def parse_risk(value: RiskConfig | Mapping[str, Any]) -> RiskConfig:
    """A :class:`RiskConfig` from itself or a dict, naming a bad key or value.

    Raises
    ------
    ConfigError
        For an unknown key or a value of the wrong type.
    """
    if isinstance(value, RiskConfig):
        return value
    try:
        return RiskConfig.model_validate(dict(value))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(['risk', *(str(p) for p in e['loc'])])}: "
            f"{e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()
        )
        raise ConfigError(f"invalid risk settings: {problems}") from None


def check_rules(config: RiskConfig, timeframe_ms: int, stake: Stake) -> None:
    """Build every rule of ``config`` once (sizing, exits, limits, breakers, each override), so
    that a bad value is refused before a trading session connects rather than at its first bar.

    Raises
    ------
    UserError
        Naming the first bad value.
    """
    for section in (config, *config.strategies.values()):
        if section.sizing is not None:
            section.sizing.build(stake)
        if section.exits is not None:
            section.exits.build(timeframe_ms)
        if section.limits is not None:
            section.limits.build()
    config.breakers.build()


def build_risk(
    config: RiskConfig,
    *,
    strategy_ids: Mapping[str, str],
    stake: Stake,
    instruments: dict[str, Instrument],
    bars: dict[str, BarSeries],
    initial_equity: float,
) -> tuple[RiskEngine, ProtectionBook]:
    """Build the risk engine and the protective-exit book from ``config``.

    ``strategy_ids`` maps each strategy id in the run to its registered name; overrides may use
    either.
    """
    timeframe_ms = min(b.timeframe.ms for b in bars.values())
    book = ProtectionBook(
        bars=bars, instruments=instruments, default=config.exits.build(timeframe_ms)
    )
    profiles: dict[str, RiskProfile] = {}
    for strategy_id, name in strategy_ids.items():
        override = config.strategies.get(strategy_id) or config.strategies.get(name)
        if override is None:
            continue
        sizing = (override.sizing or config.sizing).build(stake)
        limits = (override.limits or config.limits).build()
        profiles[strategy_id] = RiskProfile(sizing, limits)
        if override.exits is not None:
            book.rules[strategy_id] = override.exits.build(timeframe_ms)
    unknown = set(config.strategies) - set(strategy_ids) - set(strategy_ids.values())
    if unknown:
        raise ConfigError(
            f"risk overrides for unknown strategies: {', '.join(sorted(unknown))} "
            f"(running: {', '.join(sorted(set(strategy_ids.values())))})"
        )
    engine = RiskEngine(
        default=RiskProfile(config.sizing.build(stake), config.limits.build()),
        profiles=profiles,
        instruments=instruments,
        bars=bars,
        breakers=config.breakers.build(),
        protection=book,
        initial_equity=initial_equity,
        cash_buffer=config.cash_buffer,
        margin=MarginRules(leverage=config.limits.leverage),
    )
    return engine, book
