"""The strategy API: declared parameters, vectorised signals, optional event hooks.

A strategy computes its signals once, vectorised over the bars it is given, and must be causal:
the signal at bar ``i`` may use bars ``0..i`` only (the engine acts on it at bar ``i``'s close).
A truncation test proves it for every built-in. Strategies that need per-bar logic override
:meth:`Strategy.on_bar`; the engine then calls it at every bar close, with a context to emit intents.
Exits beyond the signals, stops and sizing come from risk rules, so they run the same everywhere.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import numpy as np
import numpy.typing as npt

from tradewind.book.book import OrderBook
from tradewind.core.algo_spec import AlgoSpec
from tradewind.core.errors import UserError
from tradewind.core.intents import IntentAction, PriceType
from tradewind.core.market_context import MarketContext
from tradewind.core.orders import Fill
from tradewind.core.records import Trade
from tradewind.market_state import MarketState
from tradewind.series.bars import BarSeries
from tradewind.strategies.params import Param, ParamValue, resolve_params

if TYPE_CHECKING:
    from tradewind.strategies.streams import SignalStream

BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class Signals:
    """Entry and exit flags per bar, each known at that bar's close.

    Any of the arrays may be ``None`` (never). When an entry and an exit of the same side fall on one
    bar, the exit wins: doing nothing new is the conservative reading of a contradiction.
    """

    entry_long: BoolArray | None = None
    exit_long: BoolArray | None = None
    entry_short: BoolArray | None = None
    exit_short: BoolArray | None = None
    confidence: npt.ArrayLike | None = None
    """Optional, one float per bar in [0, 1] (NaN: none): how sure the entry at that bar is, for
    the risk engine's confidence sizing."""

    def confidence_array(self, n: int) -> npt.NDArray[np.float64] | None:
        """The confidence as floats of length ``n``, or None when the strategy gives none.

        Raises
        ------
        UserError
            If it has the wrong length or a value outside [0, 1] (NaN is allowed: no confidence).
        """
        if self.confidence is None:
            return None
        values = np.asarray(self.confidence, dtype=np.float64)
        if values.shape != (n,):
            raise UserError(f"signal confidence has shape {values.shape}, expected ({n},)")
        bad = ~np.isnan(values) & ((values < 0) | (values > 1))
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            raise UserError(
                f"signal confidence must be within [0, 1] (or NaN), got {values[first]!r} at "
                f"index {first}"
            )
        values.flags.writeable = False
        return values

    def arrays(self, n: int) -> tuple[BoolArray, BoolArray, BoolArray, BoolArray]:
        """All four as boolean arrays of length ``n`` (``None`` becomes all-False).

        Each array goes through :func:`signal_flags`: booleans, or numbers in {0, 1, NaN}.

        Raises
        ------
        UserError
            If an array has the wrong length or holds a value that is not a signal.
        """
        out = []
        for name in ("entry_long", "exit_long", "entry_short", "exit_short"):
            value = getattr(self, name)
            if value is None:
                out.append(np.zeros(n, dtype=np.bool_))
                continue
            out.append(signal_flags(name, value, n))
        return out[0], out[1], out[2], out[3]


def signal_flags(name: str, value: npt.ArrayLike, n: int) -> BoolArray:
    """One signal column as booleans: the one reading of signals both engines use.

    Booleans are taken as they are. Numbers must be 0, 1 or NaN, and NaN means False: an
    indicator is NaN during its warm-up, and an undefined comparison is no signal (reading NaN as
    True, as ``bool(nan)`` does, would enter during the warm-up). Anything else (2, -1, inf,
    strings, None) is refused rather than guessed at.

    Raises
    ------
    UserError
        Naming the column and the first bad index, or a wrong shape.
    """
    array = np.asarray(value)
    if array.shape != (n,):
        raise UserError(f"signal {name} has shape {array.shape}, expected ({n},)")
    if array.dtype == np.bool_:
        return array
    if array.dtype.kind in "iuf":
        numbers = array.astype(np.float64)
        nan = np.isnan(numbers)
        bad = ~(nan | (numbers == 0.0) | (numbers == 1.0))
        if bad.any():
            _refuse(name, array, int(np.flatnonzero(bad)[0]))
        return np.asarray(numbers == 1.0, dtype=np.bool_)
    if array.dtype == object:
        flags = np.zeros(n, dtype=np.bool_)
        for i, item in enumerate(array.tolist()):
            if isinstance(item, bool | np.bool_):
                flags[i] = bool(item)
                continue
            number = float(item) if isinstance(item, int | float | np.number) else 2.0
            if not math.isnan(number) and number not in (0.0, 1.0):
                _refuse(name, array, i)
            flags[i] = number == 1.0
        return flags
    _refuse(name, array, 0)
    raise AssertionError("unreachable")  # pragma: no cover - _refuse raises


def _shown(value: Any) -> str:
    return repr(value.item() if isinstance(value, np.generic) else value)


def _refuse(name: str, array: npt.NDArray[Any], index: int) -> None:
    raise UserError(
        f"signal column {name} holds {_shown(array[index])} at index {index}; a signal is a bool, "
        "or a number that is 0, 1 or NaN (NaN means no signal)"
    )


TIE_TOLERANCE = 1e-12
"""Relative difference below which two indicator values count as equal in a crossing."""


def _above(x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]) -> BoolArray:
    # Two averages of the same prices are often exactly equal; float rounding then decides the
    # sign at random and differs between implementations (a running sum, a fresh mean). A
    # difference within TIE_TOLERANCE is a tie, so a crossing never depends on rounding noise.
    with np.errstate(invalid="ignore"):
        return x - y > TIE_TOLERANCE * np.maximum(np.abs(x), np.abs(y))


def crossed_above(a: npt.ArrayLike, b: npt.ArrayLike) -> BoolArray:
    """True at bar i when ``a[i] > b[i]`` and ``a[i-1] <= b[i-1]`` (all four defined; values
    within a relative :data:`TIE_TOLERANCE` of each other are equal)."""
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    out = np.zeros(x.shape, dtype=np.bool_)
    defined = ~(np.isnan(x) | np.isnan(y))
    above = _above(x, y)
    # NaN is neither above nor below, so warm-up bars never cross.
    out[1:] = above[1:] & ~above[:-1] & defined[1:] & defined[:-1]
    return out


def crossed_below(a: npt.ArrayLike, b: npt.ArrayLike) -> BoolArray:
    """True at bar i when ``a[i] < b[i]`` and ``a[i-1] >= b[i-1]`` (all four defined)."""
    return crossed_above(b, a)


class StrategyContext(Protocol):
    """What a strategy sees and can do inside an event hook."""

    @property
    def ts(self) -> int:
        """Current engine time, UTC ms."""
        ...

    def position(self, symbol: str) -> Decimal:
        """This strategy's signed position in ``symbol`` (base units)."""
        ...

    def emit(
        self,
        symbol: str,
        action: IntentAction,
        *,
        price_type: PriceType = PriceType.MARKET,
        limit_price: Decimal | None = None,
        reason: str = "",
        size_hint: Decimal | None = None,
        confidence: float | None = None,
        algo: AlgoSpec | None = None,
    ) -> None:
        """Send an intent to the risk gate (``confidence`` in [0, 1] feeds confidence sizing;
        ``algo`` names the execution algorithm, :class:`~tradewind.core.algo_spec.AlgoSpec`)."""
        ...

    def set_timer(self, at_ms: int, name: str) -> None:
        """Have :meth:`Strategy.on_timer` called with ``name`` at ``at_ms`` (UTC ms)."""
        ...

    @property
    def market(self) -> MarketState:
        """The market as of now: latest prices, closes so far, ATR, volatility, returns,
        correlation, quote volume, staleness (the same answers in backtests and live)."""
        ...

    def market_context(self, symbol: str) -> MarketContext | None:
        """The latest context of ``symbol`` across venues (funding, open interest, 24-hour
        volume, cross-venue spreads) in a session that polls it; None in backtests (recorded
        bars carry no context) and before the first poll."""
        ...


class ReservedNameError(UserError):
    """A strategy class uses a name the :class:`Strategy` base class reserves for itself.

    Raised when the class is defined, so a mistake such as ``params = {"fast": 10}`` (which would
    replace the ``params`` property and silently leave the strategy with no parameters) stops at
    the class statement with the name and the fix, instead of running without the parameters.
    """


class Strategy:
    """Base class of every strategy.

    Subclasses set ``name``, declare parameters as class attributes of type :class:`Param`, and
    implement :meth:`signals`. Parameter values are read as attributes (``self.fast``). The names
    the base class uses itself (:data:`RESERVED_NAMES`) cannot be parameters or plain values: the
    class statement raises :class:`ReservedNameError` naming them.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    _declared: ClassVar[dict[str, Param]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _check_reserved_names(cls)
        declared: dict[str, Param] = {}
        for klass in reversed(cls.__mro__):
            for key, value in vars(klass).items():
                if isinstance(value, Param):
                    declared[key] = value
        cls._declared = declared

    def __init__(self, **params: Any) -> None:
        owner = f"strategy {self.name or type(self).__name__!r}"
        self._values = resolve_params(owner, self._declared, params)
        # Instance attributes shadow the class-level Param declarations, so ``self.fast`` is 10.
        for key, value in self._values.items():
            setattr(self, key, value)
        hooks = (
            self.wants_bar_callback() or self.wants_trade_callback() or self.wants_book_callback()
        )
        if type(self).signals is Strategy.signals and not hooks:
            raise UserError(
                f"{owner} must implement signals() or an event hook (on_bar, on_trade, on_book)"
            )
        self.validate()

    def update_params(self, **params: Any) -> None:
        """Change parameter values in place (an operator tuning a running hook strategy),
        checked as at construction; on an error nothing changes.

        Raises
        ------
        UserError
            For an unknown parameter, a value out of range or a broken relation.
        """
        owner = f"strategy {self.name or type(self).__name__!r}"
        values = resolve_params(owner, self._declared, {**self._values, **params})
        before = self._values
        self._values = values
        for key, value in values.items():
            setattr(self, key, value)
        try:
            self.validate()
        except UserError:
            self._values = before
            for key, value in before.items():
                setattr(self, key, value)
            raise

    @classmethod
    def parameters(cls) -> Mapping[str, Param]:
        """The declared parameters by name."""
        return dict(cls._declared)

    @property
    def params(self) -> dict[str, ParamValue]:
        """The parameter values of this instance."""
        return dict(self._values)

    @property
    def id(self) -> str:
        """A readable id: name and non-default parameters."""
        changed = [f"{k}={v}" for k, v in self._values.items() if v != self._declared[k].default]
        return f"{self.name}({', '.join(changed)})" if changed else self.name

    def validate(self) -> None:
        """Check relations between parameters (e.g. fast < slow); raise ``UserError`` if broken."""

    @property
    def warmup(self) -> int:
        """Bars of history the signals need before they are meaningful."""
        return 0

    def indicators(self, bars: BarSeries) -> dict[str, npt.NDArray[np.float64]]:
        """Named indicator columns behind the signals, one value per bar of ``bars``, causally.

        Optional (empty by default). Lookahead and warm-up analysis check every column returned
        here, so a strategy that exposes its indicators gets a leak reported by column name.
        """
        return {}

    def signals(self, bars: BarSeries) -> Signals:
        """Entry and exit flags for every bar of ``bars``, causally (none by default: a strategy
        that only uses :meth:`on_bar` does not need signals)."""
        return Signals()

    def signal_stream(self) -> SignalStream | None:
        """A fresh :class:`~tradewind.strategies.streams.SignalStream` that gives, bar by bar,
        the flags :meth:`signals` gives, or None (the default) when there is none.

        A trading session feeds it each bar as it closes instead of recomputing :meth:`signals`
        over every bar it holds; it checks the stream against :meth:`signals` over its warm-up
        first, and a subclass that overrides :meth:`signals` or :meth:`indicators` without
        overriding this is recomputed (its parent's stream would compute the parent's signals).
        """
        return None

    def on_bar(self, ctx: StrategyContext, bars: BarSeries, i: int) -> None:
        """Per-bar hook at bar ``i``'s close. Override it only when signals cannot express the logic:
        the engine then calls it at every bar, which is slower.

        ``bars`` holds bars ``0..i`` only (``bars.close[i]`` is the bar that has just closed;
        there is no ``i + 1``), as read-only arrays. An exception stops this strategy, not the
        run (see ``on_strategy_error``)."""

    def on_fill(self, ctx: StrategyContext, fill: Fill) -> None:
        """Called after each fill of this strategy's orders."""

    def on_timer(self, ctx: StrategyContext, name: str) -> None:
        """Called when a timer set with ``ctx.set_timer(at_ms, name)`` comes due."""

    def on_trade(self, ctx: StrategyContext, trade: Trade) -> None:
        """Called for each public trade of a symbol this strategy trades, where trades are fed
        (``backtest(..., trades=...)``). ``ctx.ts`` is the trade's time."""

    def on_book(self, ctx: StrategyContext, book: OrderBook) -> None:
        """Called after each order-book update of a symbol this strategy trades, where books are
        fed (``backtest(..., books=...)``). The book is live: copy what must outlive the call."""

    @classmethod
    def wants_bar_callback(cls) -> bool:
        """True when the class overrides :meth:`on_bar`."""
        return cls.on_bar is not Strategy.on_bar

    @classmethod
    def wants_trade_callback(cls) -> bool:
        """True when the class overrides :meth:`on_trade`."""
        return cls.on_trade is not Strategy.on_trade

    @classmethod
    def wants_book_callback(cls) -> bool:
        """True when the class overrides :meth:`on_book`."""
        return cls.on_book is not Strategy.on_book

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self._values.items())})"


RESERVED_NAMES: frozenset[str] = frozenset(
    key for key in vars(Strategy) if not (key.startswith("__") and key.endswith("__"))
)
"""Names the :class:`Strategy` base class defines (methods, properties, ``name``...): a subclass
may override the methods and properties with its own, but never declare a :class:`Param` or a
plain value under one of them."""

_OVERRIDABLE_AS_VALUE = {"name": str, "description": str, "warmup": int}
"""Reserved names a subclass may set to a plain value, and the value's type."""


def _check_reserved_names(cls: type[Strategy]) -> None:
    for key, value in vars(cls).items():
        if key not in RESERVED_NAMES:
            continue
        owner = f"strategy class {cls.__name__}"
        if isinstance(value, Param):
            raise ReservedNameError(
                f"{owner} declares a parameter named {key!r}, a name Strategy reserves for "
                f"itself; rename the parameter (e.g. {key}_value = Param(...))"
            )
        allowed = _OVERRIDABLE_AS_VALUE.get(key)
        if allowed is not None:
            if not isinstance(value, allowed | property) or isinstance(value, bool):
                raise ReservedNameError(
                    f"{owner} sets {key!r} to {type(value).__name__}; it must be a "
                    f"{allowed.__name__}"
                )
            continue
        if callable(value) or isinstance(value, property | classmethod | staticmethod):
            continue  # overriding a hook or a property is what subclasses are for
        hint = (
            "; declare each parameter as a class attribute instead, e.g. "
            "fast = Param(10, low=2, high=200, doc='fast period, bars')"
            if key in ("params", "parameters", "_declared", "_values")
            else ""
        )
        raise ReservedNameError(
            f"{owner} sets {key!r} to a {type(value).__name__}, which replaces Strategy.{key}; "
            f"{key!r} is reserved{hint}"
        )


def require(condition: bool, message: str) -> None:
    """Raise ``UserError(message)`` unless ``condition`` holds (for :meth:`Strategy.validate`)."""
    if not condition:
        raise UserError(message)
