"""Model features, declared once and computed causally from bars (and per-bar book/trade flow).

Every feature is a :class:`Feature`: a name, what it needs, and a function of
:class:`FeatureInputs` returning one float64 value per bar. Row ``t`` of the matrix uses bars
``0..t`` only (and book/flow rows known by bar ``t``'s close), so computing on ``inputs.head(t+1)``
gives the same row: :func:`assert_features_causal` checks exactly that for every feature and names
the one that fails. NaN marks warm-up; the study drops rows where any used feature is NaN.

Prices enter as ratios and returns, never as levels, so one model fits every price scale.

Scaling: :class:`Standardiser` is fitted on the training rows of a split only, then applied to the
test rows; the study refits it per fold (a scaler fitted on the whole series leaks the test
window's mean and spread into training).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from tradewind.core.errors import DataError, UserError
from tradewind.core.timeframe import Timeframe
from tradewind.indicators import (
    adx,
    aroonosc,
    bbands,
    cci,
    cmf,
    ema,
    macd,
    mfi,
    minus_di,
    natr,
    on_higher_timeframe,
    plus_di,
    realised_volatility,
    rsi,
    sma,
    stddev,
    stoch,
    willr,
)
from tradewind.indicators.mtf import HtfBars
from tradewind.indicators.patterns import cdldoji, cdlengulfing, cdlhammer, cdlshootingstar
from tradewind.indicators.regime import Regime, classify_regime
from tradewind.series.bars import BarSeries

FloatArray = npt.NDArray[np.float64]

# Higher timeframe for the alignment features: the first of these at least 12 base bars long.
_HTF_CHOICES = ("15m", "1h", "4h", "1d", "1w")


@dataclass(frozen=True, slots=True)
class FeatureInputs:
    """The bars of one symbol and, optionally, per-bar book/trade-flow columns aligned to them.

    ``flow`` columns (e.g. from :func:`tradewind.book.features.bar_features`) have one value per
    bar; row ``t`` must be known by bar ``t``'s close (book features are built that way).
    """

    bars: BarSeries
    flow: Mapping[str, FloatArray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, values in self.flow.items():
            if np.asarray(values).shape != (len(self.bars),):
                raise UserError(
                    f"flow column {name!r} has {np.asarray(values).shape} values, expected one "
                    f"per bar ({len(self.bars)})"
                )

    def head(self, n: int) -> FeatureInputs:
        """The first ``n`` bars and flow rows: what was known at bar ``n - 1``'s close."""
        return FeatureInputs(self.bars.head(n), {k: v[:n] for k, v in self.flow.items()})


@dataclass(frozen=True, slots=True)
class Feature:
    """One model input: ``compute(inputs)[t]`` may use bars ``0..t`` only."""

    name: str
    compute: Callable[[FeatureInputs], FloatArray]
    description: str
    needs_flow: tuple[str, ...] = ()

    def available(self, inputs: FeatureInputs) -> bool:
        """Whether the inputs hold every flow column this feature needs."""
        return all(c in inputs.flow for c in self.needs_flow)


class FeatureLeakError(AssertionError):
    """A feature's value at some bar changes when later bars are removed: it reads the future."""

    def __init__(self, feature: str, bar: int, full: float, truncated: float) -> None:
        super().__init__(
            f"feature {feature!r} is not causal: at bar {bar} it is {full!r} on the full series "
            f"but {truncated!r} when bars after {bar} are removed"
        )
        self.feature = feature
        self.bar = bar


def _log_return(close: FloatArray, lag: int) -> FloatArray:
    out = np.full(close.shape[0], np.nan)
    if close.shape[0] > lag:
        out[lag:] = np.log(close[lag:] / close[:-lag])
    return out


def _ratio(num: FloatArray, den: FloatArray) -> FloatArray:
    with np.errstate(divide="ignore", invalid="ignore"):
        out = num / den
    out[~np.isfinite(out)] = np.nan
    return out


def _bb_position(x: FeatureInputs) -> FloatArray:
    upper, _, lower = bbands(x.bars.close, 20)
    return _ratio(x.bars.close - lower, upper - lower)


def _bb_width(x: FeatureInputs) -> FloatArray:
    upper, middle, lower = bbands(x.bars.close, 20)
    return _ratio(upper - lower, middle)


def _macd_hist(x: FeatureInputs) -> FloatArray:
    return _ratio(macd(x.bars.close)[2], x.bars.close)


def _volume_z(x: FeatureInputs) -> FloatArray:
    v = np.log1p(x.bars.volume)
    return _ratio(v - sma(v, 50), stddev(v, 50))


def _regime_is(code: Regime) -> Callable[[FeatureInputs], FloatArray]:
    def compute(x: FeatureInputs) -> FloatArray:
        regime = classify_regime(x.bars.high, x.bars.low, x.bars.close)
        out = (regime == code).astype(np.float64)
        out[regime == Regime.UNDEFINED] = np.nan
        return out

    return compute


def _pattern(fn: Callable[..., npt.NDArray[np.int32]]) -> Callable[[FeatureInputs], FloatArray]:
    def compute(x: FeatureInputs) -> FloatArray:
        b = x.bars
        return np.asarray(fn(b.open, b.high, b.low, b.close), dtype=np.float64) / 100.0

    return compute


def higher_timeframe(base: Timeframe) -> Timeframe:
    """The alignment timeframe for ``base``: the first standard one spanning >= 12 base bars."""
    for text in _HTF_CHOICES:
        htf = Timeframe.parse(text)
        if htf.ms >= 12 * base.ms and base.divides(htf):
            return htf
    raise UserError(f"no higher timeframe for multi-timeframe features above {base}")


def _htf(indicator: Callable[..., FloatArray]) -> Callable[[FeatureInputs], FloatArray]:
    def compute(x: FeatureInputs) -> FloatArray:
        b = x.bars
        out = on_higher_timeframe(
            indicator,
            b.ts,
            b.open,
            b.high,
            b.low,
            b.close,
            b.volume,
            b.timeframe,
            higher_timeframe(b.timeframe),
        )
        assert isinstance(out, np.ndarray)
        return out

    return compute


def _htf_trend(bars: HtfBars) -> FloatArray:
    close = np.asarray(bars.close, dtype=np.float64)
    return _ratio(close, ema(close, 20)) - 1.0


def _htf_alignment(x: FeatureInputs) -> FloatArray:
    """+1 when the base trend (close over EMA 50) and the higher timeframe's agree up, -1 down."""
    base = np.sign(_ratio(x.bars.close, ema(x.bars.close, 50)) - 1.0)
    higher = np.sign(_htf(_htf_trend)(x))
    out = np.where(base == higher, base, 0.0)
    out[np.isnan(base) | np.isnan(higher)] = np.nan
    return out


def _flow(
    column: str, scale: Callable[[FeatureInputs], FloatArray] | None = None
) -> Callable[[FeatureInputs], FloatArray]:
    def compute(x: FeatureInputs) -> FloatArray:
        values = np.asarray(x.flow[column], dtype=np.float64)
        return values if scale is None else _ratio(values, scale(x))

    return compute


def _bar_volume(x: FeatureInputs) -> FloatArray:
    return np.where(x.bars.volume > 0, x.bars.volume, np.nan)


def _close(name: str, fn: Callable[[FloatArray], FloatArray], doc: str) -> Feature:
    return Feature(name, lambda x: fn(x.bars.close), doc)


def _hlc(name: str, fn: Callable[..., FloatArray], doc: str) -> Feature:
    return Feature(name, lambda x: fn(x.bars.high, x.bars.low, x.bars.close), doc)


FEATURES: tuple[Feature, ...] = (
    _close("ret_1", lambda c: _log_return(c, 1), "log return over 1 bar"),
    _close("ret_5", lambda c: _log_return(c, 5), "log return over 5 bars"),
    _close("ret_20", lambda c: _log_return(c, 20), "log return over 20 bars"),
    _close("rsi_14", lambda c: rsi(c, 14) / 100.0, "RSI(14) / 100"),
    Feature("macd_hist", _macd_hist, "MACD(12, 26, 9) histogram over close"),
    _close("ema_gap_50", lambda c: _ratio(c, ema(c, 50)) - 1.0, "close over EMA(50), minus 1"),
    _close("rv_30", lambda c: realised_volatility(c, 30, 1.0), "std of 30 log returns"),
    _hlc("natr_14", lambda h, lo, c: natr(h, lo, c, 14) / 100.0, "ATR(14) over close"),
    _hlc("adx_14", lambda h, lo, c: adx(h, lo, c, 14) / 100.0, "ADX(14) / 100"),
    _hlc(
        "di_spread_14",
        lambda h, lo, c: (plus_di(h, lo, c, 14) - minus_di(h, lo, c, 14)) / 100.0,
        "(+DI - -DI) / 100",
    ),
    _hlc("stoch_k", lambda h, lo, c: stoch(h, lo, c, 14)[0] / 100.0, "slow %K(14, 3, 3) / 100"),
    _hlc("willr_14", lambda h, lo, c: willr(h, lo, c, 14) / 100.0, "Williams %R(14) / 100"),
    _hlc("cci_20", lambda h, lo, c: cci(h, lo, c, 20) / 100.0, "CCI(20) / 100"),
    Feature("bb_position", _bb_position, "where close sits in the Bollinger band (0..1)"),
    Feature("bb_width", _bb_width, "Bollinger band width over the middle band"),
    Feature(
        "aroonosc_14", lambda x: aroonosc(x.bars.high, x.bars.low, 14) / 100.0, "Aroon osc / 100"
    ),
    Feature(
        "mfi_14",
        lambda x: mfi(x.bars.high, x.bars.low, x.bars.close, x.bars.volume, 14) / 100.0,
        "money flow index(14) / 100",
    ),
    Feature(
        "cmf_20",
        lambda x: cmf(x.bars.high, x.bars.low, x.bars.close, x.bars.volume, 20),
        "Chaikin money flow(20)",
    ),
    Feature("volume_z", _volume_z, "z-score of log volume over 50 bars"),
    Feature("cdl_engulfing", _pattern(cdlengulfing), "engulfing pattern (+1 bull, -1 bear)"),
    Feature("cdl_hammer", _pattern(cdlhammer), "hammer pattern"),
    Feature("cdl_shootingstar", _pattern(cdlshootingstar), "shooting star pattern"),
    Feature("cdl_doji", _pattern(cdldoji), "doji pattern"),
    Feature("regime_trend_up", _regime_is(Regime.TRENDING_UP), "regime is trending up (0/1)"),
    Feature("regime_trend_down", _regime_is(Regime.TRENDING_DOWN), "regime is trending down"),
    Feature("regime_volatile", _regime_is(Regime.VOLATILE), "regime is volatile (0/1)"),
    Feature("regime_quiet", _regime_is(Regime.QUIET), "regime is quiet (0/1)"),
    Feature(
        "htf_rsi_14",
        _htf(lambda b: rsi(b.close, 14) / 100.0),
        "RSI(14) / 100 of the last closed higher-timeframe bar",
    ),
    Feature("htf_trend", _htf(_htf_trend), "higher-timeframe close over its EMA(20), minus 1"),
    Feature("htf_alignment", _htf_alignment, "base and higher-timeframe trends agree: +1/-1/0"),
    Feature(
        "book_imbalance", _flow("imbalance"), "top-of-book imbalance at the bar close", ("imbalance",)
    ),
    Feature(
        "book_spread_bps", _flow("spread_bps"), "spread in bps at the bar close", ("spread_bps",)
    ),
    Feature(
        "flow_delta", _flow("volume_delta", _bar_volume), "taker buy-sell volume over bar volume",
        ("volume_delta",),
    ),
    Feature("flow_ofi", _flow("ofi", _bar_volume), "order-flow imbalance over bar volume", ("ofi",)),
)  # fmt: skip
"""Every declared feature, in matrix column order."""

_BY_NAME = {f.name: f for f in FEATURES}


def feature(name: str) -> Feature:
    """The declared feature called ``name`` (UserError naming the known ones otherwise)."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise UserError(f"unknown feature {name!r}; known: {', '.join(sorted(_BY_NAME))}") from None


def available_features(inputs: FeatureInputs) -> tuple[Feature, ...]:
    """The declared features these inputs can compute (book/flow ones only with their columns)."""
    return tuple(f for f in FEATURES if f.available(inputs))


def feature_matrix(
    inputs: FeatureInputs, features: Sequence[Feature] | None = None
) -> tuple[FloatArray, tuple[str, ...]]:
    """Compute features into a ``float64[bars, features]`` matrix (NaN during warm-up).

    Raises
    ------
    UserError
        If a requested feature needs a flow column the inputs lack.
    DataError
        If a feature returns the wrong number of values.
    """
    chosen = tuple(features) if features is not None else available_features(inputs)
    n = len(inputs.bars)
    out = np.empty((n, len(chosen)))
    for j, f in enumerate(chosen):
        if not f.available(inputs):
            missing = [c for c in f.needs_flow if c not in inputs.flow]
            raise UserError(f"feature {f.name!r} needs flow column(s) {', '.join(missing)}")
        values = np.asarray(f.compute(inputs), dtype=np.float64)
        if values.shape != (n,):
            raise DataError(f"feature {f.name!r} returned {values.shape}, expected ({n},)")
        out[:, j] = values
    return out, tuple(f.name for f in chosen)


BASE_HISTORY = 2000
"""Bars of history after which every base-timeframe feature at the last bar no longer depends on
where the series starts (to rounding): the slowest are the EMA(50) gap (the seed's weight is
(49/51)^2000, about 1e-35) and the regime flags (500-bar percentile ranks of a Wilder(14) ATR
that has itself settled after ~550 bars). Fixed-window features need far less."""

HTF_HISTORY = 600
"""Higher-timeframe bars the multi-timeframe features need (Wilder's RSI(14): the seed's weight
is (13/14)^600, about 5e-20; EMA(20): (19/21)^600, about 7e-27)."""


def history_bars(features: Sequence[Feature], timeframe: Timeframe) -> int:
    """Bars of history that give the last bar's features as the whole history gives them.

    Every feature is causal, so the row of bar ``t`` computed on bars ``t - W + 1 .. t`` equals
    the one computed on all bars ``0..t`` once ``W`` spans each feature's look-back and the
    recursive ones (EMA, Wilder smoothing) have forgotten their seed: equal to within rounding
    (running sums differ in their last digits, ~1e-13 relative, with the start point), the
    tolerance the tests check on real data.
    """
    needed = BASE_HISTORY
    if any(f.name.startswith("htf_") for f in features):
        ratio = higher_timeframe(timeframe).ms // timeframe.ms
        # One higher-timeframe bar more: the first one in the window may be partial.
        needed = max(needed, (HTF_HISTORY + 1) * ratio)
    return int(needed)


def latest_rows(inputs: FeatureInputs, features: Sequence[Feature], count: int) -> FloatArray:
    """The feature rows of the last ``count`` bars, computed from a bounded window of history
    (:func:`history_bars` before the first of them) instead of all of it: a session's cost per
    bar stays flat as its history grows."""
    n = len(inputs.bars)
    if count < 0 or count > n:
        raise UserError(f"latest_rows: {count} rows asked of {n} bars")
    start = max(0, n - count - history_bars(features, inputs.bars.timeframe) + 1)
    window = FeatureInputs(
        inputs.bars.slice(start, n), {k: v[start:] for k, v in inputs.flow.items()}
    )
    matrix, _ = feature_matrix(window, features)
    return matrix[matrix.shape[0] - count :]


def assert_features_causal(
    inputs: FeatureInputs, features: Sequence[Feature], bars: Sequence[int]
) -> None:
    """Truncation test: each feature at bar t equals its value computed on bars ``0..t``.

    Raises
    ------
    FeatureLeakError
        Naming the first feature (and bar) whose value changes when the future is removed.
    """
    full, names = feature_matrix(inputs, features)
    for t in bars:
        cut, _ = feature_matrix(inputs.head(t + 1), features)
        for j, name in enumerate(names):
            a, b = full[t, j], cut[t, j]
            if not (a == b or (np.isnan(a) and np.isnan(b))):
                raise FeatureLeakError(name, t, float(a), float(b))


@dataclass(frozen=True, slots=True)
class Standardiser:
    """Zero mean, unit variance per column, with statistics from the training rows only."""

    mean: FloatArray
    scale: FloatArray

    @classmethod
    def fit(cls, train: FloatArray) -> Standardiser:
        """Fit on the training rows (NaN ignored; a constant column keeps scale 1)."""
        if train.ndim != 2 or train.shape[0] == 0:
            raise UserError(f"Standardiser.fit needs a non-empty 2-D matrix, got {train.shape}")
        mean = np.nanmean(train, axis=0)
        scale = np.nanstd(train, axis=0)
        scale = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
        return cls(np.nan_to_num(mean), scale)

    def transform(self, x: FloatArray) -> FloatArray:
        """Scale rows with the training statistics."""
        return np.asarray((x - self.mean) / self.scale, dtype=np.float64)
