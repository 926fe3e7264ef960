"""USDT-M funding: positions are charged or credited at every funding time, as on Binance.

Funding times are the 8-hour grid of the replay clock (00:00, 08:00, 16:00 UTC). At funding time
``T`` every open position pays ``qty * mark * rate`` (a long pays a positive rate, a short
receives it), where

- ``rate`` is the rate the ``markPrice`` stream and ``premiumIndex`` published for ``T``: the
  market's recorded funding series replayed one rate per 8-hour period (0 without one);
- ``mark`` is the published mark price at ``T`` (the live book's mid on the tick grid).

The amount, rounded to 8 decimals, moves the USDT-M wallet (and an isolated position's margin;
a wallet never goes below zero). Each payment is a ``FUNDING_FEE`` row of ``GET /fapi/v1/income``
(what ccxt's ``fetch_funding_history`` reads) and an ``ACCOUNT_UPDATE`` user-stream event with
reason ``FUNDING_FEE``: the balance only for a cross position, the balance and the position for an
isolated one (Binance's rule). The replay driver calls :func:`settle_funding` when the clock passes
a funding time. Only funding is recorded in the income history.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from aiohttp import web

from tradewind.exchange_sim import errors
from tradewind.exchange_sim.accounts import ZERO, Account, ApiKey, fmt_dec
from tradewind.exchange_sim.auth import Need
from tradewind.exchange_sim.errors import BinanceError
from tradewind.exchange_sim.exchange import FUNDING_PERIOD_MS, SimExchange
from tradewind.exchange_sim.ledgers import positions_of
from tradewind.exchange_sim.listings import Api
from tradewind.exchange_sim.rest_common import Params, int_param, json, signed
from tradewind.exchange_sim.streams import position_event

_EIGHT_DP = Decimal("0.00000001")
INCOME_TYPES = frozenset(
    {"TRANSFER", "WELCOME_BONUS", "REALIZED_PNL", "FUNDING_FEE", "COMMISSION", "INSURANCE_CLEAR"}
)


def next_funding_ms(now_ms: int) -> int:
    """Return the first funding time strictly after ``now_ms``."""
    return now_ms - now_ms % FUNDING_PERIOD_MS + FUNDING_PERIOD_MS


def _signed(value: Decimal) -> str:
    return fmt_dec(value) if value >= 0 else "-" + fmt_dec(-value)


def settle_funding(sim: SimExchange, funding_ms: int) -> int:
    """Charge or credit every open USDT-M position for the funding time ``funding_ms``.

    Parameters
    ----------
    sim
        The exchange (its accounts, live marks and recorded funding rates).
    funding_ms
        The funding time being settled (a multiple of 8 hours).

    Returns
    -------
    int
        How many positions paid or received funding.
    """
    paid = 0
    for account in list(sim.engine.accounts):
        for symbol, pos in positions_of(account).items():
            if pos.qty == 0:
                continue
            market = sim.live(Api.USDM, symbol)
            if market is None or market.mark_price is None:
                continue
            mark = market.mark_price.quantize(market.listing.tick_size)
            rate = Decimal(repr(sim.funding_rate_at(symbol, funding_ms - 1)))
            income = (-(pos.qty * mark * rate)).quantize(_EIGHT_DP, ROUND_HALF_EVEN)
            _apply(sim, account, pos, income, funding_ms)
            paid += 1
    for (futures, _), market in sim.engine.markets.items():
        if futures:
            sim.engine.check_liquidations(market)
    return paid


def _apply(sim: SimExchange, account: Account, pos: Any, income: Decimal, t_ms: int) -> None:
    account.futures_wallet = max(ZERO, account.futures_wallet + income)
    if pos.isolated:
        pos.isolated_margin = max(ZERO, pos.isolated_margin + income)
    account.update_ms = t_ms
    pos.update_ms = t_ms
    account.income.append({
        "symbol": pos.symbol, "incomeType": "FUNDING_FEE", "income": _signed(income),
        "asset": account.futures_asset, "info": "FUNDING_FEE", "time": t_ms,
        "tranId": sim.store.next_id(), "tradeId": "",
    })  # fmt: skip
    wallet = fmt_dec(account.futures_wallet)
    sim.hub.user_event(account, True, {
        "e": "ACCOUNT_UPDATE", "E": t_ms, "T": t_ms,
        "a": {
            "m": "FUNDING_FEE",
            "B": [{"a": account.futures_asset, "wb": wallet, "cw": wallet, "bc": "0"}],
            "P": [position_event(pos, t_ms)] if pos.isolated else [],
        },
    })  # fmt: skip
    for listener in sim.hub.listeners:
        # Other protocols' private streams (Bybit's wallet and position topics).
        listener.account_update(account, True, {pos.symbol})


def routes() -> list[web.RouteDef]:
    """Return ``GET /fapi/v1/income``."""
    return [web.get("/fapi/v1/income", signed(Need.READ, _income))]


async def _income(
    request: web.Request, sim: SimExchange, key: ApiKey, params: Params
) -> web.Response:
    income_type = params.get("incomeType") or None
    if income_type is not None and income_type not in INCOME_TYPES:
        raise BinanceError(errors.BAD_PARAM_VALUE, name="incomeType", legal="an income type")
    symbol = params.get("symbol") or None
    start = int_param(params, "startTime")
    end = int_param(params, "endTime")
    limit = min(int_param(params, "limit") or 100, 1000)
    rows = [
        r
        for r in key.account.income
        if (income_type is None or r["incomeType"] == income_type)
        and (symbol is None or r["symbol"] == symbol)
        and (start is None or r["time"] >= start)
        and (end is None or r["time"] <= end)
    ]
    # Binance pages forward from startTime, otherwise it returns the most recent rows.
    return json(rows[:limit] if start is not None else rows[-limit:])
