"""``tradewind demo``: the main job on embedded defaults (bundled real data, no exchange, no network)."""

from __future__ import annotations

from tradewind.core.errors import UserError


def demo() -> None:
    """Run the main job on the bundled real BTC-perp month: import, validate and summarise it."""
    raise UserError("demo is not built yet")
