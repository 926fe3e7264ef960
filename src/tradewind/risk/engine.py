"""The risk engine: the one gate every intent passes, with sizing, limits and circuit breakers.

Exits (signal exits, protective stops, the kill switch's flattening) are reduce-only and always
approved, whatever the breakers say: a halted bot must never leave a position unprotected.
An entry passes these steps, and the first that says no is the answer (``Decision.code`` names
it):

1. breakers: REDUCING or HALTED deny new exposure (``breaker.<name>``); stale data too;
2. the position: one open position per strategy and symbol, unless the intent is a pyramiding add
   (``position.open``); no shorts on spot (``position.spot_short``);
3. sizing: the strategy's sizing model gives the position's value (``sizing.*`` when it cannot);
4. portfolio limits: deny, or reduce to what fits (``limit.*``);
5. cash: a spot buy must be affordable with its fee and a small buffer (``limit.cash``);
6. rounding: down to the lot step, then the minimum amount and notional (``sizing.below_*``).

An approved entry within every limit carries exactly the size the model gave; a reduced one says
which limit reduced it in ``code`` while ``approved`` stays true.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np

from tradewind.core.instrument import Instrument
from tradewind.core.intents import Decision, Intent, IntentAction, PriceType
from tradewind.core.money import ZERO, to_decimal
from tradewind.core.ports import AccountView, RiskAccount
from tradewind.market_state import ArrayMarketState, MarketState
from tradewind.risk.breakers import (
    BreakerBoard,
    BreakerRules,
    BreakerState,
    EquityWatch,
    ErrorRate,
    LossStreak,
    MarketWatch,
)
from tradewind.risk.exits import ProtectionBook
from tradewind.risk.limits import EntryRequest, OpenPosition, PortfolioLimits
from tradewind.risk.sizing import SizingInput, SizingModel, to_quantity
from tradewind.series.bars import BarSeries
from tradewind.sim.lots import exit_quantity
from tradewind.sim.rules import bracket_rows, tiered_liquidation_price

DAY_MS = 86_400_000
PYRAMID_REASON = "pyramid_add"


@dataclass(frozen=True, slots=True)
class RiskProfile:
    """The sizing model and limits of one strategy (or the default for all)."""

    sizing: SizingModel
    limits: PortfolioLimits = field(default_factory=PortfolioLimits)


@dataclass(frozen=True, slots=True, kw_only=True)
class MarginRules:
    """Futures margin assumptions for the liquidation-distance check (linear, isolated); the
    maintenance brackets are the instrument's (:attr:`Instrument.margin_brackets`)."""

    leverage: float = 1.0


class RiskEngine:
    """The :class:`~tradewind.core.ports.RiskGate` with sizing, limits and breakers.

    Parameters
    ----------
    default
        Profile for strategies without their own.
    instruments, bars
        Per symbol.
    profiles
        Per-strategy profiles by strategy id.
    breakers
        Breaker rules (account-wide).
    protection
        The protective-exit book (planned stops for fixed-risk sizing and the heat limit).
    initial_equity
        Starting equity in the account currency (the loss breakers' first reference).
    cash_buffer
        A market buy sized from the last close must stay affordable at the next open: spot buys
        are capped at ``free / (1 + fee) x (1 - cash_buffer)``.
    margin
        Margin assumptions for derivatives.
    """

    def __init__(
        self,
        *,
        default: RiskProfile,
        instruments: dict[str, Instrument],
        bars: dict[str, BarSeries],
        profiles: dict[str, RiskProfile] | None = None,
        breakers: BreakerRules | None = None,
        protection: ProtectionBook | None = None,
        initial_equity: float = 0.0,
        cash_buffer: float = 0.01,
        margin: MarginRules | None = None,
        market: MarketState | None = None,
    ) -> None:
        self.default = default
        self.profiles = dict(profiles or {})
        self.instruments = instruments
        self.bars = bars
        self.rules = breakers or BreakerRules()
        self.protection = protection
        self.cash_buffer = Decimal(str(cash_buffer))
        self.margin = margin or MarginRules()
        self._brackets: dict[str, np.ndarray] = {}
        self.board = BreakerBoard()
        self.trade_returns: dict[str, list[float]] = {}
        quotes = {i.quote for i in instruments.values()}
        self.equity_watch: EquityWatch | None = None
        if self.rules.watches_equity and len(quotes) == 1:
            self.equity_watch = EquityWatch(
                self.rules,
                bars,
                {s: instruments[s].base for s in bars},
                next(iter(quotes)),
                initial_equity,
            )
        self.market_watch: MarketWatch | None = None
        if any(
            v is not None
            for v in (self.rules.crash_drop, self.rules.market_crash_drop, self.rules.flash_zscore)
        ):
            self.market_watch = MarketWatch(self.rules, bars)
        self.streak = (
            None
            if self.rules.max_consecutive_losses is None
            else LossStreak(self.rules.max_consecutive_losses)
        )
        self.errors = (
            None if self.rules.max_error_rate is None else ErrorRate(self.rules.error_window)
        )
        self.market: MarketState = market or ArrayMarketState(bars, lambda: self._now)
        """Where prices, ATR, volatility, returns, volume and staleness are read (the market-state
        port): the bar arrays as of the decision's time in backtests, rolling buffers live."""
        self._now = 0

    def replace_bars(self, symbol: str, bars: BarSeries) -> None:
        """The bars of ``symbol`` are now ``bars``: the old ones plus those closed since (a trading
        session's growing series, never a different past). The breakers' detectors are causal, so
        they carry on over the longer series with the answers a backtest of it gives."""
        self.bars[symbol] = bars
        if self.equity_watch is not None:
            self.equity_watch.extend(self.bars)
        if self.market_watch is not None:
            self.market_watch.extend(self.bars)

    # -- the gate ---------------------------------------------------------------------------------

    def profile(self, strategy_id: str) -> RiskProfile:
        """The profile of ``strategy_id``."""
        return self.profiles.get(strategy_id, self.default)

    def decide(self, intent: Intent, account: AccountView) -> Decision:
        """Size, reduce or deny ``intent`` (see the module docstring)."""
        if not isinstance(account, RiskAccount):
            raise TypeError("the risk engine needs an account that lists positions and time")
        now = account.clock()
        self._now = now
        instrument = self.instruments.get(intent.symbol)
        if instrument is None:
            return _deny(intent, "instrument.unknown", f"no instrument for {intent.symbol}")
        position = account.position(intent.strategy_id, intent.symbol)
        if intent.action.is_exit:
            return self._exit(intent, position, instrument)
        state, breaker = self.board.blocking(now)
        if state is not BreakerState.ACTIVE:
            return _deny(
                intent, f"breaker.{breaker}", f"breakers are {state.value} ({breaker}): exits only"
            )
        stale = self._stale(intent.symbol, now)
        if stale:
            return _deny(intent, "breaker.stale_data", stale)
        is_long = intent.action is IntentAction.ENTER_LONG
        adding = intent.reason == PYRAMID_REASON and intent.quantity is not None
        if position != 0 and not (adding and (position > 0) == is_long):
            return _deny(intent, "position.open", "a position is already open")
        if not is_long and instrument.is_spot:
            return _deny(
                intent,
                "position.spot_short",
                f"{intent.symbol} is a spot market: it cannot be sold short",
            )
        return self._entry(intent, account, instrument, is_long)

    def _exit(self, intent: Intent, position: Decimal, instrument: Instrument) -> Decision:
        wants_long = intent.action is IntentAction.EXIT_LONG
        if position == 0 or (position > 0) != wants_long:
            side = "long" if wants_long else "short"
            return _deny(intent, "exit.no_position", f"no {side} position to exit")
        # Whole lots only: a remainder below one lot stays behind as dust (sim.lots).
        quantity = exit_quantity(instrument, position)
        if intent.quantity is not None:
            quantity = min(quantity, intent.quantity)
        return Decision(intent, True, quantity=quantity)

    def _entry(
        self, intent: Intent, account: RiskAccount, instrument: Instrument, is_long: bool
    ) -> Decision:
        profile = self.profile(intent.strategy_id)
        bar = self._bar(intent.symbol, account.clock())
        if intent.price_type is PriceType.LIMIT:
            if intent.limit_price is None:
                return _deny(intent, "intent.no_limit_price", "a limit intent needs a limit price")
            price = instrument.round_price(intent.limit_price)
        else:
            price = account.last_price(intent.symbol)
        equity = account.equity()
        free = account.free(instrument.quote)
        stop = self._planned_stop(intent, is_long, float(price), bar)
        positions = self._positions(account)
        if intent.quantity is not None:
            # An explicit size (a pyramiding add): the model is not asked, the limits still are.
            notional, by_quote = intent.quantity * price * instrument.contract_size, False
        else:
            data = SizingInput(
                equity=equity,
                free=free,
                price=price,
                stop_price=stop,
                atr=self._atr_at(intent.symbol, bar),
                confidence=intent.confidence,
                trade_returns=tuple(self.trade_returns.get(intent.strategy_id, ())),
                volatility=self._vol(intent.symbol, bar),
                open_volatilities=tuple(
                    v
                    for p in positions
                    if (v := self._vol(p.symbol, self._bar(p.symbol, account.clock()))) is not None
                ),
            )
            sized, why = profile.sizing.notional(data)
            if sized is None:
                return _deny(intent, "sizing.unavailable", why)
            if sized <= 0:
                return _deny(intent, "sizing.zero", why or "the sizing model gives nothing")
            notional, by_quote = sized, profile.sizing.by_quote
            if intent.size_hint is not None:
                notional *= min(max(intent.size_hint, ZERO), Decimal(1))
        request = EntryRequest(
            strategy_id=intent.strategy_id,
            symbol=intent.symbol,
            base=instrument.base,
            is_long=is_long,
            notional=notional,
            price=price,
            stop=stop,
            correlations=self._correlations(intent.symbol, positions, profile.limits, account),
            quote_volume_24h=self.market.quote_volume(intent.symbol, DAY_MS, account.clock()),
            liquidation_price=self._liquidation(instrument, price, is_long, notional),
        )
        verdict = profile.limits.check(request, positions, equity)
        if verdict.denied:
            return _deny(intent, verdict.code, verdict.reason)
        notional, code, reason = verdict.notional, verdict.code, verdict.reason
        if instrument.is_spot and is_long:
            fee = (
                instrument.taker_fee
                if intent.price_type is PriceType.MARKET
                else instrument.maker_fee
            )
            if by_quote:
                if notional > free:
                    return _deny(
                        intent,
                        "limit.cash",
                        f"stake {notional} {instrument.quote} exceeds the free {free}",
                    )
            else:
                affordable = free / (1 + fee) * (1 - self.cash_buffer)
                if affordable <= 0:
                    return _deny(intent, "limit.cash", f"no free {instrument.quote} to buy with")
                if notional > affordable:
                    notional, code, reason = (
                        affordable,
                        "limit.cash",
                        f"free {instrument.quote} {free}",
                    )
        if by_quote and intent.price_type is PriceType.MARKET:
            if notional <= 0:
                return _deny(intent, "sizing.zero", f"no free {instrument.quote} to stake")
            if instrument.min_notional is not None and notional < instrument.min_notional:
                return _deny(
                    intent,
                    "sizing.below_min_notional",
                    f"stake {notional} is below the minimum notional {instrument.min_notional}",
                )
            return Decision(intent, True, quote_amount=notional, code=code, reason=reason)
        if by_quote:
            # A limit order by stake: the quantity the stake buys at the limit price, fee included.
            fee = instrument.maker_fee
            notional = notional / (1 + fee)
        quantity, failed = to_quantity(notional, price, instrument)
        if failed:
            return _deny(
                intent,
                failed,
                f"{notional:.8f} {instrument.quote} buys less than the market allows",
            )
        limit_price = price if intent.price_type is PriceType.LIMIT else None
        return Decision(
            intent, True, quantity=quantity, code=code, reason=reason, limit_price=limit_price
        )

    # -- market and account helpers ---------------------------------------------------------------

    def _bar(self, symbol: str, now: int) -> int:
        series = self.bars[symbol]
        return int(np.searchsorted(series.close_time, now, side="right")) - 1

    def _planned_stop(
        self, intent: Intent, is_long: bool, price: float, bar: int
    ) -> Decimal | None:
        if intent.stop_price is not None:
            return intent.stop_price
        if self.protection is None:
            return None
        level = self.protection.planned_stop(intent.strategy_id, intent.symbol, is_long, price, bar)
        return None if math.isnan(level) else to_decimal(level)

    def _positions(self, account: RiskAccount) -> list[OpenPosition]:
        out = []
        # Positions the bot did not make (``external``) take room under every limit like its own.
        held = [*account.open_positions(), *account.external_positions()]
        for strategy_id, symbol, quantity in held:
            stop = None
            if self.protection is not None:
                guard = self.protection.guards.get((strategy_id, symbol))
                if guard is not None and not math.isnan(guard.stop):
                    stop = to_decimal(guard.stop)
            out.append(
                OpenPosition(
                    strategy_id,
                    symbol,
                    self.instruments[symbol].base,
                    quantity,
                    account.last_price(symbol),
                    stop,
                )
            )
        return out

    def _atr_at(self, symbol: str, bar: int) -> float | None:
        return None if bar < 0 else self.market.atr(symbol)

    def _vol(self, symbol: str, bar: int) -> float | None:
        return None if bar < 0 else self.market.volatility(symbol)

    def _correlations(
        self,
        symbol: str,
        positions: list[OpenPosition],
        limits: PortfolioLimits,
        account: RiskAccount,
    ) -> dict[str, float]:
        if limits.max_correlation is None:
            return {}
        window = limits.correlation_window
        out: dict[str, float] = {}
        for p in positions:
            if p.symbol == symbol or p.symbol in out:
                continue
            found = self.market.correlation(symbol, p.symbol, window)
            if found is not None:
                out[p.symbol] = found
        return out

    def _liquidation(
        self, instrument: Instrument, price: Decimal, is_long: bool, notional: Decimal
    ) -> Decimal | None:
        """Where the entry of ``notional`` (quote) at ``price`` would be liquidated, or None."""
        if instrument.is_spot or price <= 0 or notional <= 0:
            return None
        brackets = self._brackets.get(instrument.symbol)
        if brackets is None:  # converted once per symbol: the table is the instrument's
            brackets = self._brackets[instrument.symbol] = bracket_rows(
                instrument.margin_brackets.floats
            )
        level = tiered_liquidation_price(
            float(price),
            float(notional / price),
            is_long,
            float(notional) / self.margin.leverage,
            brackets,
        )
        return to_decimal(level)

    def _stale(self, symbol: str, now: int) -> str:
        limit = self.rules.stale_after_ms
        if limit is None:
            return ""
        age = self.market.staleness(symbol, now)
        if age is None:
            return f"no {symbol} data yet"
        return (
            f"{symbol} data is {age / 1000:.0f}s old (limit {limit / 1000:.0f}s)"
            if age > limit
            else ""
        )

    # -- observing the account (the RiskObserver port) --------------------------------------------

    def on_fill(self, account: RiskAccount, symbol: str, bar_ts: int) -> None:
        """A fill in the bar of ``symbol`` that opened at ``bar_ts`` changed the balances."""
        if self.equity_watch is not None:
            at = self.equity_watch.timeline_index(bar_ts)
            balances = {k: float(v) for k, v in account.balances().items()}
            self.equity_watch.rebalance(at, balances)

    def on_trade_closed(
        self, strategy_id: str, pnl: Decimal, value: Decimal, ts: int, bar_ts: int, symbol: str
    ) -> None:
        """A round trip closed: record its return (Kelly, optimal f) and the loss streak."""
        if value > 0:
            self.trade_returns.setdefault(strategy_id, []).append(float(pnl / value))
        if self.streak is not None and self.streak.record(strategy_id, float(pnl)):
            bars = self.bars[symbol]
            bar = int(np.searchsorted(bars.ts, bar_ts))  # the breaker log keeps the bar number
            self.board.trip(
                f"consecutive_losses:{strategy_id}",
                BreakerState.REDUCING,
                ts + self.rules.loss_cooldown_bars * bars.timeframe.ms,
                ts=ts,
                bar=bar,
                symbol=symbol,
                reason=f"{self.rules.max_consecutive_losses} losing trades in a row for {strategy_id}",
            )

    def on_order_result(self, rejected: bool, ts: int) -> None:
        """An order was accepted or rejected by the venue (the error-rate breaker)."""
        if self.errors is None or self.rules.max_error_rate is None:
            return
        rate = self.errors.record(rejected)
        if rate is None:
            return
        if rate > self.rules.max_error_rate:
            if "venue_errors" not in self.board.restrictions:
                self.board.trip(
                    "venue_errors",
                    BreakerState.REDUCING,
                    None,
                    ts=ts,
                    bar=-1,
                    reason=f"{rate:.0%} of the last {self.rules.error_window} orders were rejected",
                )
        elif "venue_errors" in self.board.restrictions:
            self.board.lift("venue_errors", ts, f"venue error rate back to {rate:.0%}")

    def next_event(self) -> int | None:
        """Time (ms) of the next breaker trip the bar data and the balances imply, or None."""
        best: int | None = None
        if self.equity_watch is not None:
            found = self.equity_watch.next_trip()
            if found is not None:
                best = found[0]
        if self.market_watch is not None:
            hit = self.market_watch.next_trip(self._now)
            if hit is not None and (best is None or hit[0] < best):
                best = hit[0]
        return best

    def fire(self, now: int) -> bool:
        """Handle the trips due at ``now``; True when the account must be flattened."""
        self._now = now
        flatten = False
        watch = self.equity_watch
        if watch is not None:
            found = watch.next_trip()
            if found is not None and found[0] <= now:
                for name, bar, until, loss in watch.take():
                    if name == "max_drawdown":
                        limit = self.rules.max_drawdown
                        self.board.trip(
                            name, BreakerState.HALTED, None, ts=now, bar=bar,
                            reason=f"drawdown {loss:.2%} from peak reached the limit {limit:.2%}",
                        )  # fmt: skip
                        flatten = flatten or self.rules.kill_on_drawdown
                    else:
                        limit = getattr(self.rules, name)
                        self.board.trip(
                            name, BreakerState.REDUCING, None if until < 0 else until, ts=now, bar=bar,
                            reason=f"{name.replace('_', ' ')} {loss:.2%} reached the limit {limit:.2%}",
                        )  # fmt: skip
        market = self.market_watch
        if market is not None:
            hit = market.next_trip(0)
            while hit is not None and hit[0] <= now:
                ts, symbol, bar, reason = hit
                market.consume()
                cooldown = (
                    self.rules.cooldown_bars
                    * self.bars[symbol or next(iter(self.bars))].timeframe.ms
                )
                name = reason.split(":")[0].replace(" ", "_").replace("-", "_")
                self.board.trip(
                    f"{name}:{symbol}" if symbol else name, BreakerState.REDUCING, ts + cooldown,
                    ts=ts, bar=bar, symbol=symbol, reason=reason,
                )  # fmt: skip
                # Hits inside the cooldown change nothing: skip them.
                market.skip_until(ts + cooldown)
                hit = market.next_trip(0)
        return flatten

    def kill_switch(self, ts: int, reason: str = "kill switch") -> None:
        """HALT the account (the Node cancels the orders and flattens the positions)."""
        self.board.trip("kill_switch", BreakerState.HALTED, None, ts=ts, bar=-1, reason=reason)

    def resume(self, ts: int) -> None:
        """A person resumes trading: every restriction is cleared."""
        self.board.resume(ts)


def _deny(intent: Intent, code: str, reason: str) -> Decision:
    return Decision(intent, False, reason=reason, code=code)
