"""The jobs table: backtests and optimisations queued by operators, claimed by worker processes.

A claim is one UPDATE guarded by the state (``queued`` -> ``running``), so two workers never run
the same job, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, insert, select, update

from tradewind.persistence.models import JobRow

__all__ = ["JOB_STATES", "claim_job", "enqueue_job", "finish_job", "job", "job_counts", "jobs"]

JOB_STATES = ("queued", "running", "done", "failed")
_JOBS = JobRow.__table__


def enqueue_job(
    engine: Engine, *, kind: str, spec: dict[str, Any], requested_by: str, bot_id: int | None
) -> int:
    """Queue a job; returns its id."""
    with engine.begin() as connection:
        return int(
            connection.execute(
                insert(_JOBS).returning(_JOBS.c.id),
                {"bot_id": bot_id, "kind": kind, "spec": json.dumps(spec, sort_keys=True),
                 "state": "queued", "requested_by": requested_by,
                 "created_at": datetime.now(UTC)},
            ).scalar_one()
        )  # fmt: skip


def claim_job(engine: Engine, worker: str) -> dict[str, Any] | None:
    """Take the oldest queued job for ``worker`` (None when the queue is empty)."""
    while True:
        with engine.begin() as connection:
            first = connection.execute(
                select(_JOBS.c.id).where(_JOBS.c.state == "queued").order_by(_JOBS.c.id).limit(1)
            ).scalar()
            if first is None:
                return None
            taken = connection.execute(
                update(_JOBS)
                .where(_JOBS.c.id == first, _JOBS.c.state == "queued")
                .values(state="running", started_at=datetime.now(UTC), worker=worker)
            ).rowcount
        if taken:
            found = job(engine, int(first))
            assert found is not None
            return found
        # Another worker took it between the two statements: look again.


def finish_job(
    engine: Engine, job_id: int, *, result: dict[str, Any] | None = None, error: str | None = None
) -> None:
    """Record a job's end: ``done`` with its result, or ``failed`` with the error."""
    with engine.begin() as connection:
        connection.execute(
            update(_JOBS)
            .where(_JOBS.c.id == job_id)
            .values(
                state="failed" if error is not None else "done",
                finished_at=datetime.now(UTC),
                result=None if result is None else json.dumps(result, sort_keys=True, default=str),
                error=error,
            )
        )


def _row(row: Any) -> dict[str, Any]:
    out = dict(row._mapping)
    out["spec"] = json.loads(out["spec"])
    out["result"] = None if out["result"] is None else json.loads(out["result"])
    for key in ("created_at", "started_at", "finished_at"):
        if out[key] is not None:
            out[key] = out[key].isoformat()
    return out


def job(engine: Engine, job_id: int) -> dict[str, Any] | None:
    """One job, or None."""
    with engine.connect() as connection:
        row = connection.execute(select(_JOBS).where(_JOBS.c.id == job_id)).first()
    return None if row is None else _row(row)


def jobs(engine: Engine, bot_id: int | None, *, limit: int = 50) -> list[dict[str, Any]]:
    """The latest jobs, newest first."""
    query = select(_JOBS).order_by(_JOBS.c.id.desc()).limit(limit)
    if bot_id is not None:
        query = query.where(_JOBS.c.bot_id == bot_id)
    with engine.connect() as connection:
        return [_row(r) for r in connection.execute(query)]


def job_counts(engine: Engine) -> dict[str, int]:
    """How many jobs are in each state."""
    with engine.connect() as connection:
        rows = connection.execute(select(_JOBS.c.state, func.count()).group_by(_JOBS.c.state))
        counts = dict.fromkeys(JOB_STATES, 0)
        counts.update({str(state): int(n) for state, n in rows})
    return counts
