"""``forecourt migrate`` on an empty database installs the default tier program of SPEC §5, and a
second run leaves a configured program alone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from forecourt.cli import app as cli_app
from forecourt.config import get_settings
from forecourt.db.engine import create_db_engine
from forecourt.db.session import Database
from forecourt.tiers.models import TierLevel, TierProgram
from tests.fixtures import databases


@pytest.fixture
def empty_database(db_kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    """A new, empty database that ``forecourt`` commands are pointed at."""
    url = databases.scratch_database_url(db_kind, tmp_path, "default_tiers")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FORECOURT_DATABASE_URL", url)
    get_settings.cache_clear()
    engine = create_db_engine(databases.settings_for(url))
    yield Database(engine)
    engine.dispose()
    get_settings.cache_clear()
    if db_kind == "postgres":
        databases.drop_postgres_database(engine.url.database or "")


def _migrate() -> None:
    result = CliRunner().invoke(cli_app, ["migrate"])
    assert result.exit_code == 0, f"{result.output}\n{result.exception!r}"


def _levels(database: Database) -> list[tuple[object, ...]]:
    with database.transaction(write=False) as session:
        return [
            (
                level.code,
                level.name,
                level.rank,
                level.threshold,
                level.multiplier_permille,
                level.fuel_discount_bp,
                level.points_never_expire,
                level.priority_lane,
            )
            for level in session.scalars(select(TierLevel).order_by(TierLevel.rank))
        ]


def test_migrate_installs_the_default_tiers_on_an_empty_database(empty_database):
    _migrate()
    assert _levels(empty_database) == [
        # code, name, rank, fen paid in 12 months, multiplier ‰, fuel discount bp, never expire, priority
        ("regular", "普通", 0, 0, 1000, 0, False, False),
        ("silver", "银牌", 1, 200_000, 1200, 200, False, False),
        ("gold", "金牌", 2, 800_000, 1500, 300, False, False),
        ("diamond", "钻石", 3, 2_000_000, 2000, 400, True, True),
    ]
    with empty_database.transaction(write=False) as session:
        program = session.get_one(TierProgram, "default")
        assert (program.metric, program.window, program.grace_months) == (
            "money_paid_fen",
            "rolling_12_months",
            3,
        )


def test_migrating_again_keeps_a_configured_program(empty_database):
    _migrate()
    with empty_database.transaction() as session:
        session.get_one(TierLevel, "silver").threshold = 150_000
        session.get_one(TierProgram, "default").grace_months = 2
    _migrate()
    levels = _levels(empty_database)
    assert [(code, threshold) for code, _, _, threshold, *_ in levels] == [
        ("regular", 0),
        ("silver", 150_000),
        ("gold", 800_000),
        ("diamond", 2_000_000),
    ]
    with empty_database.transaction(write=False) as session:
        assert session.get_one(TierProgram, "default").grace_months == 2
