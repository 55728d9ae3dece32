"""Personal data at rest and its erasure, read from the raw database: the SQLite file (and its
write-ahead log) byte for byte, or every row of every PostgreSQL table as text."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from forecourt.app import create_app
from forecourt.audit.models import AuditEntry
from forecourt.db.base import Base, import_all_models
from forecourt.jobs.models import JobRun
from forecourt.jobs.registry import run_job
from forecourt.ledger import verify
from forecourt.ledger.models import LedgerAccount
from forecourt.members import privacy
from forecourt.members.models import Member, SmsCode, SmsMessage
from tests.fixtures.builders import make_staff
from tests.members.support import (
    LOGIN,
    SMS_CODES,
    earn_points,
    last_code,
    make_member,
    spend_points,
    unique_phone,
    unique_plate,
)

NAME = "欧阳娜娜"
ID_NUMBER = "530102199001011234"


def _raw_database_text(database) -> str:
    engine = database.engine
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(FULL)")
        path = Path(engine.url.database or "")
        chunks = [path.read_bytes()]
        wal = path.with_name(path.name + "-wal")
        if wal.exists():
            chunks.append(wal.read_bytes())
        return b"".join(chunks).decode("utf-8", errors="replace")
    with engine.connect() as connection:
        tables = connection.execute(
            text("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")
        ).scalars()
        return "\n".join(
            row
            for table in tables
            for row in connection.execute(text(f'SELECT t::text FROM "{table}" t')).scalars()  # noqa: S608 - names from the catalogue
        )


@pytest.fixture
def world(committed_database, test_settings):
    with committed_database.transaction() as session:
        admin = make_staff(session, "admin")
    app = create_app(test_settings, database=committed_database)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, admin, app


def _register(client, admin, app):
    phone, plate = unique_phone(), unique_plate()
    created = client.post(
        "/api/v1/members", json={"phone": phone, "name": NAME, "plates": [plate]}, headers=admin.headers
    )
    assert created.status_code == 201, created.text
    member_id = created.json()["id"]
    patched = client.patch(
        f"/api/v1/members/{member_id}", json={"id_number": ID_NUMBER}, headers=admin.headers
    )
    assert patched.status_code == 200
    assert client.post(SMS_CODES, json={"phone": phone}).status_code == 202
    with app.state.database.transaction(write=False) as session:
        code = last_code(session, app.state.pii, phone)
    tokens = client.post(LOGIN, json={"phone": phone, "code": code}).json()
    return member_id, phone, plate, {"Authorization": f"Bearer {tokens['access_token']}"}


@pytest.mark.committed
def test_no_phone_name_or_id_number_is_stored_in_plaintext(world, committed_database):
    client, admin, app = world
    _member_id, phone, _plate, _headers = _register(client, admin, app)
    raw = _raw_database_text(committed_database)
    for secret in (phone, f"+86{phone}", NAME, ID_NUMBER):
        assert secret not in raw, f"{secret!r} found in the raw database"


@pytest.mark.committed
def test_deleting_the_account_leaves_no_personal_data_anywhere(world, committed_database):
    client, admin, app = world
    member_id, phone, plate, headers = _register(client, admin, app)
    client.post(
        f"/api/v1/members/{member_id}/vehicles",
        json={"model": "大众 朗逸", "plate": plate},
        headers=admin.headers,
    )
    assert client.get("/api/v1/me/export", headers=headers).status_code == 200
    assert (
        client.request("DELETE", "/api/v1/me", json={"confirm": "nope"}, headers=headers).status_code == 422
    )
    deleted = client.request("DELETE", "/api/v1/me", json={"confirm": "DELETE"}, headers=headers)
    assert deleted.status_code == 204

    raw = _raw_database_text(committed_database)
    for secret in (phone, f"+86{phone}", NAME, ID_NUMBER, plate):
        assert secret not in raw, f"{secret!r} survived the deletion"
    phone_index = app.state.pii.phone_index(f"+86{phone}")
    with committed_database.transaction(write=False) as session:
        for texts in (SmsMessage, SmsCode):
            assert session.scalars(select(texts).where(texts.phone_index == phone_index)).all() == []
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    shown = client.get(f"/api/v1/members/{member_id}", headers=admin.headers).json()
    assert shown["status"] == "deleted"
    assert shown["phone"] is None
    assert shown["plates"] == []
    again = client.post("/api/v1/members", json={"phone": phone, "plates": [plate]}, headers=admin.headers)
    assert again.status_code == 201
    assert again.json()["id"] != member_id


def _ledger_check(app, session) -> verify.VerifyReport:
    """What `forecourt ledger verify` reports, with the keys the app signs with."""
    keys = verify.public_keys(app.state.ledger_signer, app.state.settings.ledger_verify_keys)
    return verify.verify(session, keys, stop_at_first=False)


@pytest.mark.committed
@pytest.mark.parametrize("erased_by", ["member", "staff"])
def test_an_erased_member_keeps_their_points_history_under_the_same_pseudonymous_id(
    world, committed_database, erased_by
):
    client, admin, app = world
    member_id, phone, plate, headers = _register(client, admin, app)
    with committed_database.transaction() as session:
        earned = earn_points(session, app.state.ledger_signer, member_id, 800)
        spent = spend_points(session, app.state.ledger_signer, member_id, 300)
    ledger = f"/api/v1/members/{member_id}/ledger"
    history = client.get(ledger, headers=admin.headers).json()["items"]
    assert {line["posting_id"] for line in history} == {earned, spent}

    if erased_by == "member":
        response = client.request("DELETE", "/api/v1/me", json={"confirm": "DELETE"}, headers=headers)
        assert response.status_code == 204
    else:
        response = client.post(
            f"/api/v1/members/{member_id}/erase", json={"reason": "会员来电要求注销"}, headers=admin.headers
        )
        assert response.status_code == 200
        assert response.json()["status"] == "deleted"

    assert client.get(ledger, headers=admin.headers).json()["items"] == history
    assert client.get(f"/api/v1/members/{member_id}/points", headers=admin.headers).json()["available"] == 500
    with committed_database.transaction(write=False) as session:
        accounts = session.scalars(
            select(LedgerAccount).where(LedgerAccount.member_id == uuid.UUID(member_id))
        ).all()
        [erasure] = session.scalars(select(AuditEntry).where(AuditEntry.action == "member.erase")).all()
        report = _ledger_check(app, session)
    assert {account.purpose: account.balance for account in accounts}["available"] == 500
    assert erasure.entity_id == member_id
    if erased_by == "member":
        assert (erasure.actor_kind, erasure.actor_id) == ("member", member_id)
        assert erasure.after == {"reason": "member request"}
    else:
        assert (erasure.actor_kind, erasure.actor_id) == ("staff", str(admin.user.id))
        assert erasure.after == {"reason": "会员来电要求注销"}
    assert report.intact, report.problems
    assert report.postings == 2
    raw = _raw_database_text(committed_database)
    for secret in (phone, f"+86{phone}", NAME, ID_NUMBER, plate):
        assert secret not in raw, f"{secret!r} survived the erasure"


@pytest.mark.committed
def test_only_staff_allowed_to_erase_can_erase_a_member_and_a_second_erasure_changes_nothing(
    world, committed_database
):
    client, _admin, app = world
    with committed_database.transaction() as session:
        member = make_member(session, app.state.pii, name=NAME, plates=(unique_plate(),))
        earned = earn_points(session, app.state.ledger_signer, member.id, 200)
        others = [
            make_staff(session, role) for role in ("attendant", "station_manager", "marketing", "agent")
        ]
        service = make_staff(session, "service")
    erase = f"/api/v1/members/{member.id}/erase"
    for other in others:
        refused = client.post(erase, json={"reason": "会员要求"}, headers=other.headers)
        assert refused.status_code == 403, other.user.role
    assert client.post(erase, json={"reason": ""}, headers=service.headers).status_code == 422

    erased = client.post(erase, json={"reason": "会员来电要求注销"}, headers=service.headers)
    assert erased.status_code == 200, erased.text
    body = erased.json()
    assert (body["status"], body["phone"], body["name"], body["card_no"], body["plates"]) == (
        "deleted",
        None,
        None,
        None,
        [],
    )
    again = client.post(erase, json={"reason": "再次注销"}, headers=service.headers)
    assert again.status_code == 200
    assert again.json()["status"] == "deleted"
    ledger = client.get(f"/api/v1/members/{member.id}/ledger", headers=service.headers).json()["items"]
    assert [(line["posting_id"], line["available"]) for line in ledger] == [(earned, 200)]
    with committed_database.transaction(write=False) as session:
        [erasure] = session.scalars(select(AuditEntry).where(AuditEntry.action == "member.erase")).all()
        report = _ledger_check(app, session)
    assert (erasure.entity_id, erasure.actor_id) == (str(member.id), str(service.user.id))
    assert erasure.after == {"reason": "会员来电要求注销"}
    assert report.intact, report.problems


def _row_versions_holding(database, value: str) -> list[str]:
    """The tables erasure writes whose rows hold ``value``, counting every version PostgreSQL keeps
    (dead ones too, read page by page with pageinspect); on SQLite, whether the file holds it."""
    if database.engine.dialect.name == "sqlite":
        return ["the SQLite file"] if value in _raw_database_text(database) else []
    found = []
    with database.engine.connect() as connection:
        for table in privacy.tables_erasure_writes():
            count = connection.execute(
                text(
                    "SELECT count(*) FROM generate_series(0, pg_relation_size(CAST(:t AS regclass)) / "
                    "current_setting('block_size')::int - 1) AS block, "
                    "LATERAL heap_page_items(get_raw_page(CAST(:t AS text), block::int)) AS item "
                    "WHERE item.t_data IS NOT NULL AND position(:needle IN item.t_data) > 0"
                ),
                {"t": table, "needle": value.encode()},
            ).scalar_one()
            if count:
                found.append(table)
    return found


@pytest.fixture
def pageinspect(committed_database, db_kind):
    if db_kind != "postgres":
        return
    try:
        with committed_database.engine.begin() as connection:
            connection.execute(text("CREATE EXTENSION IF NOT EXISTS pageinspect"))
    except DBAPIError as exc:
        pytest.skip(f"pageinspect is needed to read old row versions: {exc.orig}")


@pytest.mark.committed
def test_vacuum_erased_members_vacuums_what_erasure_writes_on_postgresql_and_leaves_sqlite_alone(
    committed_database, test_settings, db_kind
):
    result = run_job(committed_database, test_settings, "vacuum-erased-members")
    if db_kind == "sqlite":
        assert result == {"vacuumed": [], "database": "sqlite"}
    else:
        assert result == {"vacuumed": list(privacy.tables_erasure_writes()), "database": "postgresql"}
        assert {"members", "sms_messages", "sms_codes", "member_plates", "vehicles"} <= set(
            result["vacuumed"]
        )
    with committed_database.transaction(write=False) as session:
        run = session.scalars(select(JobRun).where(JobRun.name == "vacuum-erased-members")).one()
    assert run.status == "succeeded"


@pytest.mark.committed
def test_after_erasure_and_the_vacuum_job_no_row_version_keeps_the_erased_ciphertext(
    world, committed_database, test_settings, db_kind, pageinspect
):
    client, admin, app = world
    member_id, _phone, plate, headers = _register(client, admin, app)
    with committed_database.transaction(write=False) as session:
        member = session.get_one(Member, uuid.UUID(member_id))
        texts = session.scalars(select(SmsMessage.phone).where(SmsMessage.phone_index == member.phone_index))
        sealed = [member.phone, member.name, member.id_number, member.code_secret, *texts]
    assert all(sealed)
    deleted = client.request("DELETE", "/api/v1/me", json={"confirm": "DELETE"}, headers=headers)
    assert deleted.status_code == 204
    if db_kind == "postgres":
        assert "members" in _row_versions_holding(committed_database, member.phone or ""), (
            "before VACUUM the old row version still holds the ciphertext"
        )
    run_job(committed_database, test_settings, "vacuum-erased-members")
    for value in (*sealed, plate):
        assert _row_versions_holding(committed_database, value or "") == [], value


def test_every_table_holding_member_rows_by_id_or_by_phone_has_an_export_section():
    import_all_models()
    sections = privacy.sections().values()
    covered = {table for section in sections for table in section.tables}
    erased = {table for section in sections if section.erase is not None for table in section.tables}
    by_member_id = {
        table.name
        for table in Base.metadata.tables.values()
        if any(fk.column.table.name == "members" for column in table.columns for fk in column.foreign_keys)
    }
    by_phone = {
        table.name
        for table in Base.metadata.tables.values()
        if "phone_index" in table.columns and table.name != "members"
    }
    assert by_phone >= {"sms_messages", "sms_codes"}
    assert (by_member_id | by_phone) - covered == set()
    assert by_phone - erased == set(), "rows found by the phone's index must go with the member's data"


def test_the_export_holds_every_section_with_the_member_data(client, session, pii, staff):
    from tests.members.support import member_login

    login = member_login(client, session, pii)
    plate = unique_plate()
    client.post("/api/v1/me/plates", json={"plate": plate}, headers=login.headers)
    client.post("/api/v1/me/vehicles", json={"model": "哈弗 H6", "plate": plate}, headers=login.headers)
    client.patch("/api/v1/me", json={"name": NAME, "marketing_consent": True}, headers=login.headers)
    admin = staff("admin")
    client.post("/api/v1/tags", json={"code": "vip_test", "name": "测试"}, headers=admin.headers)
    client.post(f"/api/v1/members/{login.member_id}/tags", json={"tag": "vip_test"}, headers=admin.headers)
    response = client.get("/api/v1/me/export", headers=login.headers)
    export = response.json()
    assert set(privacy.sections()) <= set(export)
    assert export["profile"]["name"] == NAME
    assert export["profile"]["phone"] == f"+86{login.phone}"
    assert [row["plate"] for row in export["plates"]["bindings"]] == [plate]
    assert export["vehicles"][0]["model"] == "哈弗 H6"
    assert [row["granted"] for row in export["consents"]] == [True]
    assert [tag["code"] for tag in export["tags"]] == ["vip_test"]
    assert export["points"]["available"] == 0
    assert export["tier"]["tier"] == "regular"
    [text] = export["sms"]["messages"]
    assert last_code(session, pii, login.phone) in text["text"]
    [code] = export["sms"]["codes"]
    assert set(code) == {"purpose", "sent_at", "expires_at", "attempts", "consumed_at"}
    assert (code["purpose"], code["attempts"]) == ("login", 0)
    assert code["consumed_at"] is not None
    digest = session.scalars(
        select(SmsCode.code_digest).where(SmsCode.phone_index == pii.phone_index(f"+86{login.phone}"))
    ).one()
    assert digest not in response.text


def test_staff_see_masked_data_and_each_reveal_is_audited(client, session, pii, staff):
    phone = unique_phone()
    member = make_member(session, pii, phone=phone, name=NAME)
    shown = client.get(f"/api/v1/members/{member.id}", headers=staff("marketing").headers).json()
    assert shown["phone"] == f"{phone[:3]}****{phone[-4:]}"
    assert shown["name"] == "欧***"
    assert (
        client.post(f"/api/v1/members/{member.id}/reveal", headers=staff("marketing").headers).status_code
        == 403
    )
    revealed = client.post(f"/api/v1/members/{member.id}/reveal", headers=staff("service").headers)
    assert revealed.json()["phone"] == f"+86{phone}"
    assert revealed.json()["name"] == NAME
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "member.reveal")).one()
    assert entry.entity_id == str(member.id)
    assert entry.request_id == revealed.headers["X-Request-ID"]
