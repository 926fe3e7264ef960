"""The schema comes only from the Alembic migrations, and equals the models on both databases."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Integer, MetaData, Table, inspect, text

from tradewind.cli.main import run
from tradewind.persistence.engine import current_revision, head_revision, make_engine
from tradewind.persistence.models import Base


def _differences(url: str, metadata: MetaData) -> list[object]:
    engine = make_engine(url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))


def test_db_upgrade_creates_exactly_the_models(db_url: str) -> None:
    assert run(["db", "upgrade", "--db-url", db_url]) == 0
    engine = make_engine(db_url)
    assert current_revision(engine) == head_revision()
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert "fills" in tables
    assert "order_transitions" in tables
    assert "run_trades" in tables
    assert _differences(db_url, Base.metadata) == []
    # The comparison is not vacuous: a model the migrations lack is reported.
    extra = MetaData()
    for table in Base.metadata.tables.values():
        table.to_metadata(extra)
    Table("not_migrated", extra, Column("id", Integer, primary_key=True))
    assert any(d[0] == "add_table" for d in _differences(db_url, extra))  # type: ignore[index]
    # A second upgrade is a no-op.
    assert run(["db", "upgrade", "--db-url", db_url]) == 0


def test_sqlite_runs_in_wal_with_normal_sync_by_default(sqlite_db: str) -> None:
    for durability, expected in (("normal", 1), ("full", 2)):
        engine = make_engine(sqlite_db, durability=durability)  # type: ignore[arg-type]
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("PRAGMA synchronous")).scalar() == expected
        engine.dispose()


def test_a_database_without_the_schema_is_refused_by_name(sqlite_db: str, capsys) -> None:  # type: ignore[no-untyped-def]
    assert run(["orders", "--db-url", sqlite_db]) == 2
    assert "no database at" in capsys.readouterr().err  # and no empty file left behind
    assert not Path(sqlite_db.removeprefix("sqlite:///")).exists()
    make_engine(sqlite_db).connect().close()  # an empty SQLite file, never migrated
    assert run(["orders", "--db-url", sqlite_db]) == 2
    assert "tradewind db upgrade" in capsys.readouterr().err


def test_migrating_from_each_earlier_revision_keeps_the_data(db_url: str) -> None:
    from datetime import UTC, datetime

    from alembic import command
    from alembic.script import ScriptDirectory
    from sqlalchemy import insert, select

    from tradewind.persistence.engine import alembic_config
    from tradewind.persistence.models import Bot

    engine = make_engine(db_url)
    revisions = [
        r.revision for r in ScriptDirectory.from_config(alembic_config(engine)).walk_revisions()
    ]
    assert len(revisions) >= 2  # not vacuous: there is an earlier revision to migrate from
    for earlier in reversed(revisions[1:]):
        command.downgrade(alembic_config(engine), "base")
        command.upgrade(alembic_config(engine), earlier)
        with engine.begin() as connection:
            connection.execute(insert(Bot.__table__), {"name": f"from-{earlier}",
                                                       "created_at": datetime.now(UTC)})  # fmt: skip
        assert run(["db", "upgrade", "--db-url", db_url]) == 0
        assert current_revision(engine) == head_revision()
        assert _differences(db_url, Base.metadata) == []
        with engine.connect() as connection:
            names = connection.execute(select(Bot.__table__.c.name)).scalars().all()
        assert names == [f"from-{earlier}"]
    engine.dispose()
