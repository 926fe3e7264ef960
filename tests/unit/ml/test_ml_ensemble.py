"""The weighted vote: soft and hard, weights, the threshold, members with missing classes."""

from __future__ import annotations

import numpy as np
import pytest

from tradewind.core.errors import UserError
from tradewind.ml.ensemble import weighted_vote

UDN = np.array([-1, 0, 1])
UD = np.array([-1, 1])


def test_soft_vote_is_the_weighted_mean_and_decides_at_the_threshold() -> None:
    a = np.array([[0.1, 0.1, 0.8], [0.2, 0.2, 0.6], [np.nan, np.nan, np.nan]])
    b = np.array([[0.3, 0.7], [0.9, 0.1], [0.5, 0.5]])  # no neutral class: it gets 0
    vote = weighted_vote([(a, UDN), (b, UD)], [3.0, 1.0])
    assert np.allclose(vote.shares[0], [(0.3 + 0.3) / 4, 0.3 / 4, (2.4 + 0.7) / 4])
    assert vote.winner[0] == 1
    assert vote.confidence[0] == pytest.approx(0.775)
    assert vote.decided.tolist() == [True, False, False]  # 0.775 >= 0.70; row 2 has no vote
    assert vote.winner[1] == 1
    assert vote.confidence[1] == pytest.approx((1.8 + 0.1) / 4)
    assert np.isnan(vote.confidence[2])
    assert np.isnan(vote.share(1)[2])
    assert np.allclose(np.nansum(vote.shares[:2], axis=1), 1.0)


def test_hard_vote_counts_weighted_winners() -> None:
    a = np.array([[0.1, 0.1, 0.8], [0.6, 0.1, 0.3]])
    b = np.array([[0.6, 0.4], [0.4, 0.6]])
    c = np.array([[0.2, 0.8], [0.3, 0.7]])
    vote = weighted_vote([(a, UDN), (b, UD), (c, UD)], [2.0, 1.0, 1.0], method="hard")
    assert vote.share(1).tolist() == [0.75, 0.5]
    assert vote.decided.tolist() == [True, False]
    assert weighted_vote([(a, UDN), (b, UD), (c, UD)], method="hard", threshold=0.6).share(
        -1
    ).tolist() == [pytest.approx(1 / 3), pytest.approx(1 / 3)]


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"weights": [1.0, -1.0]}, "positive weight"),
        ({"weights": [1.0]}, "positive weight"),
        ({"method": "median"}, "vote method"),
        ({"threshold": 1.5}, "threshold"),
    ],
)
def test_bad_votes_are_named(kwargs: dict[str, object], words: str) -> None:
    a = np.array([[0.5, 0.5]])
    with pytest.raises(UserError, match=words):
        weighted_vote([(a, UD), (a, UD)], **kwargs)  # type: ignore[arg-type]
