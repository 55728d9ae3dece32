"""Alembic environment: runs on a connection handed in by ``forecourt.db.migrate`` or on the
database named by ``FORECOURT_DATABASE_URL``. SQLite migrations use batch mode (table copy) with
foreign-key enforcement paused, as SQLite requires for ALTER."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import Connection

from forecourt.config import get_settings
from forecourt.db.base import Base, import_all_models
from forecourt.db.engine import create_db_engine

import_all_models()
target_metadata = Base.metadata


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    if type_ == "type" and obj.__class__.__module__.startswith("forecourt."):
        autogen_context.imports.add(f"import {obj.__class__.__module__}")
        return f"{obj.__class__.__module__}.{obj.__class__.__name__}()"
    return False


def _run(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite and not connection.in_transaction():
        connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=sqlite,
        compare_type=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()
    if sqlite and not connection.in_transaction():
        connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_db_engine(get_settings())
    with engine.connect() as connection:
        _run(connection)
        connection.commit()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported; run `forecourt migrate`")
run_migrations_online()
