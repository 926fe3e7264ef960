"""Each exchange's update-id rule on hand-written id sequences."""

from __future__ import annotations

import pytest

from tradewind.book.sequencing import (
    BinanceFuturesSequencer,
    BinanceSpotSequencer,
    BybitSequencer,
    UnsequencedSequencer,
    Verdict,
    sequencer_for,
)
from tradewind.core.errors import UserError


def test_binance_spot_bridges_the_snapshot_then_requires_contiguous_ids() -> None:
    seq = BinanceSpotSequencer()
    assert seq.check(1, 2, -1)[0] is Verdict.GAP  # nothing before a snapshot
    seq.on_snapshot(100)
    assert seq.check(90, 100, -1)[0] is Verdict.DROP  # u <= L: already in the snapshot
    assert seq.check(95, 105, -1)[0] is Verdict.APPLY  # U <= L+1 <= u
    assert seq.check(106, 110, -1)[0] is Verdict.APPLY
    assert seq.check(100, 110, -1)[0] is Verdict.DROP  # replay of an applied event
    verdict, why = seq.check(112, 115, -1)
    assert verdict is Verdict.GAP
    assert "expected U=111" in why


def test_binance_spot_first_event_must_contain_snapshot_plus_one() -> None:
    seq = BinanceSpotSequencer()
    seq.on_snapshot(100)
    assert seq.check(102, 110, -1)[0] is Verdict.GAP


def test_binance_futures_chains_on_pu() -> None:
    seq = BinanceFuturesSequencer()
    seq.on_snapshot(100)
    assert seq.check(80, 99, 70)[0] is Verdict.DROP  # u < L
    assert seq.check(95, 105, 90)[0] is Verdict.APPLY  # U <= L <= u
    assert seq.check(130, 140, 105)[0] is Verdict.APPLY  # pu == previous u
    verdict, why = seq.check(150, 160, 145)
    assert verdict is Verdict.GAP
    assert "expected pu=140" in why


def test_binance_futures_accepts_pu_equal_to_snapshot_id() -> None:
    seq = BinanceFuturesSequencer()
    seq.on_snapshot(100)
    assert seq.check(120, 130, 100)[0] is Verdict.APPLY
    seq.on_snapshot(200)
    assert seq.check(210, 220, 150)[0] is Verdict.GAP


def test_bybit_requires_consecutive_u_and_resets_on_snapshot() -> None:
    seq = BybitSequencer()
    seq.on_snapshot(10)
    assert seq.check(11, 11, -1)[0] is Verdict.APPLY
    assert seq.check(11, 11, -1)[0] is Verdict.DROP
    assert seq.check(13, 13, -1)[0] is Verdict.GAP
    seq.on_snapshot(1)  # a service restart sends a fresh snapshot with small ids
    assert seq.check(2, 2, -1)[0] is Verdict.APPLY


def test_unsequenced_needs_only_a_snapshot() -> None:
    seq = UnsequencedSequencer()
    assert seq.check(-1, -1, -1)[0] is Verdict.GAP
    seq.on_snapshot(-1)
    assert seq.check(-1, -1, -1)[0] is Verdict.APPLY


def test_sequencer_for_names_the_choices() -> None:
    assert isinstance(sequencer_for("bybit"), BybitSequencer)
    with pytest.raises(UserError, match="binance-spot"):
        sequencer_for("kraken")
