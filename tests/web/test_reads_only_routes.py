"""POST routes that change nothing (quotes, previews, searches) read in a read-only transaction: they
answer while another transaction holds the database for writing (SQLite's one writer; on PostgreSQL
the sales and ledger tables locked against writes)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from forecourt.app import create_app
from forecourt.config import Settings
from forecourt.db.session import Database
from forecourt.kit.actor import SYSTEM
from forecourt.stations import service as stations
from tests.fixtures.builders import make_staff
from tests.pos.support import priced_station
from tests.web.support import htmx, sign_in

pytestmark = pytest.mark.committed


def test_a_rule_preview_answers_while_a_writer_holds_the_database(
    committed_database: Database, test_settings: Settings
) -> None:
    app = create_app(test_settings, database=committed_database)
    with committed_database.transaction() as session:
        station = priced_station(session)
        analyst = make_staff(session, "marketing")
        stations.set_open(session, SYSTEM, station.code, is_open=True)
    with TestClient(app, raise_server_exceptions=False) as client:
        sign_in(client, analyst)
        form = {"station": station.code, "grade": "92", "liters": "40", "tier": "regular"}
        assert htmx(client, "POST", "/admin/program/preview", form).status_code == 200
        with committed_database.engine.connect() as plain:
            writer = plain.execution_options(sqlite_begin="IMMEDIATE")
            if writer.dialect.name == "sqlite":
                writer.exec_driver_sql("SELECT 1")  # BEGIN IMMEDIATE: the one write lock is ours now
            else:
                writer.exec_driver_sql(
                    "LOCK TABLE pos_sales, ledger_postings, idempotency_keys IN EXCLUSIVE MODE"
                )
            preview = htmx(client, "POST", "/admin/program/preview", form)
            writer.rollback()
    assert preview.status_code == 200, preview.text[:300]
    assert 'data-testid="preview-total"' in preview.text
