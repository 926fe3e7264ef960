"""Changing a running bot's risk limits: the portfolio caps the risk engine reads at each decision.

Only caps that take effect at the next decision, with no history to rebuild, may change while the
bot runs (:data:`RELOADABLE_LIMITS`): counts of positions, exposure, leverage, heat, liquidity and
liquidation distance. Sizing, protective exits and breakers (whose scans were compiled over the
bars and the equity at the start) and the correlation window are refused by name: restart to
change them. The change is validated as the ``[risk.limits]`` table of a config file is (a bad
value refuses all of it), then the engine's default profile, and each strategy profile that takes
the default limits, get the new caps. The facade asks for a two-factor code first.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pydantic import ValidationError

from tradewind.core.errors import UserError
from tradewind.ops.errors import NotAvailableError
from tradewind.risk.config import LimitsConfig, RiskConfig
from tradewind.risk.engine import RiskEngine

__all__ = ["RELOADABLE_LIMITS", "apply_limits"]

RELOADABLE_LIMITS = frozenset(
    {
        "max_positions",
        "max_positions_per_strategy",
        "max_positions_per_symbol",
        "max_asset_exposure",
        "max_total_exposure",
        "max_leverage",
        "max_heat",
        "min_quote_volume_24h",
        "min_liquidation_distance",
    }
)
"""The ``[risk.limits]`` keys a running bot applies (None turns a cap off)."""


def apply_limits(
    engine: Any, config: RiskConfig, changes: dict[str, Any]
) -> tuple[RiskConfig, dict[str, Any]]:
    """Validate ``changes`` (limit name -> new value) against ``config`` and apply them to the
    running risk ``engine``; returns the new risk config and the values now in force.

    Raises
    ------
    NotAvailableError
        When the bot runs without a risk engine (no risk rules).
    UserError
        For a key that is not reloadable or unknown, or a value the limits refuse (nothing is
        applied).
    """
    if not isinstance(engine, RiskEngine):
        raise NotAvailableError(
            "this bot runs without risk rules (no risk engine): start it with [risk] to have "
            "limits to change"
        )
    if not changes:
        raise UserError("give at least one limit to change")
    refused = sorted(set(changes) - RELOADABLE_LIMITS)
    if refused:
        raise UserError(
            f"not changeable while the bot runs (restart to change): {', '.join(refused)}; "
            f"changeable: {', '.join(sorted(RELOADABLE_LIMITS))}"
        )
    try:
        limits = LimitsConfig.model_validate({**config.limits.model_dump(), **changes})
        built = limits.build()
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise UserError(f"risk limit {where}: {first['msg']}") from None
    new = config.model_copy(update={"limits": limits})
    before = engine.default.limits
    engine.default = replace(engine.default, limits=built)
    for strategy_id, profile in list(engine.profiles.items()):
        # A strategy's profile took the default caps unless its override set its own.
        override = config.strategies.get(strategy_id)
        own = override is not None and override.limits is not None
        if not own and profile.limits == before:
            engine.profiles[strategy_id] = replace(profile, limits=built)
    return new, {key: getattr(limits, key) for key in sorted(changes)}
