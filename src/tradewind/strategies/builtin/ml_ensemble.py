"""A weighted vote of ML models, acting only when the vote's confidence reaches a threshold.

Members are registered models by pin (``models=PIN,PIN,...``, with ``weights=2,1,...``), or, when
no pins are given, the walk-forward learners named in ``learners`` retrained inside the run (see
:mod:`tradewind.strategies.builtin.ml_signal`). The vote (:func:`tradewind.ml.ensemble.weighted_vote`,
soft or hard) gives per bar the combined shares of up, neutral and down and a confidence: long
when up wins with a confidence of at least ``threshold`` (0.70 by default), short the mirror
(with ``short``), out when the combined up share falls below ``exit_below``. The vote's confidence
goes with each entry to the risk engine's confidence sizing. The vote enters only where every
member's dissimilarity gate finds the bar's features familiar. Bars before every member may speak
(a registered member's training data, a walk-forward member's first window) have no vote.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from tradewind.core.errors import UserError
from tradewind.ml.artifact import parse_pin
from tradewind.ml.ensemble import DEFAULT_THRESHOLD, METHODS, Vote, weighted_vote
from tradewind.ml.labels import DOWN, UP
from tradewind.series.bars import BarSeries, FloatArray
from tradewind.strategies.base import Signals, require
from tradewind.strategies.builtin._direction import (
    PINNED_WARMUP,
    WalkForwardStrategy,
    direction_signals,
    split_list,
)
from tradewind.strategies.params import Param
from tradewind.strategies.registry import register

LEARNERS = ("lightgbm", "random_forest")


@register
class MlEnsemble(WalkForwardStrategy):
    """A weighted vote of models that trades only when its confidence reaches the threshold."""

    name = "ml_ensemble"
    description = "weighted vote of ML models with a confidence threshold, confidence-sized"
    models = Param("", doc="comma-separated registered model pins; empty: walk-forward learners")
    learners = Param("lightgbm",
                     doc="walk-forward members when no pins are given: lightgbm, random_forest "
                     "(a forest trains about ten times slower)")  # fmt: skip
    weights = Param("", doc="comma-separated positive weights, one per member (default equal)")
    threshold = Param(DEFAULT_THRESHOLD, low=0.34, high=1.0, doc="vote confidence needed to act")
    method = Param("soft", choices=METHODS, doc="soft: mean probabilities; hard: weighted votes")
    exit_below = Param(0.45, low=0.0, high=0.99, doc="exit when the side's share is below")

    def _members(self) -> list[str]:
        pins = split_list(str(self.models))
        return pins if pins else split_list(str(self.learners))

    def _weights(self) -> list[float] | None:
        given = split_list(str(self.weights))
        if not given:
            return None
        try:
            return [float(w) for w in given]
        except ValueError:
            raise UserError(f"weights must be numbers, got {self.weights!r}") from None

    def validate(self) -> None:
        """Members exist and are valid; weights match them; exit below the threshold."""
        require(self.exit_below < self.threshold,
                f"exit_below ({self.exit_below}) must be below threshold ({self.threshold})")  # fmt: skip
        members = self._members()
        require(bool(members), "ml_ensemble needs models=PIN,... or learners=lightgbm,...")
        if split_list(str(self.models)):
            for pin in members:
                parse_pin(pin)
        else:
            for learner in members:
                require(learner in LEARNERS,
                        f"unknown learner {learner!r}; known: {', '.join(LEARNERS)}")  # fmt: skip
                self.walk_forward_settings(learner)
        weights = self._weights()
        if weights is not None:
            require(len(weights) == len(members) and all(w > 0 for w in weights),
                    f"need {len(members)} positive weights (one per member), got "
                    f"{self.weights!r}")  # fmt: skip

    def pins(self) -> list[str]:
        """The registered members' pins (none when the members are walk-forward learners)."""
        return split_list(str(self.models))

    def replace_pin(self, old: str, new: str) -> None:
        """Vote with ``new`` where the member ``old`` voted (its weight stays)."""
        pins = self.pins()
        if old not in pins:
            super().replace_pin(old, new)
        self.update_params(models=",".join(new if p == old else p for p in pins))

    @property
    def warmup(self) -> int:
        """As :class:`~tradewind.strategies.builtin.ml_signal.MlSignal`'s."""
        return PINNED_WARMUP if split_list(str(self.models)) else self.walk_forward_warmup()

    def _ballots(self, bars: BarSeries) -> tuple[Vote, npt.NDArray[np.bool_]]:
        pinned = bool(split_list(str(self.models)))
        members = [self.member_signal(m, bars, pinned=pinned) for m in self._members()]
        vote = weighted_vote([(p, c) for p, c, _ in members], self._weights(),
                             threshold=float(self.threshold), method=str(self.method))  # fmt: skip
        familiar = np.logical_and.reduce([f for _, _, f in members])
        return vote, familiar

    def vote(self, bars: BarSeries) -> Vote:
        """The members' weighted vote at every bar."""
        return self._ballots(bars)[0]

    def indicators(self, bars: BarSeries) -> dict[str, FloatArray]:
        """The vote's up and down shares and its confidence per bar (NaN: no vote), and
        ``familiar``: 1 where every member's dissimilarity gate lets the vote enter."""
        vote, familiar = self._ballots(bars)
        return {"up": vote.share(UP), "down": vote.share(DOWN), "confidence": vote.confidence,
                "familiar": familiar.astype(np.float64)}  # fmt: skip

    def signals(self, bars: BarSeries) -> Signals:
        """Entries where up (down) wins with the threshold's confidence; exits below
        ``exit_below``."""
        v = self.indicators(bars)
        return direction_signals(
            v["up"], v["down"], entry=float(self.threshold), exit_below=float(self.exit_below),
            short=bool(self.short), confidence=np.asarray(v["confidence"]),
            familiar=v["familiar"] > 0,
        )  # fmt: skip
