"""Health, readiness and metrics."""

from __future__ import annotations

from fastapi.testclient import TestClient

from forecourt.app import create_app
from forecourt.db.engine import create_db_engine
from forecourt.db.migrate import head_revision
from forecourt.db.session import Database
from tests.fixtures import databases


def test_healthz_answers(client):
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_reports_the_database_at_the_schema_head(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["schema"] == head_revision()


def test_readyz_is_503_when_the_migrations_have_not_run(tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    settings = databases.settings_for(url)
    database = Database(create_db_engine(settings))
    with TestClient(create_app(settings, database=database)) as client:
        response = client.get("/readyz")
    database.engine.dispose()
    assert response.status_code == 503
    assert response.json()["status"] == "migrations_pending"


def test_readyz_is_503_when_the_database_is_unreachable(tmp_path):
    settings = databases.settings_for("postgresql://nobody@127.0.0.1:1/none")
    database = Database(create_db_engine(settings, pool_pre_ping=False))
    with TestClient(create_app(settings, database=database)) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"


def test_metrics_count_requests_by_route_template(client, staff):
    client.get("/api/v1/stations/NOPE", headers=staff("admin").headers)
    text = client.get("/metrics").text
    assert "forecourt_http_requests_total" in text
    assert 'route="/api/v1/stations/{code}"' in text
    assert "forecourt_http_request_duration_seconds_bucket" in text
