"""Truncation test for vectorised indicators: a value at bar t must not change when the future is cut.

``assert_causal`` computes an indicator once on the full series and again on ``series[:t+1]`` for
a sample of bars t, and requires the value at t to be identical (NaN where NaN). Any use of data
after t (a centred window, a forward fill from the future, a normalisation over the whole series)
shows up as a difference.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

Outputs = npt.NDArray[np.generic] | Sequence[npt.NDArray[np.generic]]


def sample_bars(n: int, count: int = 30, *, seed: int = 7) -> list[int]:
    """``count`` distinct bars spread over ``0..n-1`` (always including the first and last)."""
    if n <= count:
        return list(range(n))
    rng = np.random.default_rng(seed)
    picks = rng.choice(np.arange(1, n - 1), size=count - 2, replace=False)
    return sorted({0, n - 1, *(int(p) for p in picks)})


def _as_list(result: Outputs) -> list[npt.NDArray[np.generic]]:
    if isinstance(result, np.ndarray):
        return [result]
    return [np.asarray(r) for r in result]


def assert_causal(
    compute: Callable[..., Outputs],
    inputs: Sequence[npt.ArrayLike],
    *,
    count: int = 30,
    bars: Sequence[int] | None = None,
) -> None:
    """Assert ``compute(*inputs)[t] == compute(*(x[:t+1] for x in inputs))[t]`` for sampled t.

    ``compute`` returns one array or a sequence of arrays (a tuple or NamedTuple of outputs;
    2-D outputs are compared row by row). Comparison is exact, NaN equal to NaN.
    """
    arrays = [np.asarray(x) for x in inputs]
    n = arrays[0].shape[0]
    full = _as_list(compute(*arrays))
    for t in bars if bars is not None else sample_bars(n, count):
        part = _as_list(compute(*(a[: t + 1] for a in arrays)))
        for k, (whole, cut) in enumerate(zip(full, part, strict=True)):
            a, b = whole[t], cut[t]
            same = np.array_equal(a, b, equal_nan=np.asarray(a).dtype.kind == "f")
            if not same:
                raise AssertionError(
                    f"output {k} at bar {t} changes when data after bar {t} is removed: "
                    f"full series gives {a!r}, truncated gives {b!r}"
                )
