from __future__ import annotations

import base64

import pytest

from forecourt.config import ConfigError, Settings


def _production(**overrides: str) -> Settings:
    values = {
        "env": "production",
        "database_url": "postgresql://forecourt@db.internal/forecourt",
        "secret_key": "a-real-secret-from-the-vault-0123456789",
        "encryption_keys": "k2026:" + base64.urlsafe_b64encode(b"0123456789abcdef0123456789abcdef").decode(),
        "ledger_signing_key": "l2026:"
        + base64.urlsafe_b64encode(b"fedcba9876543210fedcba9876543210").decode(),
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def test_production_starts_with_real_keys_and_a_real_database():
    _production().check_production()


def test_production_refuses_the_development_secret_key():
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        _production(secret_key=Settings().secret_key).check_production()


def test_production_refuses_the_development_ledger_signing_key():
    with pytest.raises(ConfigError, match="LEDGER_SIGNING_KEY"):
        _production(ledger_signing_key=Settings().ledger_signing_key).check_production()


def test_production_refuses_the_development_encryption_key():
    with pytest.raises(ConfigError, match="ENCRYPTION_KEYS"):
        _production(encryption_keys=Settings().encryption_keys).check_production()


@pytest.mark.parametrize("path", ["/tmp/forecourt.sqlite3", "/var/tmp/f.db", "/dev/shm/f.db"])
def test_production_refuses_a_sqlite_file_on_a_temporary_path(path):
    with pytest.raises(ConfigError, match="temporary"):
        _production(database_url=f"sqlite:///{path}").check_production()


def test_production_refuses_an_in_memory_database():
    with pytest.raises(ConfigError, match="in-memory"):
        _production(database_url="sqlite://").check_production()


def test_production_accepts_a_sqlite_file_on_a_real_disk():
    _production(database_url="sqlite:////srv/forecourt/forecourt.sqlite3").check_production()


def test_development_runs_on_the_defaults():
    Settings().check_production()


@pytest.mark.parametrize("url", ["postgresql://u@h/db", "postgres://u@h/db"])
def test_postgres_urls_use_psycopg_3(url):
    assert Settings(database_url=url).database_url == "postgresql+psycopg://u@h/db"


def test_settings_come_from_forecourt_variables(monkeypatch):
    monkeypatch.setenv("FORECOURT_PORT", "8123")
    monkeypatch.setenv("FORECOURT_TIMEZONE", "Asia/Urumqi")
    settings = Settings()
    assert (settings.port, settings.timezone) == (8123, "Asia/Urumqi")
