"""The maintenance brackets travel from the exchange to the instrument: the real ccxt client reads
the simulator's ``leverageBracket`` answer (the listing's table) as leverage tiers, and the
connector turns them back into the same table, ``cum`` included."""

from __future__ import annotations

from typing import Any

from tradewind.connectors.instruments import brackets_from_ccxt, instrument_from_ccxt
from tradewind.exchange_sim import SimExchange
from tradewind.exchange_sim.listings import Api

PERP = "XRP/USDT:USDT"


def test_ccxt_leverage_tiers_become_the_listings_brackets(
    sim: SimExchange, sync_client: Any
) -> None:
    client = sync_client()
    listing = sim.live(Api.USDM, "XRPUSDT")
    assert listing is not None
    tiers = client.fetch_market_leverage_tiers(PERP)
    assert [t["maxLeverage"] for t in tiers][:3] == [125, 100, 50]
    assert brackets_from_ccxt(tiers) == listing.listing.brackets
    instrument = instrument_from_ccxt(
        client.markets[PERP], exchange="binance", leverage_tiers=tiers
    )
    assert instrument.margin_brackets == listing.listing.brackets
    # Each bracket's cum as the exchange states it equals the amount the table derives.
    stated = [t["info"]["cum"] for t in tiers]
    assert [float(b.amount) for b in instrument.margin_brackets.brackets] == [
        float(c) for c in stated
    ]
