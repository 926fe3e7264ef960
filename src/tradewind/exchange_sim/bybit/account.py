"""Bybit v5 account endpoints: wallet balance, positions, leverage, position TP/SL, account info.

The simulator keeps spot balances and the USDT-M wallet apart (one ledger each, shared with the
Binance side). ``accountType=UNIFIED`` sums them per coin, as a unified account shows one
balance; ``SPOT`` and ``CONTRACT`` (classic accounts) show each ledger alone.

Take-profit and stop-loss on a position (``/v5/position/trading-stop``) are close-position
conditional market orders on the core: a long's take-profit is a sell that triggers when the
last price rises to it, its stop-loss one that triggers when the price falls to it (a short's
the other way round). Setting ``0`` cancels one; a new value replaces it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from aiohttp import web

from tradewind.exchange_sim.accounts import Account, ApiKey, fmt_dec
from tradewind.exchange_sim.bybit import errors
from tradewind.exchange_sim.bybit.common import (
    Params,
    category,
    live_market,
    signed,
    text,
)
from tradewind.exchange_sim.bybit.errors import BybitError
from tradewind.exchange_sim.bybit.market import MAX_LEVERAGE
from tradewind.exchange_sim.bybit.orders import check_price
from tradewind.exchange_sim.bybit.trade import NOTES_KEY, OrderNotes
from tradewind.exchange_sim.engine import LiveMarket
from tradewind.exchange_sim.exchange import SimExchange
from tradewind.exchange_sim.futures import liquidation_price
from tradewind.exchange_sim.ledgers import Position, positions_of
from tradewind.exchange_sim.listings import Api
from tradewind.exchange_sim.order_params import OrderRequest
from tradewind.exchange_sim.orders import SimOrder

ZERO = Decimal(0)


def routes() -> list[web.RouteDef]:
    """Return Bybit's account and position routes."""
    return [
        web.get("/v5/account/wallet-balance", signed(_wallet)),
        web.get("/v5/account/info", signed(_info)),
        web.get("/v5/account/fee-rate", signed(_fee_rate)),
        web.get("/v5/user/query-api", signed(_query_api)),
        web.get("/v5/asset/coin/query-info", signed(_coins)),
        web.get("/v5/position/list", signed(_positions)),
        web.post("/v5/position/set-leverage", signed(_set_leverage)),
        web.post("/v5/position/trading-stop", signed(_trading_stop)),
    ]


def _unrealised(sim: SimExchange, account: Account) -> Decimal:
    total = ZERO
    for symbol, pos in positions_of(account).items():
        market = sim.live(Api.USDM, symbol)
        mark = market.mark_price if market is not None and market.mark_price else pos.entry
        total += pos.unrealized(mark)
    return total


def _coin(asset: str, wallet: Decimal, locked: Decimal, upnl: Decimal) -> dict[str, Any]:
    return {
        "coin": asset, "equity": fmt_dec(wallet + upnl), "usdValue": "",
        "walletBalance": fmt_dec(wallet), "free": fmt_dec(wallet - locked),
        "locked": fmt_dec(locked), "spotHedgingQty": "0", "borrowAmount": "0",
        "availableToWithdraw": fmt_dec(wallet - locked), "accruedInterest": "0",
        "totalOrderIM": "0", "totalPositionIM": "0", "totalPositionMM": "0",
        "unrealisedPnl": signed_dec(upnl), "cumRealisedPnl": "0", "bonus": "0",
        "marginCollateral": True, "collateralSwitch": True, "availableToBorrow": "",
    }  # fmt: skip


def signed_dec(value: Decimal) -> str:
    """Format a signed Decimal without exponent."""
    return fmt_dec(value) if value >= 0 else "-" + fmt_dec(-value)


def wallet_json(sim: SimExchange, account: Account, account_type: str) -> dict[str, Any]:
    """Render one ``/v5/account/wallet-balance`` entry (also the ``wallet`` stream's)."""
    coins: dict[str, list[Decimal]] = {}
    if account_type in ("UNIFIED", "SPOT"):
        for asset, bal in account.balances.items():
            coins[asset] = [bal.total, bal.locked, ZERO]
    if account_type in ("UNIFIED", "CONTRACT"):
        entry = coins.setdefault(account.futures_asset, [ZERO, ZERO, ZERO])
        entry[0] += account.futures_wallet
        entry[2] += _unrealised(sim, account)
    rows = [_coin(a, w, lk, u) for a, (w, lk, u) in coins.items()]
    return {
        "accountType": account_type, "accountLTV": "0", "accountIMRate": "0",
        "accountMMRate": "0", "totalEquity": "", "totalWalletBalance": "",
        "totalMarginBalance": "", "totalAvailableBalance": "", "totalPerpUPL": "",
        "totalInitialMargin": "", "totalMaintenanceMargin": "", "coin": rows,
    }  # fmt: skip


async def _wallet(
    request: web.Request, sim: SimExchange, key: ApiKey, params: Params
) -> dict[str, Any]:
    account_type = text(params, "accountType")
    if account_type not in ("UNIFIED", "SPOT", "CONTRACT"):
        raise BybitError(errors.PARAMS, detail="accountType invalid")
    entry = wallet_json(sim, key.account, account_type)
    coin = text(params, "coin")
    if coin:
        wanted = set(coin.split(","))
        entry["coin"] = [c for c in entry["coin"] if c["coin"] in wanted]
    return {"list": [entry]}


async def _info(
    request: web.Request, sim: SimExchange, key: ApiKey, params: Params
) -> dict[str, Any]:
    return {"unifiedMarginStatus": 4, "marginMode": "REGULAR_MARGIN", "isMasterTrader": False,
            "spotHedgingStatus": "OFF", "updatedTime": str(key.account.update_ms)}  # fmt: skip


async def _query_api(
    request: web.Request, sim: SimExchange, key: ApiKey, params: Params
) -> dict[str, Any]:
    perms = key.permissions
    return {
        "id": str(abs(hash(key.key)) % 10**8), "note": key.account.name, "apiKey": key.key,
        "readOnly": 0 if (perms.spot or perms.futures) else 1, "secret": "",
        "permissions": {"ContractTrade": ["Order", "Position"] if perms.futures else [],
                        "Spot": ["SpotTrade"] if perms.spot else [], "Wallet": [],
                        "Options": [], "Derivatives": [], "CopyTrading": [],
                        "BlockTrade": [], "Exchange": [], "NFT": []},
        "ips": ["*"], "type": 1, "deadlineDay": -1, "expiredAt": "", "createdAt": "",
        "unified": 0, "uta": 1, "userID": abs(hash(key.account.name)) % 10**8,
        "inviterID": 0, "vipLevel": "No VIP", "mktMakerLevel": "0", "affiliateID": 0,
        "rsaPublicKey": "", "isMaster": True, "parentUid": "0", "kycLevel": "LEVEL_DEFAULT",
        "kycRegion": "",
    }  # fmt: skip


async def _coins(
    request: web.Request, sim: SimExchange, key: ApiKey, params: Params
) -> dict[str, Any]:
    # Coins of the listed markets; no chains: the simulator has no deposits or withdrawals.
    coins = sorted({c for m in sim.all_markets() for c in (m.listing.base, m.listing.quote)})
    wanted = text(params, "coin")
    return {"rows": [{"name": c, "coin": c, "remainAmount": "0", "chains": []}
                     for c in coins if wanted in ("", c)]}  # fmt: skip


async def _fee_rate(
    request: web.Request, sim: SimExchange, key: ApiKey, params: Params
) -> dict[str, Any]:
    api = category(params)
    acct = key.account
    maker, taker = (
        (acct.futures_maker_fee, acct.futures_taker_fee)
        if api is Api.USDM
        else (acct.maker_fee, acct.taker_fee)
    )
    symbol = text(params, "symbol")
    markets = [m.listing.symbol for m in sim.markets(api) if symbol in ("", m.listing.symbol)]
    return {"list": [{"symbol": s, "baseCoin": "", "takerFeeRate": fmt_dec(taker),
                      "makerFeeRate": fmt_dec(maker)} for s in markets]}  # fmt: skip


def _stops(
    notes: OrderNotes, sim: SimExchange, account: Account, symbol: str
) -> dict[str, SimOrder]:
    found = {}
    for order in sim.store.open_orders(account, True, symbol):
        kind = notes.of(order).get("stopOrderType")
        if kind in ("TakeProfit", "StopLoss"):
            found[kind] = order
    return found


def position_json(
    sim: SimExchange, notes: OrderNotes, account: Account, pos: Position
) -> dict[str, Any]:
    """Render one ``/v5/position/list`` row (also the ``position`` stream's)."""
    market = sim.live(Api.USDM, pos.symbol)
    mark = market.mark_price if market is not None and market.mark_price else pos.entry
    size = abs(pos.qty)
    value = size * pos.entry
    stops = _stops(notes, sim, account, pos.symbol)
    tp, sl = stops.get("TakeProfit"), stops.get("StopLoss")
    realised = _realised(account, pos.symbol)
    return {
        "positionIdx": 0, "riskId": 1, "riskLimitValue": "2000000", "symbol": pos.symbol,
        "side": "" if pos.qty == 0 else "Buy" if pos.qty > 0 else "Sell",
        "size": fmt_dec(size), "avgPrice": fmt_dec(pos.entry), "positionValue": fmt_dec(value),
        "tradeMode": 1 if pos.isolated else 0, "positionStatus": "Normal", "autoAddMargin": 0,
        "adlRankIndicator": 2 if size else 0, "leverage": str(pos.leverage),
        "positionBalance": fmt_dec(pos.isolated_margin), "markPrice": fmt_dec(mark),
        "liqPrice": fmt_dec(liquidation_price(pos)) if size else "", "bustPrice": "",
        "positionMM": fmt_dec(pos.maintenance(mark)),
        "positionIM": fmt_dec(size * mark / pos.leverage),
        "tpslMode": "Full",
        "takeProfit": fmt_dec(tp.stop_price) if tp is not None and tp.stop_price else "0",
        "stopLoss": fmt_dec(sl.stop_price) if sl is not None and sl.stop_price else "0",
        "trailingStop": "0", "unrealisedPnl": signed_dec(pos.unrealized(mark)),
        "curRealisedPnl": signed_dec(realised), "cumRealisedPnl": signed_dec(realised),
        "sessionAvgPrice": "", "createdTime": str(pos.update_ms),
        "updatedTime": str(pos.update_ms), "seq": pos.update_ms, "isReduceOnly": False,
        "mmrSysUpdatedTime": "", "leverageSysUpdatedTime": "",
    }  # fmt: skip


def _realised(account: Account, symbol: str) -> Decimal:
    # Bybit's realised PnL counts closed PnL less trading fees, plus funding received.
    total = ZERO
    for fill in account.futures_trades:
        if fill.get("symbol") == symbol:
            total += Decimal(fill["realizedPnl"]) - Decimal(fill["commission"])
    for row in account.income:
        if row["symbol"] == symbol and row["incomeType"] == "FUNDING_FEE":
            total += Decimal(row["income"])
    return total


async def _positions(
    request: web.Request, sim: SimExchange, key: ApiKey, params: Params
) -> dict[str, Any]:
    if text(params, "category") in ("inverse", "option") and not text(params, "symbol"):
        # Real categories the simulator lists nothing on: no positions there, as Bybit answers.
        return {"category": params["category"], "list": [], "nextPageCursor": ""}
    if category(params) is not Api.USDM:
        raise BybitError(errors.CATEGORY)
    symbol = text(params, "symbol")
    if not symbol and not text(params, "settleCoin"):
        raise BybitError(errors.PARAMS, detail="symbol or settleCoin is required")
    notes = request.app[NOTES_KEY]
    held = positions_of(key.account)
    if symbol:
        live_market(sim, params, Api.USDM)
        positions = [held.get(symbol) or Position(symbol)]
    else:
        positions = [p for p in held.values() if p.qty != 0]
    return {"category": "linear", "list": [position_json(sim, notes, key.account, p)
                                           for p in positions], "nextPageCursor": ""}  # fmt: skip


async def _set_leverage(
    request: web.Request, sim: SimExchange, key: ApiKey, params: Params
) -> dict[str, Any]:
    if category(params) is not Api.USDM:
        raise BybitError(errors.CATEGORY)
    market = live_market(sim, params, Api.USDM)
    buy, sell = text(params, "buyLeverage"), text(params, "sellLeverage")
    try:
        wanted = Decimal(buy)
    except ArithmeticError:
        raise BybitError(errors.LEVERAGE_BAD) from None
    if buy != sell or wanted != wanted.to_integral_value() or not 1 <= wanted <= MAX_LEVERAGE:
        # One-way mode: both sides share a leverage; the core keeps whole leverages.
        raise BybitError(errors.LEVERAGE_BAD)
    pos = positions_of(key.account).setdefault(market.symbol, Position(market.symbol))
    if pos.leverage == int(wanted):
        raise BybitError(errors.LEVERAGE_SAME)
    pos.leverage = int(wanted)
    return {}


def set_position_tpsl(
    sim: SimExchange,
    notes: OrderNotes,
    account: Account,
    market: LiveMarket,
    wanted: dict[str, Decimal],
) -> None:
    """Set (or with 0 cancel) the position's ``takeProfit``/``stopLoss``, checked prices."""
    pos = positions_of(account).get(market.symbol)
    if pos is None or pos.qty == 0:
        return
    existing = _stops(notes, sim, account, market.symbol)
    long = pos.qty > 0
    for kind, name, core_type in (
        ("TakeProfit", "takeProfit", "TAKE_PROFIT_MARKET"),
        ("StopLoss", "stopLoss", "STOP_MARKET"),
    ):
        if name not in wanted:
            continue
        old = existing.get(kind)
        if old is not None and old.is_open:
            sim.engine.cancel(old)
        if wanted[name] == 0:
            continue
        request = OrderRequest(
            symbol=market.symbol, side="SELL" if long else "BUY", type=core_type, tif="GTC",
            qty=ZERO, price=None, stop_price=wanted[name], quote_qty=ZERO, client_id=None,
            reduce_only=False, close_position=True, working_type="CONTRACT_PRICE",
            resp_type="ACK",
        )  # fmt: skip
        order = sim.engine.place(account, market, request)
        notes.note(order, stopOrderType=kind)


async def _trading_stop(
    request: web.Request, sim: SimExchange, key: ApiKey, params: Params
) -> dict[str, Any]:
    if category(params) is not Api.USDM:
        raise BybitError(errors.CATEGORY)
    market = live_market(sim, params, Api.USDM)
    pos = positions_of(key.account).get(market.symbol)
    if pos is None or pos.qty == 0:
        raise BybitError(errors.NO_POSITION)
    wanted: dict[str, Decimal] = {}
    for name in ("takeProfit", "stopLoss"):
        raw = text(params, name)
        if raw == "":
            continue
        try:
            wanted[name] = Decimal(raw)
        except ArithmeticError:
            raise BybitError(errors.PARAMS, detail=f"{name} invalid") from None
        if wanted[name] != 0:
            check_price(wanted[name], market)
    set_position_tpsl(sim, request.app[NOTES_KEY], key.account, market, wanted)
    return {}
