"""Running the Alembic migrations from code (CLI, tests, readiness) and installing the defaults."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

REPO_ROOT = Path(__file__).resolve().parents[3]


def alembic_config() -> Config:
    config = Config(str(REPO_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(REPO_ROOT / "migrations"))
    return config


@lru_cache(maxsize=1)
def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def upgrade(engine: Engine, revision: str = "head") -> None:
    config = alembic_config()
    with engine.connect() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
        connection.commit()


def downgrade(engine: Engine, revision: str) -> None:
    config = alembic_config()
    with engine.connect() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)
        connection.commit()


def install_defaults(engine: Engine) -> None:
    """What a new database starts with: brand, grades, the default tiers, earning rules, coupons,
    the wallet bonus and the risk rules."""
    from forecourt.coupons import templates as coupons
    from forecourt.db.session import Database
    from forecourt.risk import service as risk
    from forecourt.rules import service as rules
    from forecourt.stations import service as stations
    from forecourt.tiers import service as tiers
    from forecourt.wallet import service as wallet

    with Database(engine).transaction() as session:
        stations.install_defaults(session)
        tiers.install_defaults(session)
        rules.install_defaults(session)
        coupons.install_defaults(session)
        wallet.install_defaults(session)
        risk.install_defaults(session)


def migrate(engine: Engine) -> None:
    """Bring the schema to head and install the defaults: what ``forecourt migrate`` does."""
    upgrade(engine)
    install_defaults(engine)
