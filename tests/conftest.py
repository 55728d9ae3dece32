"""Test fixtures.

Each test runs inside a transaction that is rolled back afterwards: the app's request sessions and
the test's own ``session`` join it through savepoints, so a request's "commit" is visible to the
test and nothing survives the test. Tests marked ``committed`` (real concurrency) get the real
engine instead; the tables are emptied after them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from forecourt.app import create_app
from forecourt.config import Settings
from forecourt.db.engine import is_sqlite
from forecourt.db.session import Database
from forecourt.kit.logging import configure_logging
from tests.fixtures import databases
from tests.fixtures.builders import StaffLogin, make_staff


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        choices=("sqlite", "postgres"),
        default=os.environ.get("FORECOURT_TEST_DB", "sqlite"),
        help="database to run the suite on (default $FORECOURT_TEST_DB or sqlite)",
    )


def pytest_configure(config: pytest.Config) -> None:
    configure_logging("INFO", "console")
    if config.getoption("--db") != "postgres" or os.environ.get("PYTEST_XDIST_WORKER"):
        return
    problem = databases.postgres_reachable()
    if problem is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.exit(f"PostgreSQL is required in CI and unreachable: {problem}", returncode=1)
    pytest.exit(f"PostgreSQL unreachable ({problem}); the PostgreSQL run is SKIPPED", returncode=0)


def pytest_report_header(config: pytest.Config) -> str:
    return f"forecourt database: {config.getoption('--db')}"


@pytest.fixture(scope="session")
def db_kind(request: pytest.FixtureRequest) -> str:
    return str(request.config.getoption("--db"))


@pytest.fixture(scope="session")
def engine(db_kind: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    if db_kind == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'forecourt.sqlite3'}"
    else:
        url = databases.fresh_postgres_url(databases.database_name("main"))
    engine = databases.migrated_engine(url)
    yield engine
    engine.dispose()
    if db_kind == "postgres":
        databases.drop_postgres_database(engine.url.database or "")


@pytest.fixture(scope="session")
def test_settings(engine: Engine) -> Settings:
    return databases.settings_for(engine.url.render_as_string(hide_password=False))


class RollbackDatabase(Database):
    """Sessions join the test's outer transaction through savepoints."""

    def __init__(self, connection: Connection) -> None:
        super().__init__(connection.engine)
        self.connection = connection

    def session(self, *, write: bool = True) -> Session:
        session = Session(
            bind=self.connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        if not write:
            session.info["read_only"] = True
        return session


@pytest.fixture
def connection(engine: Engine, request: pytest.FixtureRequest) -> Iterator[Connection]:
    if request.node.get_closest_marker("committed"):
        pytest.fail("a committed test must not use the rolled-back connection")
    with engine.connect() as connection:
        if is_sqlite(engine):
            connection = connection.execution_options(sqlite_begin="IMMEDIATE")
        transaction = connection.begin()
        yield connection
        transaction.rollback()


@pytest.fixture
def database(connection: Connection) -> RollbackDatabase:
    return RollbackDatabase(connection)


@pytest.fixture
def session(database: RollbackDatabase) -> Iterator[Session]:
    session = database.session()
    yield session
    session.close()


@pytest.fixture
def app(database: RollbackDatabase, test_settings: Settings) -> FastAPI:
    return create_app(test_settings, database=database)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def staff(session: Session) -> Callable[..., StaffLogin]:
    """``staff("admin")`` → a signed-in staff member (``.headers`` to send)."""

    def build(role: str, **options: object) -> StaffLogin:
        return make_staff(session, role, **options)  # type: ignore[arg-type]

    return build


@pytest.fixture
def committed_database(engine: Engine, request: pytest.FixtureRequest) -> Iterator[Database]:
    """The real engine, for tests that need real commits (concurrency, crash safety)."""
    if not request.node.get_closest_marker("committed"):
        pytest.fail("mark the test @pytest.mark.committed to use committed_database")
    yield Database(engine)
    databases.clean_all_tables(engine)


@pytest.fixture
def scratch_dir(tmp_path: Path) -> Path:
    return tmp_path
