"""The live venue: the venue port over a real exchange through ccxt (reached via ``connectors``)."""

from tradewind.venues.live.port import DEFAULT_VISIBILITY_S, LiveVenuePort

__all__ = ["DEFAULT_VISIBILITY_S", "LiveVenuePort"]
