"""The simulator's REST endpoints answer with Binance's shapes, paging and error bodies."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import aiohttp
import pandas as pd
import pytest
import requests

from tradewind.exchange_sim import LoopbackServer, SimExchange

ETH_BTC_ROWS = 5760


def get(server: LoopbackServer, path: str, **params: object) -> requests.Response:
    return requests.get(f"{server.rest_url}{path}", params=params, timeout=5)


def test_ping_and_time(server: LoopbackServer) -> None:
    assert get(server, "/api/v3/ping").json() == {}
    before = pd.Timestamp.now(tz="UTC").value // 1_000_000
    served = get(server, "/api/v3/time").json()["serverTime"]
    assert before - 5 <= served <= before + 5_000


def test_spot_exchange_info_lists_symbols_with_binance_filters(server: LoopbackServer) -> None:
    info = get(server, "/api/v3/exchangeInfo").json()
    symbols = {s["symbol"]: s for s in info["symbols"]}
    assert set(symbols) == {
        "ETHBTC", "LTCBTC", "ADABTC", "XLMBTC", "TRXBTC", "ETCBTC", "UNITTESTBTC", "XRPETH",
        "BTCUSDT", "XRPUSDT",
    }  # fmt: skip
    eth = symbols["ETHBTC"]
    assert (eth["baseAsset"], eth["quoteAsset"], eth["status"]) == ("ETH", "BTC", "TRADING")
    filters = {f["filterType"]: f for f in eth["filters"]}
    assert filters["PRICE_FILTER"]["tickSize"] == "0.00000001"
    assert filters["LOT_SIZE"]["stepSize"] == "0.001"
    assert filters["NOTIONAL"]["minNotional"] == "0.0001"


def test_usdm_exchange_info_describes_a_perpetual(server: LoopbackServer) -> None:
    info = get(server, "/fapi/v1/exchangeInfo").json()
    (xrp,) = info["symbols"]
    assert xrp["contractType"] == "PERPETUAL"
    assert xrp["marginAsset"] == "USDT"
    assert (xrp["pricePrecision"], xrp["quantityPrecision"]) == (5, 1)
    filters = {f["filterType"]: f for f in xrp["filters"]}
    assert filters["MIN_NOTIONAL"] == {"filterType": "MIN_NOTIONAL", "notional": "5"}


def test_exchange_info_for_one_symbol_and_an_unknown_one(server: LoopbackServer) -> None:
    one = get(server, "/api/v3/exchangeInfo", symbol="XRPETH").json()
    assert [s["symbol"] for s in one["symbols"]] == ["XRPETH"]
    bad = get(server, "/api/v3/exchangeInfo", symbol="NOPEBTC")
    assert bad.status_code == 400
    assert bad.json() == {"code": -1121, "msg": "Invalid symbol."}


def replay(server: LoopbackServer, symbol: str, api: str = "spot") -> dict[str, int]:
    """The market's timeline as the simulator publishes it."""
    markets = get(server, "/tradewind/v1/replay").json()["markets"]
    (found,) = [m for m in markets if (m["api"], m["symbol"]) == (api, symbol)]
    return found  # type: ignore[no-any-return]


def first_pass(server: LoopbackServer, symbol: str, api: str = "spot") -> int:
    """Server time minus recording time in the replay's first pass (the recording as history)."""
    return replay(server, symbol, api)["firstPassOffsetMs"]


def test_klines_rows_are_the_recorded_candles(server: LoopbackServer, shared_data: Path) -> None:
    frame = pd.read_feather(shared_data / "candles" / "ETH_BTC-5m.feather")
    shift = first_pass(server, "ETHBTC")
    start = int(frame["date"].iloc[10].value // 1_000_000) + shift
    answer = get(server, "/api/v3/klines", symbol="ETHBTC", interval="5m", startTime=start)
    rows = answer.json()
    assert len(rows) == 500  # Binance's default limit
    first = rows[0]
    assert len(first) == 12
    assert first[0] == start
    assert first[6] == start + 300_000 - 1
    # Exactly what Binance published: the file's floats carry noise (0.09946999000000001).
    expected = frame.iloc[10]
    tick, unit = Decimal("0.00000001"), Decimal("0.00000001")
    assert [Decimal(v) for v in first[1:5]] == [
        Decimal(repr(float(expected[c]))).quantize(tick) for c in ("open", "high", "low", "close")
    ]
    assert Decimal(first[5]) == Decimal(repr(float(expected["volume"]))).quantize(unit)
    assert all(len(v.split(".")[-1]) <= 8 for row in rows for v in row[1:6])
    assert answer.headers["X-TW-Replay-Offset-Ms"] == str(replay(server, "ETHBTC")["offsetMs"])


def test_klines_stop_at_the_replay_clock_with_the_current_candle_partial(
    server: LoopbackServer, shared_data: Path
) -> None:
    frame = pd.read_feather(shared_data / "candles" / "ETH_BTC-5m.feather")
    before = get(server, "/api/v3/time").json()["serverTime"]
    latest = get(server, "/api/v3/klines", symbol="ETHBTC", interval="5m", limit=3).json()
    after = get(server, "/api/v3/time").json()["serverTime"]
    opens = [r[0] for r in latest]
    assert opens == [opens[0], opens[0] + 300_000, opens[0] + 600_000]
    # The last row is the candle forming now: it opened at or before the clock, closes after.
    assert opens[-1] <= after
    assert latest[-1][6] >= before
    # The replay is in its second pass: the recording again, from its first candles; before
    # them, the recording's last candle, closed.
    timeline = replay(server, "ETHBTC")
    assert timeline["pass"] == 1
    starts = [d.value // 1_000_000 for d in frame["date"]]
    k = starts.index(opens[-1] - timeline["offsetMs"])
    assert k <= 1
    partial = latest[-1]
    assert Decimal(partial[1]) == Decimal(repr(float(frame["open"].iloc[k]))).quantize(
        Decimal("0.00000001")
    )
    assert Decimal(partial[3]) <= Decimal(partial[4]) <= Decimal(partial[2])
    recorded_last = frame.iloc[-1]
    if k == 0:
        assert Decimal(latest[-2][4]) == Decimal(repr(float(recorded_last["close"]))).quantize(
            Decimal("0.00000001")
        )
    # Nothing from the future, whatever the window asks for.
    future = get(
        server, "/api/v3/klines", symbol="ETHBTC", interval="5m", startTime=after + 1
    ).json()
    assert future == []


def test_klines_paging_limits_and_windows(server: LoopbackServer) -> None:
    clamped = get(server, "/api/v3/klines", symbol="ETHBTC", interval="5m", startTime=0, limit=5000)
    assert len(clamped.json()) == 1000  # spot maximum
    futures = get(
        server, "/fapi/v1/klines", symbol="XRPUSDT", interval="5m", startTime=0, limit=5000
    ).json()
    assert len(futures) == 1500  # USDT-M maximum
    shift = first_pass(server, "ETHBTC")
    window = get(
        server,
        "/api/v3/klines",
        symbol="ETHBTC",
        interval="5m",
        startTime=1515560100000 + shift,
        endTime=1515560700000 + shift,
    ).json()
    assert [r[0] - shift for r in window] == [1515560100000, 1515560400000, 1515560700000]


def test_klines_of_an_unrecorded_interval_are_aggregated(server: LoopbackServer) -> None:
    shift = first_pass(server, "XRPUSDT", "usdm")
    rows = get(server, "/fapi/v1/klines", symbol="XRPUSDT", interval="15m", limit=2, startTime=0)
    first = rows.json()[0]
    # The first three recorded 5m candles of XRPUSDT (2021-11-15 00:00-00:10).
    assert first[:6] == [
        1636934400000 + shift,
        "1.1893",
        "1.1994",
        "1.1891",
        "1.1963",
        "20756369.7",
    ]


@pytest.mark.parametrize(
    ("path", "params", "body"),
    [
        ("/api/v3/klines", {"symbol": "NOPE", "interval": "5m"}, (-1121, "Invalid symbol.")),
        ("/api/v3/klines", {"symbol": "ETHBTC", "interval": "7m"}, (-1120, "Invalid interval.")),
        ("/fapi/v1/klines", {"symbol": "XRPUSDT", "interval": "1s"}, (-1120, "Invalid interval.")),
        (
            "/api/v3/klines",
            {"interval": "5m"},
            (-1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed."),
        ),
        (
            "/api/v3/klines",
            {"symbol": "ETHBTC", "interval": "5m", "limit": "ten"},
            (
                -1100,
                "Illegal characters found in parameter 'limit'; legal range is '^[0-9]{1,20}$'.",
            ),
        ),
        (
            "/api/v3/aggTrades",
            {"symbol": "XRPETH", "startTime": 0, "endTime": 3_600_001},
            (-1127, "More than 1 hours between startTime and endTime."),
        ),
        (
            "/api/v3/aggTrades",
            {"symbol": "XRPETH", "startTime": 0, "fromId": 5},
            (-1128, "Combination of optional parameters invalid."),
        ),
    ],
)
def test_errors_are_binance_bodies(
    server: LoopbackServer, path: str, params: dict[str, object], body: tuple[int, str]
) -> None:
    answer = get(server, path, **params)
    assert answer.status_code == 400
    assert answer.json() == {"code": body[0], "msg": body[1]}


def test_mark_price_klines_carry_no_volume(server: LoopbackServer) -> None:
    shift = first_pass(server, "XRPUSDT", "usdm")
    rows = get(
        server, "/fapi/v1/markPriceKlines", symbol="XRPUSDT", interval="1h", startTime=0
    ).json()
    # The recording's 100 hourly marks, then (depending on where the 8-hour grid puts the replay's
    # start against the clock) the first candle of the second pass, already open.
    first_pass_rows = [r for r in rows if r[0] < 1636956000000 + shift + 100 * 3_600_000]
    assert len(first_pass_rows) == 100
    assert len(rows) - len(first_pass_rows) in (0, 1)
    assert rows[0][:6] == [1636956000000 + shift, "1.20932", "1.21787", "1.20763", "1.21431", "0"]
    assert all(r[5] == "0" for r in rows)


def test_funding_rate_objects_and_mark_price(server: LoopbackServer, shared_data: Path) -> None:
    shift = first_pass(server, "XRPUSDT", "usdm")
    mark = pd.read_feather(shared_data / "futures" / "XRP_USDT_USDT-1h-mark.feather")
    mark_open = mark.loc[mark["date"] == pd.Timestamp("2021-11-18", tz="UTC"), "open"].item()
    answer = get(server, "/fapi/v1/fundingRate", symbol="XRPUSDT", startTime=0)
    assert answer.headers["X-TW-Replay-Offset-Ms"] == str(
        replay(server, "XRPUSDT", "usdm")["offsetMs"]
    )
    page = answer.json()
    assert len(page) == 91  # fewer than the default limit of 100: the first pass
    first = page[0]
    assert set(first) == {"symbol", "fundingTime", "fundingRate", "markPrice"}
    # Stamped 17 ms after 2021-11-18 00:00, as recorded; the mark is that hour's 1h mark open.
    assert first["fundingTime"] == 1637193600017 + shift
    assert first["fundingRate"] == "0.0001"
    assert float(first["markPrice"]) == mark_open
    last_two = get(server, "/fapi/v1/fundingRate", endTime=1639785600014 + shift, limit=2).json()
    assert [e["fundingTime"] - shift for e in last_two] == [1639756800006, 1639785600014]
    # None from the future.
    now = get(server, "/api/v3/time").json()["serverTime"]
    assert get(server, "/fapi/v1/fundingRate", limit=1).json()[0]["fundingTime"] <= now


def test_agg_trades_by_window_and_by_id(server: LoopbackServer) -> None:
    shift = first_pass(server, "XRPETH")
    start = 1570752000000 + shift  # 2019-10-11 00:00 UTC in the recording
    page = get(
        server, "/api/v3/aggTrades", symbol="XRPETH", startTime=start, endTime=start + 3_600_000
    ).json()
    assert page[0] == {
        "a": 13519807, "p": "0.00141342", "q": "23", "f": 13519807, "l": 13519807,
        "T": 1570752011620 + shift, "m": True, "M": True,
    }  # fmt: skip
    after = get(server, "/api/v3/aggTrades", symbol="XRPETH", fromId=13519810, limit=2).json()
    assert [t["a"] for t in after] == [13519810, 13519811]


def test_unknown_endpoint_is_a_logged_404(
    server: LoopbackServer, caplog: pytest.LogCaptureFixture
) -> None:
    assert get(server, "/sapi/v1/capital/config/getall").status_code == 404
    assert "no such endpoint: GET /sapi/v1/capital/config/getall" in caplog.text
    assert server.requests("/sapi")[0].status == 404


async def test_serves_from_the_running_event_loop(sim: SimExchange) -> None:
    async with LoopbackServer(sim) as server, aiohttp.ClientSession() as session:
        url = f"{server.rest_url}/fapi/v1/klines?symbol=XRPUSDT&interval=1h&limit=1"
        async with session.get(url) as answer:
            rows = await answer.json()
        async with session.get(f"{server.rest_url}/tradewind/v1/replay") as answer:
            (timeline,) = [m for m in (await answer.json())["markets"] if m["api"] == "usdm"]
    # The replay is early in its second pass, before the recorded 1h candles begin (they cover
    # 2021-11-17 01:00 to 11-21 04:00): the latest is the first pass's last one.
    assert rows[0][0] - timeline["firstPassOffsetMs"] == 1637467200000
