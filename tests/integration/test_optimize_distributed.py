"""Two worker processes join one study on the local PostgreSQL server (skips without one).

Each run uses a database of its own, created empty, so the workers also race to create Optuna's
schema (which once failed one of them on a duplicate enum type).
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
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


@pytest.fixture
def empty_database() -> Iterator[str]:
    """The URL of a new, empty database on the test server, dropped afterwards."""
    reason = _reachable()
    if reason is not None:
        pytest.skip(reason)
    import psycopg

    name = f"tradewind_opt_{uuid.uuid4().hex[:12]}"
    server, _, _ = URL.rpartition("/")
    with psycopg.connect(URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server}/{name}"
    finally:
        with psycopg.connect(URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.postgres
def test_two_workers_share_one_study_without_duplicates(
    tmp_path: Path, empty_database: str
) -> None:
    import optuna

    url = empty_database

    study = f"tradewind-test-{uuid.uuid4().hex[:12]}"
    command = [sys.executable, "-m", "tradewind.cli.main", "optimize", "-s", "sma_cross",
               "--as-spot", "--fee", "0.001", "--sampler", "random", "-n", "12", "--batch", "4",
               "--space", "fast=2:20", "--space", "slow=30:120", "-p", "short=false", "--top", "0",
               "--storage", url, "--study-name", study]  # fmt: skip
    workers: list[subprocess.Popen[str]] = []
    try:
        workers += [
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
        trials = optuna.load_study(study_name=study, storage=url).get_trials(deepcopy=False)
        numbers = [t.number for t in trials]
        assert len(trials) == 24
        assert sorted(numbers) == list(range(24))  # no duplicates, nothing lost
        finished = [t for t in trials if t.state.is_finished()]
        assert len(finished) == 24
        workers_seen = {t.user_attrs.get("worker") for t in trials if "worker" in t.user_attrs}
        assert len(workers_seen) == 2, workers_seen
    finally:
        for worker in workers:
            worker.kill()
