"""The schema comes from the migrations, and the migrations match the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from forecourt.db.base import Base, import_all_models
from forecourt.db.engine import create_db_engine
from forecourt.db.migrate import downgrade, head_revision, upgrade
from tests.fixtures import databases


def _differences(engine: Engine) -> list[object]:
    import_all_models()
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


def test_models_and_migrations_agree(engine):
    assert _differences(engine) == []


def test_database_is_at_the_head_revision(engine):
    with engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == head_revision()


def test_downgrade_to_nothing_and_upgrade_again_round_trips(db_kind, tmp_path):
    url = databases.scratch_database_url(db_kind, tmp_path, "roundtrip")
    engine = create_db_engine(databases.settings_for(url))
    try:
        upgrade(engine)
        tables_at_head = set(inspect(engine).get_table_names())
        downgrade(engine, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        upgrade(engine)
        assert set(inspect(engine).get_table_names()) == tables_at_head
        assert _differences(engine) == []
    finally:
        engine.dispose()
        if db_kind == "postgres":
            databases.drop_postgres_database(engine.url.database or "")
