"""Execution algorithms as pure rules: how much to send, when, and at what price.

A parent order (:mod:`tradewind.execution.parent`) asks these functions what its next child is; they
read no clock and hold no state, so the same rules run in candle backtests, book-fed backtests,
paper and live.

The algorithms:

- **TWAP**: the quantity split into ``slices`` equal slices at equal steps over ``horizon_ms``;
  ``jitter`` in [0, 0.5) moves each slice time by up to that fraction of a step, from a seeded
  generator (the same seed, the same schedule).
- **VWAP**: slices sized by a volume curve learned from history (:func:`learn_volume_curve`: the
  share of a day's volume traded in each bucket of the day), so the parent trades when the market
  does.
- **POV**: a share (``participation``) of the volume observed since the parent started.
- **Iceberg**: one visible limit child of ``visible`` quantity at a time, refilled when it fills.
- **Smart limit**: post-only at the best price on our side (or one tick inside when the spread
  allows), repriced when the book moves while the price stays within ``chase_bps`` of the arrival
  price; after ``timeout_ms`` the remainder crosses (a marketable limit IOC within the slippage
  guard) or is canceled (``on_timeout``).
- **Slippage guard**: a market order becomes a marketable limit IOC capped at ``guard_bps`` from
  the arrival price (:func:`guard_price`), so it never fills worse than that.
"""

from __future__ import annotations

import random
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

import numpy as np

from tradewind.core.algo_spec import Algo, AlgoSpec, Timeout
from tradewind.core.errors import UserError
from tradewind.core.money import ZERO
from tradewind.core.records import Side

__all__ = [
    "Algo", "AlgoSpec", "Timeout", "curve_weights", "floor_to", "guard_price", "learn_volume_curve",
    "merge_small", "passive_price", "pov_target", "schedule", "split", "twap_times", "within_chase",
]  # fmt: skip

DAY_MS = 86_400_000
BPS = Decimal(10_000)


def floor_to(value: Decimal, step: Decimal) -> Decimal:
    """``value`` rounded down to a multiple of ``step`` (a lot)."""
    if step <= 0:
        return value
    rest = value % step  # the remainder keeps the dividend's sign: this rounds towards zero
    return value - rest if rest else value


def twap_times(start: int, horizon_ms: int, slices: int, jitter: float, seed: int) -> list[int]:
    """When each TWAP slice is due: ``start + k * step`` (step = horizon / slices), each moved by
    up to ``jitter`` of a step from a generator seeded with ``seed``. Times never go backwards."""
    step = horizon_ms / slices
    rng = random.Random(seed)
    times = []
    last = start
    for k in range(slices):
        shift = rng.uniform(-jitter, jitter) * step if jitter and k else 0.0
        at = max(last, int(start + k * step + shift))
        times.append(at)
        last = at
    return times


def split(quantity: Decimal, weights: list[float], lot: Decimal) -> list[Decimal]:
    """``quantity`` split in proportion to ``weights``, each part a multiple of ``lot``; rounding
    leftovers go to the last part, so the parts add up to ``quantity`` exactly."""
    total = sum(weights)
    if total <= 0:
        raise UserError("cannot split a quantity by weights that sum to zero")
    parts = []
    cumulative = 0.0
    given = ZERO
    for w in weights[:-1]:
        cumulative += w
        target = floor_to(quantity * Decimal(repr(cumulative / total)), lot)
        part = max(target - given, ZERO)
        parts.append(part)
        given += part
    parts.append(quantity - given)
    return parts


def learn_volume_curve(ts: np.ndarray, volume: np.ndarray, buckets: int = 24) -> tuple[float, ...]:
    """The share of a day's volume traded in each of ``buckets`` equal parts of the UTC day,
    averaged over the history given (bar open times in ms, volumes). Shares sum to 1."""
    if len(ts) == 0 or len(ts) != len(volume):
        raise UserError("learn_volume_curve needs bars: equal, non-empty time and volume arrays")
    if DAY_MS % buckets:
        raise UserError(f"buckets must divide the day evenly, got {buckets}")
    index = ((np.asarray(ts, dtype=np.int64) % DAY_MS) // (DAY_MS // buckets)).astype(np.int64)
    sums = np.bincount(index, weights=np.nan_to_num(np.asarray(volume, dtype=np.float64)),
                       minlength=buckets)  # fmt: skip
    total = float(sums.sum())
    if total <= 0:
        raise UserError("learn_volume_curve: the history traded no volume")
    return tuple(float(s) / total for s in sums)


def curve_weights(curve: tuple[float, ...], times: list[int], horizon_ms: int) -> list[float]:
    """The weight of each slice (starting at ``times``) under a day curve: the curve's share of
    the interval each slice covers (up to the next slice, the last up to the horizon's end)."""
    buckets = len(curve)
    width = DAY_MS // buckets
    end = times[0] + horizon_ms
    weights = []
    for k, at in enumerate(times):
        stop = times[k + 1] if k + 1 < len(times) else end
        w = 0.0
        t = at
        while t < stop:
            bucket_end = (t // width + 1) * width
            seg = min(stop, bucket_end) - t
            w += curve[(t % DAY_MS) // width] * seg / width
            t += seg
        weights.append(w)
    if sum(weights) <= 0:  # the curve says nothing trades then: fall back to equal slices
        return [1.0] * len(times)
    return weights


def schedule(
    spec: AlgoSpec, quantity: Decimal, start: int, lot: Decimal
) -> list[tuple[int, Decimal]]:
    """The planned slices ``(due time, quantity)`` of a TWAP or VWAP parent; parts are multiples
    of ``lot`` except the last, which takes the rounding (the caller merges small ones)."""
    times = twap_times(start, spec.horizon_ms, spec.slices, spec.jitter, spec.seed)
    if spec.algo is Algo.VWAP and spec.volume_curve:
        weights = curve_weights(spec.volume_curve, times, spec.horizon_ms)
    else:
        weights = [1.0] * len(times)
    return list(zip(times, split(quantity, weights, lot), strict=True))


def merge_small(plan: list[tuple[int, Decimal]], minimum: Decimal) -> list[tuple[int, Decimal]]:
    """Slices below ``minimum`` (the venue's lot or notional minimum, in base units) merged into
    the next one (the last into the one before), so every slice is sendable when the total is."""
    merged: list[tuple[int, Decimal]] = []
    carry = ZERO
    for at, part in plan:
        qty = part + carry
        if qty < minimum:
            carry = qty
            continue
        carry = ZERO
        merged.append((at, qty))
    if carry > 0:
        if merged:
            at, qty = merged[-1]
            merged[-1] = (at, qty + carry)
        else:
            merged.append((plan[0][0], carry))
    return merged


def guard_price(side: Side, arrival: Decimal, bps: Decimal, tick: Decimal) -> Decimal:
    """The worst price a guarded marketable child may fill at: ``bps`` from ``arrival``, rounded
    to the tick towards the arrival (so the cap is never exceeded)."""
    if side is Side.BUY:
        raw = arrival * (1 + bps / BPS)
        return (raw / tick).to_integral_value(ROUND_FLOOR) * tick if tick > 0 else raw
    raw = arrival * (1 - bps / BPS)
    return (raw / tick).to_integral_value(ROUND_CEILING) * tick if tick > 0 else raw


def passive_price(side: Side, bid: Decimal, ask: Decimal, tick: Decimal) -> Decimal:
    """Where a post-only child rests: one tick inside the spread when there is room for it (the
    best price then is ours), else at the best price on our side. With no spread known (a
    candle's close stands for both sides) it rests one tick behind that price: at the price
    itself it would take."""
    if tick > 0 and ask - bid > tick:
        return bid + tick if side is Side.BUY else ask - tick
    if tick > 0 and ask <= bid:
        return bid - tick if side is Side.BUY else ask + tick
    return bid if side is Side.BUY else ask


def within_chase(side: Side, price: Decimal, arrival: Decimal, chase_bps: Decimal) -> bool:
    """True when a passive ``price`` is no more than ``chase_bps`` worse than ``arrival``."""
    if side is Side.BUY:
        return price <= arrival * (1 + chase_bps / BPS)
    return price >= arrival * (1 - chase_bps / BPS)


def pov_target(participation: float, observed_volume: Decimal, quantity: Decimal) -> Decimal:
    """How much a POV parent should have done after ``observed_volume`` traded (capped)."""
    if observed_volume <= 0:
        return ZERO
    share = Decimal(repr(participation))
    return min(quantity, observed_volume * share)
