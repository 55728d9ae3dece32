"""Settings, read from ``FORECOURT_*`` environment variables.

Development defaults let ``make demo`` run with zero set-up; ``check_production`` refuses to start a
production server on those defaults (development keys, a SQLite file on a temporary path).
"""

from __future__ import annotations

import base64
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Development-only key material. Anything derived from these is worthless outside a laptop.
DEV_SECRET_KEY = "dev-secret-key-do-not-use-in-production"  # noqa: S105 - refused in production
DEV_ENCRYPTION_KEYS = "dev1:" + base64.urlsafe_b64encode(b"forecourt-development-aes-key-32").decode()
DEV_LEDGER_SIGNING_KEY = "ldev1:" + base64.urlsafe_b64encode(b"forecourt-dev-ledger-ed25519-key").decode()

DEFAULT_SQLITE_PATH = Path("var") / "forecourt.sqlite3"


class ConfigError(RuntimeError):
    """The settings cannot be used to start the product."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FORECOURT_", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    database_url: str = f"sqlite:///{DEFAULT_SQLITE_PATH}"
    host: str = "127.0.0.1"
    port: int = 8000

    timezone: str = "Asia/Shanghai"
    """The chain's time zone: business days, month boundaries, 'Saturday', birthdays."""

    secret_key: str = DEV_SECRET_KEY
    """Keys blind indexes and other server-side MACs."""

    encryption_keys: str = DEV_ENCRYPTION_KEYS
    """Comma-separated ``key_id:base64(32 bytes)`` AES-256 keys; the first encrypts, all decrypt."""

    ledger_signing_key: str = DEV_LEDGER_SIGNING_KEY
    """``key_id:base64(32-byte Ed25519 seed)``: signs every ledger posting and digest."""
    ledger_verify_keys: str = ""
    """Comma-separated ``key_id:base64(Ed25519 public key)`` of retired signing keys, so ``ledger
    verify`` still checks postings signed before a rotation."""

    points_expiry_policy: Literal["rolling", "end_of_year"] = "rolling"
    """``rolling``: points expire ``points_expiry_months`` after they were earned; ``end_of_year``: at
    the end of the calendar year after the one they were earned in."""
    points_expiry_months: int = Field(default=24, ge=1, le=120)
    coupons_per_order: int = Field(default=3, ge=1, le=10)
    """At most this many coupons on one sale (SPEC C4)."""
    point_unit_cost_millifen: int = Field(default=1000, ge=0)
    """What one point costs the chain, in thousandths of a fen (default ¥0.01 = 1000)."""

    staff_token_ttl_minutes: int = Field(default=12 * 60, ge=5)
    member_access_ttl_minutes: int = Field(default=120, ge=5)
    member_refresh_ttl_days: int = Field(default=30, ge=1)
    sms_limit_per_phone: str = "5 per hour"
    sms_limit_per_ip: str = "30 per hour"
    sms_echo: bool = False
    """Print each SMS on the console too (the demo turns it on, so codes can be read there)."""
    login_max_failures_per_user: int = 5
    login_max_failures_per_ip: int = 30
    login_failure_window_seconds: int = 15 * 60

    rate_limit_storage: str = "memory://"
    """A ``limits`` storage URI: ``memory://`` in-process, ``redis://host:6379/0`` shared."""

    device_clock_skew_seconds: int = 300

    db_pool_size: int = 10
    db_max_overflow: int = 20
    db_statement_retries: int = 5

    log_level: str = "INFO"
    log_format: Literal["json", "console"] = "json"

    outbox_dispatch_in_process: bool = True
    outbox_max_attempts: int = 10

    @field_validator("database_url")
    @classmethod
    def _normalise_postgres_driver(cls, value: str) -> str:
        for prefix in ("postgresql://", "postgres://"):
            if value.startswith(prefix):
                return "postgresql+psycopg://" + value[len(prefix) :]
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def sqlite_path(self) -> Path | None:
        """The database file of a SQLite URL, or None for PostgreSQL or an in-memory database."""
        if not self.is_sqlite:
            return None
        from sqlalchemy.engine import make_url

        path = make_url(self.database_url).database
        if not path or path == ":memory:":
            return None
        return Path(path)

    def check_production(self) -> None:
        """Raise ConfigError when a production server would run on development defaults."""
        if self.env != "production":
            return
        problems: list[str] = []
        if self.secret_key == DEV_SECRET_KEY:
            problems.append("FORECOURT_SECRET_KEY is the development default")
        if DEV_ENCRYPTION_KEYS.split(",")[0] in self.encryption_keys.split(","):
            problems.append("FORECOURT_ENCRYPTION_KEYS contains the development key")
        if self.ledger_signing_key == DEV_LEDGER_SIGNING_KEY:
            problems.append("FORECOURT_LEDGER_SIGNING_KEY is the development default")
        path = self.sqlite_path()
        if self.is_sqlite and path is None:
            problems.append("an in-memory SQLite database loses everything on restart")
        if path is not None and _is_temporary(path):
            problems.append(f"the SQLite file {path} is on a temporary path")
        if problems:
            raise ConfigError("refusing to start in production: " + "; ".join(problems))


_TEMPORARY_DIRS = ("/tmp", "/var/tmp", "/dev/shm")  # noqa: S108 - we refuse them, not use them


def _is_temporary(path: Path) -> bool:
    resolved = path.expanduser().resolve()
    temporary_roots = {Path(tempfile.gettempdir()).resolve(), *map(Path, _TEMPORARY_DIRS)}
    return any(resolved.is_relative_to(root) for root in temporary_roots)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
