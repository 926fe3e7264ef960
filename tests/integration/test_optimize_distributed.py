"""Two worker processes join one study on the local PostgreSQL server (skips without one)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

URL = os.environ.get("TRADEWIND_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def _reachable() -> str | None:
    try:
        import psycopg

        psycopg.connect(URL.replace("postgresql://", "postgresql://", 1), connect_timeout=3).close()
    except Exception as exc:
        return f"no PostgreSQL server reachable at {URL} ({type(exc).__name__}: {exc})"
    return None


@pytest.mark.postgres
def test_two_workers_share_one_study_without_duplicates(tmp_path: Path) -> None:
    reason = _reachable()
    if reason is not None:
        pytest.skip(reason)
    import optuna

    study = f"tradewind-test-{uuid.uuid4().hex[:12]}"
    command = [sys.executable, "-m", "tradewind.cli.main", "optimize", "-s", "sma_cross",
               "--as-spot", "--fee", "0.001", "--sampler", "random", "-n", "12", "--batch", "4",
               "--space", "fast=2:20", "--space", "slow=30:120", "-p", "short=false", "--top", "0",
               "--storage", URL, "--study-name", study]  # fmt: skip
    try:
        workers = [
            subprocess.Popen(
                [*command, "--run-dir", str(tmp_path / f"w{i}")],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for i in range(2)
        ]
        outputs = [w.communicate(timeout=240)[0] for w in workers]
        assert [w.returncode for w in workers] == [0, 0], outputs
        trials = optuna.load_study(study_name=study, storage=URL).get_trials(deepcopy=False)
        numbers = [t.number for t in trials]
        assert len(trials) == 24
        assert sorted(numbers) == list(range(24))  # no duplicates, nothing lost
        finished = [t for t in trials if t.state.is_finished()]
        assert len(finished) == 24
        workers_seen = {t.user_attrs.get("worker") for t in trials if "worker" in t.user_attrs}
        assert len(workers_seen) == 2, workers_seen
    finally:
        with contextlib.suppress(KeyError):
            optuna.delete_study(study_name=study, storage=URL)
