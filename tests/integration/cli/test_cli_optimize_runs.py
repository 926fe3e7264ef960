"""optimize tells the user what it does with a study: resuming, why trials failed, and what it
keeps when stopped with Ctrl-C."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

CliRunner = Callable[..., Any]

STOPS_ON_THE_SECOND_BATCH = """
calls = 0

def score(metrics):
    global calls
    calls += 1
    if calls > 4:  # the first batch of 4 finishes; Ctrl-C arrives while the second is scored
        raise KeyboardInterrupt
    return metrics["total_return"]
"""


def _common(shared_data: Path) -> list[str]:
    data = shared_data / "candles" / "ETH_BTC-5m.feather"
    return ["-s", "sma_cross", "--data", str(data), "--fee", "0.001", "--sampler", "random",
            "--top", "0", "-p", "short=false"]  # fmt: skip


def test_a_second_run_says_it_resumes_the_study(
    cli: CliRunner, shared_data: Path, tmp_path: Path
) -> None:
    args = [*_common(shared_data), "-n", "4", "--run-dir", str(tmp_path / "run")]
    first = cli("optimize", *args)
    assert first.code == 0, first.err
    assert "resuming study" not in first.err
    second = cli("optimize", *args)
    assert second.code == 0, second.err
    assert "resuming study 'sma_cross-ETH_BTC-random'" in second.err
    assert "4 trials already there (4 complete" in second.err
    summary = json.loads((tmp_path / "run" / "study.json").read_text())
    assert summary["resumed_from_trials"] == 4
    assert summary["completed_trials"] + summary["failed_trials"] == 8


def test_failed_trials_say_why(cli: CliRunner, shared_data: Path, tmp_path: Path) -> None:
    # slow below fast is refused by the strategy: those trials fail with its reason.
    outcome = cli("optimize", *_common(shared_data), "-n", "12", "--space", "fast=5:40",
                  "--space", "slow=6:30", "--run-dir", str(tmp_path / "run"))  # fmt: skip
    assert outcome.code == 0, outcome.err
    summary = json.loads((tmp_path / "run" / "study.json").read_text())
    assert summary["failed_trials"] > 0
    reasons = {f["reason"] for f in summary["failures"]}
    assert all(reason and reason != "unknown" for reason in reasons)
    assert any("must be below slow" in reason for reason in reasons)
    assert "failed: fast (#) must be below slow (#)" in outcome.out


def test_ctrl_c_keeps_what_finished(cli: CliRunner, shared_data: Path, tmp_path: Path) -> None:
    objective = tmp_path / "stopper.py"
    objective.write_text(STOPS_ON_THE_SECOND_BATCH)
    run_dir = tmp_path / "run"
    outcome = cli("optimize", *_common(shared_data), "-n", "12", "--batch", "4",
                  "--objective", f"{objective}:score", "--run-dir", str(run_dir))  # fmt: skip

    assert outcome.code == 130
    lines = [line for line in outcome.err.splitlines() if line.startswith("interrupted")]
    assert len(lines) == 1, outcome.err
    assert "4 finished trials" in lines[0]
    assert "Traceback" not in outcome.err
    summary = json.loads((run_dir / "study.json").read_text())
    assert summary["interrupted"] is True
    assert summary["completed_trials"] == 4
    assert [f["reason"] for f in summary["failures"]] == [
        "interrupted (Ctrl-C) before the trial finished"
    ] * 4
    assert len(pd.read_csv(run_dir / "trials.csv")) == 4
    assert (run_dir / "report.html").is_file()
