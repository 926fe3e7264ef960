"""The simulated venue: fills from bars by the rules in ``tradewind.sim``, Decimal balances."""

from tradewind.venues.sim.fill_model import FillModel
from tradewind.venues.sim.port import SimVenuePort
from tradewind.venues.sim.venue import SimVenue

__all__ = ["FillModel", "SimVenue", "SimVenuePort"]
