"""Drift: are the inputs a model sees now still like the ones it was trained on?

Per monitored feature, two measures between a reference sample (the training rows kept with the
model) and a current one (the latest rows a session saw):

- **PSI** (population stability index): the current sample binned at the reference's deciles,
  ``sum((a - e) x ln(a / e))`` over the bins' shares (empty bins count as 1e-4). Rules of thumb:
  below 0.1 stable, 0.1-0.25 moderate, above 0.25 a shift.
- **KS**: the two-sample Kolmogorov-Smirnov statistic (largest gap between the two empirical
  distribution functions) and its p-value.

Both tests assume independent rows, and feature rows are not: a 30-bar volatility or a 14-bar RSI
at one bar shares almost all its inputs with the next bar's, so 200 rows hold perhaps ten
independent values. Judged as 200, every window of clean real data "drifted" (82-100% of 200-bar
windows on the bundled data). So each sample counts at its **effective size** (:func:`effective_size`):
``n / tau`` with ``tau = 1 + 2 sum rho_k`` the integrated autocorrelation time. The KS p-value is
computed at the effective sizes, and PSI must also exceed what sampling alone gives at those sizes
(under no drift, PSI is about ``chi2(bins - 1) x (1/n + 1/m)``).

A feature drifts when its PSI exceeds ``psi_limit`` and that sampling bound, *and* the KS p-value
is below ``p_limit`` divided by the number of features tested (Bonferroni): ``p_limit`` is the
false-alarm rate of a whole check, not of each feature. PSI alone flags small samples, KS alone
flags tiny shifts in large ones. NaN rows (warm-up) are left out per feature.

Only **monitored** features are tested: chosen at training by :func:`choose_monitored` (see there),
recorded on the model's card. A volatility level (``rv_30``, ``natr_14``, ``bb_width``) wanders
for days on real data and is never monitored; its change shows in the returns, which are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tradewind.core.errors import UserError

FloatArray = npt.NDArray[np.float64]

EMPTY_SHARE = 1e-4
MIN_ROWS = 20
PSI_BINS = 10
MAX_LAG = 50
DRIFT_WINDOW = 200
"""Rows of a session's drift check the training-time choice is made for (``[ml] drift_window``'s
default)."""
CHECK_WINDOWS = 60
"""Most training windows the stationarity check judges (spread over the period): a month of
1-minute bars holds 135, and each costs a test per feature."""
SCALE_DEPENDENT = frozenset({"rv_30", "natr_14", "bb_width"})
"""Features that are levels of the market's volatility, not ratios normalised by it: never
monitored (they pass no stationarity check on the bundled data: drifted in 94-100% of clean
200-bar windows)."""


def _autocorrelation(x: FloatArray, max_lag: int) -> FloatArray:
    centred = x - x.mean()
    n = centred.shape[0]
    spectrum = np.fft.rfft(centred, 2 * n)
    acov = np.fft.irfft(spectrum * np.conj(spectrum))[: max_lag + 1]
    if acov[0] <= 0:
        return np.zeros(max_lag + 1)
    return np.asarray(acov / acov[0], dtype=np.float64)


def _integrated_time(x: FloatArray) -> float:
    """``1 + 2 sum rho_k`` over the lags before the first non-positive autocorrelation (the
    initial positive sequence: later lags are noise at these sample sizes)."""
    rho = _autocorrelation(x, max(1, min(x.shape[0] // 4, MAX_LAG)))[1:]
    stop = np.flatnonzero(rho <= 0)
    positive = rho[: stop[0]] if stop.size else rho
    return float(1.0 + 2.0 * positive.sum())


def effective_size(values: FloatArray) -> float:
    """How many independent rows ``values`` (a time series, NaN left out) are worth.

    ``n / tau``, with ``tau`` the integrated autocorrelation time of the values *and* of their
    absolute deviations from the median, whichever is longer: returns barely autocorrelate, but
    their size does (volatility clusters), and a distribution test sees both. Between 2 and
    ``n``.
    """
    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    n = x.shape[0]
    if n < 3 or np.ptp(x) == 0:
        return float(max(n, 1))
    tau = max(_integrated_time(x), _integrated_time(np.abs(x - np.median(x))), 1.0)
    return float(min(n, max(2.0, n / tau)))


def _finite_pair(reference: FloatArray, current: FloatArray, what: str) -> tuple[FloatArray, ...]:
    ref = np.asarray(reference, dtype=np.float64)
    cur = np.asarray(current, dtype=np.float64)
    ref, cur = ref[np.isfinite(ref)], cur[np.isfinite(cur)]
    if ref.shape[0] < MIN_ROWS or cur.shape[0] < MIN_ROWS:
        raise UserError(f"{what} needs at least {MIN_ROWS} finite values in each sample")
    return ref, cur


def psi(reference: FloatArray, current: FloatArray, bins: int = PSI_BINS) -> float:
    """Population stability index of ``current`` against ``reference`` (finite values only)."""
    ref, cur = _finite_pair(reference, current, "PSI")
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1))[1:-1])
    expected = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=edges.size + 1)
    actual = np.bincount(np.searchsorted(edges, cur, side="right"), minlength=edges.size + 1)
    e = np.maximum(expected / ref.shape[0], EMPTY_SHARE)
    a = np.maximum(actual / cur.shape[0], EMPTY_SHARE)
    return float(np.sum((a - e) * np.log(a / e)))


def psi_bound(n_reference: float, n_current: float, p_limit: float, bins: int = PSI_BINS) -> float:
    """The PSI that samples of these (effective) sizes exceed with probability ``p_limit`` when
    nothing drifted: ``chi2(bins - 1)``'s upper quantile times ``1/n + 1/m``."""
    from scipy.stats import chi2

    return float(chi2.ppf(1.0 - p_limit, bins - 1) * (1.0 / n_reference + 1.0 / n_current))


def _ks_p(statistic: float, n: float, m: float) -> float:
    from scipy.special import kolmogorov

    en = np.sqrt(n * m / (n + m))
    # Stephens' small-sample correction of the asymptotic Kolmogorov distribution.
    return float(kolmogorov((en + 0.12 + 0.11 / en) * statistic))


def ks(
    reference: FloatArray, current: FloatArray, *, effective: bool = True
) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov statistic and p-value (finite values only).

    With ``effective`` (the default) the p-value is the asymptotic one at the samples'
    :func:`effective_size`; without, scipy's at the raw sizes (independent rows).
    """
    from scipy.stats import ks_2samp

    ref, cur = _finite_pair(reference, current, "KS")
    result = ks_2samp(ref, cur)
    if not effective:
        return float(result.statistic), float(result.pvalue)
    return float(result.statistic), _ks_p(
        float(result.statistic), effective_size(ref), effective_size(cur)
    )


def location_scale_ks(
    reference: FloatArray, current: FloatArray, *, sizes: tuple[float, float] | None = None
) -> tuple[float, float]:
    """KS of the values and of their distances from the reference median, at effective sizes:
    the larger statistic and the smaller p-value, doubled (Bonferroni over the two).

    ``sizes`` gives the two samples' effective sizes when the caller has them already.

    KS hardly sees a symmetric distribution widening (returns four times as large move the
    largest gap between the two distribution functions by about 0.25); the distances see it
    as a shift. This is how a volatility regime change shows in the returns.
    """
    from scipy.stats import ks_2samp

    ref, cur = _finite_pair(reference, current, "KS")
    centre = float(np.median(ref))
    n, m = sizes or (effective_size(ref), effective_size(cur))
    level = float(ks_2samp(ref, cur).statistic)
    spread = float(ks_2samp(np.abs(ref - centre), np.abs(cur - centre)).statistic)
    p_value = min(1.0, 2.0 * min(_ks_p(level, n, m), _ks_p(spread, n, m)))
    return max(level, spread), p_value


@dataclass(frozen=True, slots=True)
class FeatureDrift:
    """One feature's drift measures and verdict (sizes are effective sizes)."""

    name: str
    psi: float
    ks: float
    p_value: float
    drifted: bool
    n_reference: float = 0.0
    n_current: float = 0.0


@dataclass(frozen=True, slots=True)
class DriftReport:
    """Every monitored feature's measures; :attr:`drifted` names the ones that moved."""

    features: tuple[FeatureDrift, ...]

    @property
    def drifted(self) -> tuple[str, ...]:
        """Names of the features that drifted (empty: the inputs look like the training data)."""
        return tuple(f.name for f in self.features if f.drifted)


def _one(
    name: str, ref: FloatArray, cur: FloatArray, psi_limit: float, p_limit: float,
    n_reference: float | None = None,
) -> FeatureDrift:  # fmt: skip
    index = psi(ref, cur)
    # The reference's effective size is the same for every window: computed once by callers
    # that judge many windows.
    n = effective_size(ref) if n_reference is None else n_reference
    m = effective_size(cur)
    statistic, p_value = location_scale_ks(ref, cur, sizes=(n, m))
    limit = max(psi_limit, psi_bound(n, m, p_limit))
    return FeatureDrift(name, index, statistic, p_value, index > limit and p_value < p_limit, n, m)


def feature_drift(
    reference: FloatArray, current: FloatArray, names: Sequence[str], *,
    monitored: Sequence[str] | None = None, psi_limit: float = 0.25, p_limit: float = 0.01,
) -> DriftReport:  # fmt: skip
    """Compare each monitored column of ``current`` with the same column of ``reference``.

    ``names`` names the matrices' columns; ``monitored`` the ones tested (all by default), each
    at ``p_limit / len(monitored)``.

    Raises
    ------
    UserError
        When the matrices' columns do not match ``names``, or a monitored name is not one.
    """
    if reference.ndim != 2 or current.ndim != 2:
        raise UserError("drift needs two 2-D feature matrices")
    if reference.shape[1] != len(names) or current.shape[1] != len(names):
        raise UserError(
            f"drift: {len(names)} names for {reference.shape[1]} and {current.shape[1]} columns"
        )
    tested = tuple(names) if monitored is None else tuple(monitored)
    unknown = [n for n in tested if n not in names]
    if unknown:
        raise UserError(f"drift: monitored feature(s) {', '.join(unknown)} not among the columns")
    if not tested:
        return DriftReport(())
    column = {name: j for j, name in enumerate(names)}
    level = p_limit / len(tested)
    return DriftReport(tuple(
        _one(name, reference[:, column[name]], current[:, column[name]], psi_limit, level)
        for name in tested
    ))  # fmt: skip


@dataclass(frozen=True, slots=True)
class MonitorChoice:
    """Which features a model's drift check watches, and each one's in-sample alarm share."""

    monitored: tuple[str, ...]
    alarm_share: dict[str, float]


def choose_monitored(
    rows: FloatArray, reference: FloatArray, names: Sequence[str], *,
    window: int = DRIFT_WINDOW, p_limit: float = 0.05, psi_limit: float = 0.25,
    max_share: float = 0.05,
) -> MonitorChoice:  # fmt: skip
    """Choose the features worth monitoring, by a stationarity check on the training rows.

    ``rows`` are the training feature rows in bar order (contiguous; NaN rows are dropped),
    ``reference`` the rows kept with the model. Each non-overlapping ``window`` of ``rows`` is
    tested against ``reference`` as a session tests its latest rows (feature by feature at
    ``p_limit``; at most :data:`CHECK_WINDOWS` of them, evenly spread): a feature whose windows
    drift in more than ``max_share`` of them *inside its own training period* would alarm on
    clean data in production too, and is not monitored;
    neither is a volatility level (:data:`SCALE_DEPENDENT`). With fewer than two windows of
    training rows there is nothing to check: every scale-free feature is monitored.
    """
    complete = rows[np.isfinite(rows).all(axis=1)]
    starts = np.arange(0, complete.shape[0] - window + 1, window)
    if starts.shape[0] > CHECK_WINDOWS:  # evenly spread over the whole period
        starts = starts[np.linspace(0, starts.shape[0] - 1, CHECK_WINDOWS).round().astype(np.int64)]
    shares: dict[str, float] = {}
    for j, name in enumerate(names):
        if name in SCALE_DEPENDENT:
            continue
        if starts.shape[0] < 2:
            shares[name] = 0.0
            continue
        n_reference = effective_size(reference[:, j])
        verdicts = [
            _one(name, reference[:, j], complete[s : s + window, j], psi_limit, p_limit,
                 n_reference).drifted
            for s in starts
        ]  # fmt: skip
        shares[name] = float(np.mean(verdicts))
    monitored = tuple(name for name in names if name in shares and shares[name] <= max_share)
    return MonitorChoice(monitored, shares)
