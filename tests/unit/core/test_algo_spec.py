"""The one-line form of an execution algorithm (``--execution``, the ``execution`` argument):
every setting read into its field, and each mistake named in one line."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tradewind.core.algo_spec import Algo, AlgoSpec, Timeout, parse_algo
from tradewind.core.errors import UserError


def test_each_algorithm_and_setting_is_read_into_its_field() -> None:
    assert parse_algo("twap:horizon=30m,slices=6,jitter=0.2,seed=7") == AlgoSpec(
        algo=Algo.TWAP, horizon_ms=1_800_000, slices=6, jitter=0.2, seed=7
    )
    assert parse_algo(" POV : participation=0.05 , guard_bps=20") == AlgoSpec(
        algo=Algo.POV, participation=0.05, guard_bps=Decimal(20)
    )
    assert parse_algo("smart_limit:timeout=90s,chase_bps=3,on_timeout=cancel") == AlgoSpec(
        algo=Algo.SMART_LIMIT, timeout_ms=90_000, chase_bps=Decimal(3), on_timeout=Timeout.CANCEL
    )
    iceberg = parse_algo("iceberg:visible=0.25,limit=0.0951,horizon=1h")
    assert iceberg.visible == Decimal("0.25")
    assert iceberg.limit_price == Decimal("0.0951")
    assert parse_algo("market") == AlgoSpec(algo=Algo.MARKET)
    assert parse_algo("smart_limit:timeout=90s,on_timeout=cancel").as_dict() == {
        "algo": "smart_limit",
        "timeout_ms": 90_000,
        "on_timeout": "cancel",
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("twop", "unknown execution algorithm 'twop': use one of market, twap"),
        ("twap:slices=4", "twap: horizon_ms must be positive"),
        ("twap:horizon=30m,slices=x", "execution twap: slices='x' is not a valid value"),
        ("twap:horizon=30", "execution twap: horizon='30' is not a valid value"),
        ("twap:horizon=30m,size=2", "expected key=value with a key among horizon"),
        ("twap:horizon", "expected key=value"),
        ("pov:participation=1.5", "pov: participation must be in (0, 1]"),
        ("iceberg", "iceberg: the visible quantity must be positive"),
        ("smart_limit:on_timeout=wait", "on_timeout='wait' is not a valid value"),
    ],
)
def test_a_mistake_is_named(text: str, message: str) -> None:
    with pytest.raises(UserError) as refused:
        parse_algo(text)
    assert message in str(refused.value)
    assert "\n" not in str(refused.value)
