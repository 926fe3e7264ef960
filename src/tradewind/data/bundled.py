"""The real BTC-perp 1-minute month shipped with the package (see ``tradewind/bundled/README.md``).

Used by ``tradewind demo`` and by tests that need only this one month.
"""

from __future__ import annotations

from decimal import Decimal
from importlib import resources
from pathlib import Path

import pandas as pd

from tradewind.core.errors import DataError
from tradewind.core.instrument import FeeSide, Instrument, MarketType
from tradewind.data.catalog import SeriesKey
from tradewind.data.kinds import DataKind
from tradewind.data.meta import SWAP_FEES, MarketMeta, VolumeUnit
from tradewind.data.schema import conform

BUNDLED_FILE = "btc-perp-20211231-20220201_1m.parquet"
BUNDLED_SYMBOL = "BTC-PERP"
BUNDLED_TIMEFRAME = "1m"
BUNDLED_EXCHANGE = "bundled"
BUNDLED_KEY = SeriesKey(BUNDLED_EXCHANGE, BUNDLED_SYMBOL, BUNDLED_TIMEFRAME, DataKind.CANDLES)
"""The key the demo stores the bundled month under."""

# The smallest positive difference between distinct prices of the month; see the bundled README.
BUNDLED_PRICE_STEP = Decimal("0.125")


def bundled_path() -> Path:
    """Path of the bundled parquet file inside the installed package."""
    return Path(str(resources.files("tradewind") / "bundled" / BUNDLED_FILE))


def bundled_meta() -> MarketMeta:
    """The market metadata of the bundled month: what is known, and which values are defaults."""
    maker, taker = SWAP_FEES
    instrument = Instrument(
        symbol=BUNDLED_SYMBOL,
        base="BTC",
        quote="USD",
        settle="USD",
        exchange=BUNDLED_EXCHANGE,
        exchange_id=BUNDLED_SYMBOL,
        market_type=MarketType.SWAP,
        price_step=BUNDLED_PRICE_STEP,
        amount_step=Decimal("0.001"),
        maker_fee=maker,
        taker_fee=taker,
        fee_side=FeeSide.QUOTE,
    )
    return MarketMeta(
        instrument=instrument,
        volume_unit=VolumeUnit.QUOTE,
        source=(
            "bundled: NautilusTrader tests/test_data/btc-perp-20211231-20220201_1m.csv, commit "
            "a95c8042b00133829d252ae8cf68f78fc176a973 (LGPL-3.0)"
        ),
        defaulted=("amount_step", "maker_fee", "taker_fee", "fee_side"),
        notes=(
            "price_step 0.125 is the smallest positive difference between distinct prices of the "
            "month (the true tick divides it)",
            "the source's timestamp is taken as the candle open time",
            "the venue is not named by the source",
        ),
    )


def load_bundled() -> tuple[pd.DataFrame, MarketMeta]:
    """Return the bundled BTC-perp month (candles, open times in UTC) and its metadata.

    Raises
    ------
    DataError
        If the package was installed without its data file.
    """
    path = bundled_path()
    if not path.is_file():
        raise DataError(f"the bundled data file is missing from the installation: {path}")
    frame = conform(pd.read_parquet(path), DataKind.CANDLES, what=str(path))
    return frame, bundled_meta()
