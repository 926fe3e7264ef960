"""The schema comes only from the Alembic migrations, and equals the models on both databases."""

from __future__ import annotations

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
    assert "tradewind db upgrade" in capsys.readouterr().err
