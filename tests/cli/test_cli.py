"""The `forecourt` command line, run in-process against a scratch SQLite file.

``FORECOURT_DATABASE_URL`` points every command at the scratch file; the settings cache is cleared
around each test so that no other test sees it. The demo is loaded once for the tests that only read
it, into a fresh database of the kind the suite runs on (SQLite or PostgreSQL).
"""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic.migration import MigrationContext
from fastapi.testclient import TestClient
from sqlalchemy import Engine, Select, distinct, func, select
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from forecourt import __version__
from forecourt.app import create_app
from forecourt.auth.models import StaffUser
from forecourt.auth.permissions import ROLE_PERMISSIONS, STATION_BOUND_ROLES, Role
from forecourt.cli import app as cli_app
from forecourt.config import Settings, get_settings
from forecourt.coupons.models import Coupon
from forecourt.db.engine import create_db_engine
from forecourt.db.migrate import head_revision, migrate
from forecourt.db.session import Database
from forecourt.demo import coupons as demo_coupons
from forecourt.demo import members as demo_members
from forecourt.devices.models import Device
from forecourt.devices.signing import signed_headers
from forecourt.jobs.models import JobRun
from forecourt.kit.actor import SYSTEM
from forecourt.kit.clock import chain_date, utcnow
from forecourt.ledger import verify
from forecourt.ledger.chain import signer_for
from forecourt.ledger.models import Entry, LedgerAccount, Posting
from forecourt.members.models import Member, MemberPlate, Vehicle
from forecourt.pos.models import Sale, SaleLine, SalePayment
from forecourt.reconciliation.models import ProviderStatement, ReconciliationItem, ReconciliationRun
from forecourt.stations import domain as station_domain
from forecourt.stations import service as stations
from forecourt.stations.models import Grade, Station
from forecourt.wallet.models import RechargeCard, WalletTopUp
from tests.fixtures.databases import drop_postgres_database, scratch_database_url, settings_for

STATUS = "/api/v1/pos/status"
JOBS = ("dispatch-outbox", "purge-device-nonces", "purge-staff-tokens", "vacuum-erased-members")

runner = CliRunner()


# --- fixtures and helpers ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database at head with the defaults installed, built once and copied for each test."""
    path = tmp_path_factory.mktemp("cli-template") / "template.sqlite3"
    engine = create_db_engine(Settings(database_url=f"sqlite:///{path}"))
    migrate(engine)
    engine.dispose()
    assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").stat().st_size == 0
    return path


def _point_cli_at(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORECOURT_DATABASE_URL", url)
    get_settings.cache_clear()


@pytest.fixture
def scratch_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An empty scratch database file the CLI is pointed at (working directory: the test's tmp dir)."""
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    _point_cli_at(url, monkeypatch)
    yield url
    get_settings.cache_clear()


@pytest.fixture
def cli_url(scratch_url: str, migrated_template: Path) -> str:
    """The scratch database, already migrated."""
    shutil.copyfile(migrated_template, scratch_url.removeprefix("sqlite:///"))
    return scratch_url


@pytest.fixture
def cli_engine(cli_url: str) -> Iterator[Engine]:
    engine = create_db_engine(Settings(database_url=cli_url))
    yield engine
    engine.dispose()


@pytest.fixture
def station_code(cli_engine: Engine) -> str:
    with Database(cli_engine).transaction() as session:
        stations.create_station(session, SYSTEM, code="S100", name="命令行测试站")
    return "S100"


def invoke(*args: str):
    return runner.invoke(cli_app, list(args))


def _ok(result) -> str:
    assert result.exit_code == 0, f"exit {result.exit_code}\n{result.output}\n{result.exception!r}"
    return str(result.stdout)


def _unwrapped(text: str) -> str:
    """Rich wraps long lines at the terminal width (80 columns under the test runner)."""
    return "".join(text.split())


def _fails(result, *fragments: str) -> str:
    """Exit code 1 with an `error:` line on stderr, not a crash with a traceback."""
    assert result.exit_code == 1, f"exit {result.exit_code}\n{result.output}"
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    stderr = " ".join(result.stderr.split())
    assert stderr.startswith("error:"), stderr
    for fragment in fragments:
        assert fragment in stderr, stderr
    return stderr


def _users(engine: Engine) -> dict[str, StaffUser]:
    with Database(engine).transaction(write=False) as session:
        return {user.username: user for user in session.scalars(select(StaffUser))}


def _device(engine: Engine, device_id: str) -> Device | None:
    with Database(engine).transaction(write=False) as session:
        return session.get(Device, device_id)


def _demo_device(out: str) -> tuple[str, str]:
    """The POS credential the demo prints: (device_id, secret)."""
    device_id = re.search(r"device_id\s+(dev_[0-9a-f]+)", out)
    secret = re.search(r"secret\s+(\S+)", out)
    assert device_id, out
    assert secret, out
    return device_id.group(1), secret.group(1)


def _signed_status(url: str, device_id: str, secret: str) -> tuple[int, dict]:
    """Call GET /api/v1/pos/status on an app serving ``url``, signed with the credential."""
    app = create_app(settings_for(url))
    headers = signed_headers(
        device_id, secret, "GET", STATUS, b"", timestamp=int(time.time()), nonce="cli-nonce-1"
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get(STATUS, headers=headers)
    return response.status_code, response.json()


# --- version and migrate -----------------------------------------------------------------------------------


def test_version_prints_the_package_version():
    assert _ok(invoke("version")).strip() == __version__


def test_no_command_shows_the_help():
    result = invoke()
    assert "migrate" in result.output
    assert "devices" in result.output


def test_migrate_brings_a_new_database_to_head_and_installs_the_defaults(scratch_url):
    out = _ok(invoke("migrate"))
    assert "database at head" in out
    assert "cli.sqlite3" in _unwrapped(out)
    engine = create_db_engine(Settings(database_url=scratch_url))
    try:
        with engine.connect() as connection:
            assert MigrationContext.configure(connection).get_current_revision() == head_revision()
        with Database(engine).transaction(write=False) as session:
            grades = set(session.scalars(select(Grade.code)))
        assert grades == {spec.code for spec in station_domain.DEFAULT_GRADES}
    finally:
        engine.dispose()


def test_migrate_is_idempotent(scratch_url):
    _ok(invoke("migrate"))
    engine = create_db_engine(Settings(database_url=scratch_url))
    try:
        with Database(engine).transaction() as session:
            stations.create_station(session, SYSTEM, code="S777", name="保留站")
    finally:
        engine.dispose()

    assert "database at head" in _ok(invoke("migrate"))

    engine = create_db_engine(Settings(database_url=scratch_url))
    try:
        with Database(engine).transaction(write=False) as session:
            assert session.scalar(select(func.count()).select_from(Grade)) == len(
                station_domain.DEFAULT_GRADES
            )
            assert stations.get_station(session, "S777").name == "保留站"
    finally:
        engine.dispose()


# --- users -------------------------------------------------------------------------------------------------


def test_users_create_makes_an_admin(cli_engine):
    out = _ok(
        invoke("users", "create", "--username", "Root", "--password", "long-enough-1", "--role", "admin")
    )
    assert "created root (admin)" in out
    user = _users(cli_engine)["root"]
    assert user.role == "admin"
    assert user.station_id is None
    assert user.is_active
    assert user.password_hash != "long-enough-1"


def test_an_admin_created_on_the_command_line_can_log_in(cli_url):
    _ok(invoke("users", "create", "--username", "root", "--password", "long-enough-1", "--role", "admin"))
    with TestClient(create_app(settings_for(cli_url)), raise_server_exceptions=False) as client:
        response = client.post("/api/v1/auth/login", json={"username": "root", "password": "long-enough-1"})
    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "bearer"


@pytest.mark.parametrize("role", sorted(STATION_BOUND_ROLES), ids=str)
def test_users_create_binds_station_roles_to_the_given_station(cli_engine, station_code, role):
    out = _ok(
        invoke(
            "users", "create", "--username", f"{role}1", "--password", "long-enough-1", "--role", role,
            "--station", station_code.lower(),
        )
    )  # fmt: skip
    assert f"({role})" in out
    with Database(cli_engine).transaction(write=False) as session:
        station = stations.get_station(session, station_code)
    assert _users(cli_engine)[f"{role}1"].station_id == station.id


@pytest.mark.parametrize("role", sorted(STATION_BOUND_ROLES), ids=str)
def test_a_station_role_without_a_station_is_refused(cli_engine, role):
    result = invoke("users", "create", "--username", "nobody", "--password", "long-enough-1", "--role", role)
    _fails(result, "belongs to a station")
    assert "nobody" not in _users(cli_engine)


def test_a_head_office_role_with_a_station_is_refused(cli_engine, station_code):
    result = invoke(
        "users", "create", "--username", "hq", "--password", "long-enough-1", "--role", "finance",
        "--station", station_code,
    )  # fmt: skip
    _fails(result, "not bound to a station")
    assert "hq" not in _users(cli_engine)


def test_users_create_with_an_unknown_station_fails_cleanly(cli_engine):
    result = invoke(
        "users", "create", "--username", "lost", "--password", "long-enough-1", "--role", "attendant",
        "--station", "NOPE",
    )  # fmt: skip
    _fails(result, "No station has that code.")
    assert "lost" not in _users(cli_engine)


def test_users_create_with_an_unknown_role_fails_cleanly(cli_engine):
    result = invoke(
        "users", "create", "--username", "pilot", "--password", "long-enough-1", "--role", "pilot"
    )
    _fails(result, "Unknown role 'pilot'")


def test_users_create_with_a_short_password_fails_cleanly(cli_engine):
    _fails(invoke("users", "create", "--username", "weak", "--password", "short", "--role", "admin"))
    assert "weak" not in _users(cli_engine)


def test_users_create_refuses_a_taken_username(cli_engine):
    _ok(invoke("users", "create", "--username", "twice", "--password", "long-enough-1", "--role", "admin"))
    _fails(
        invoke("users", "create", "--username", "TWICE", "--password", "long-enough-2", "--role", "finance")
    )
    assert _users(cli_engine)["twice"].role == "admin"


def test_users_list_shows_the_accounts(cli_url):
    _ok(invoke("users", "create", "--username", "root", "--password", "long-enough-1", "--role", "admin"))
    out = _ok(invoke("users", "list"))
    assert "root" in out
    assert "admin" in out


# --- devices -----------------------------------------------------------------------------------------------


def test_devices_create_prints_exactly_one_json_line_with_the_credential(cli_engine, station_code):
    out = _ok(invoke("devices", "create", "--station", station_code, "--name", "1号收银台"))
    lines = out.splitlines()
    assert len(lines) == 1, out
    credential = json.loads(lines[0])
    assert set(credential) == {"device_id", "secret"}
    assert credential["device_id"].startswith("dev_")
    device = _device(cli_engine, credential["device_id"])
    assert device is not None
    assert device.name == "1号收银台"
    assert device.created_by.startswith("cli:")
    assert credential["secret"] not in device.secret_ciphertext


def test_a_credential_from_the_command_line_signs_a_valid_pos_request(cli_url, station_code):
    credential = json.loads(_ok(invoke("devices", "create", "--station", station_code)))
    status, body = _signed_status(cli_url, credential["device_id"], credential["secret"])
    assert status == 200, body
    assert body["device_id"] == credential["device_id"]
    assert body["station"] == station_code


def test_devices_create_for_an_unknown_station_fails_with_a_message(cli_engine):
    result = invoke("devices", "create", "--station", "NOPE")
    _fails(result, "No station has that code.")
    assert result.stdout == ""
    with Database(cli_engine).transaction(write=False) as session:
        assert session.scalar(select(func.count()).select_from(Device)) == 0


def test_devices_list_shows_the_devices_but_no_secret(cli_url, station_code):
    credential = json.loads(_ok(invoke("devices", "create", "--station", station_code, "--name", "till")))
    out = _ok(invoke("devices", "list"))
    assert credential["device_id"] in out
    assert credential["secret"] not in out
    assert credential["device_id"] in _ok(invoke("devices", "list", "--station", station_code))


def test_devices_list_filters_by_station(cli_engine, station_code):
    with Database(cli_engine).transaction() as session:
        stations.create_station(session, SYSTEM, code="S200", name="另一站")
    credential = json.loads(_ok(invoke("devices", "create", "--station", station_code)))
    assert credential["device_id"] not in _ok(invoke("devices", "list", "--station", "S200"))


def test_devices_revoke_stops_the_credential(cli_url, cli_engine, station_code):
    credential = json.loads(_ok(invoke("devices", "create", "--station", station_code)))
    out = _ok(invoke("devices", "revoke", credential["device_id"]))
    assert f"revoked {credential['device_id']}" in out
    device = _device(cli_engine, credential["device_id"])
    assert device is not None
    assert device.revoked_at is not None

    status, body = _signed_status(cli_url, credential["device_id"], credential["secret"])
    assert status == 401
    assert body["error"]["code"] == "device_revoked"


def test_devices_revoke_of_an_unknown_device_fails_with_a_message(cli_url):
    _fails(invoke("devices", "revoke", "dev_0000000000000000"), "No such device.")


# --- jobs --------------------------------------------------------------------------------------------------


def test_jobs_list_names_every_job(cli_url):
    out = _ok(invoke("jobs", "list"))
    for name in JOBS:
        assert name in out


def test_jobs_run_purge_device_nonces_at_a_given_moment_prints_its_report_as_json(cli_engine):
    out = _ok(invoke("jobs", "run", "purge-device-nonces", "--at", "2026-11-22T10:00:00+08:00"))
    lines = out.splitlines()
    assert len(lines) == 1, out
    assert json.loads(lines[0]) == {"deleted": 0}
    with Database(cli_engine).transaction(write=False) as session:
        run = session.scalars(select(JobRun).where(JobRun.name == "purge-device-nonces")).one()
    assert run.status == "succeeded"
    assert run.at.isoformat() == "2026-11-22T02:00:00+00:00"


@pytest.mark.parametrize("name", JOBS)
def test_every_job_runs_from_the_command_line(cli_url, name):
    out = _ok(invoke("jobs", "run", name, "--at", "2026-11-22T10:00:00+08:00"))
    assert isinstance(json.loads(out), dict)


def test_jobs_run_without_a_moment_runs_as_of_now(cli_url):
    assert json.loads(_ok(invoke("jobs", "run", "purge-device-nonces"))) == {"deleted": 0}


def test_jobs_run_refuses_a_moment_without_an_offset(cli_engine):
    _fails(invoke("jobs", "run", "purge-device-nonces", "--at", "2026-11-22T10:00:00"), "--at:", "naive")
    with Database(cli_engine).transaction(write=False) as session:
        assert session.scalar(select(func.count()).select_from(JobRun)) == 0


def test_jobs_run_refuses_a_moment_that_is_not_iso_8601(cli_url):
    _fails(invoke("jobs", "run", "purge-device-nonces", "--at", "next tuesday"), "--at:")


def test_jobs_run_of_an_unknown_job_fails_with_a_message(cli_engine):
    _fails(invoke("jobs", "run", "make-coffee"), "no job named 'make-coffee'")
    with Database(cli_engine).transaction(write=False) as session:
        assert session.scalar(select(func.count()).select_from(JobRun)) == 0


# --- demo --------------------------------------------------------------------------------------------------


SHORT_HISTORY = ("--history-days", "14", "--history-members", "60")
"""A fortnight of fueling for 60 drivers: the same code path as the 90-day demo, in seconds."""


@dataclass(frozen=True)
class LoadedDemo:
    url: str
    output: str
    workdir: Path


@pytest.fixture(scope="module")
def loaded_demo(tmp_path_factory: pytest.TempPathFactory, db_kind: str) -> Iterator[LoadedDemo]:
    """`forecourt demo --no-serve` run once for the tests that only read what it loaded, into a fresh
    database of the kind the suite runs on."""
    workdir = tmp_path_factory.mktemp("demo")
    url = scratch_database_url(db_kind, workdir, "cli")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(workdir)
        patch.setenv("FORECOURT_SMS_ECHO", "true")  # what `demo` sets for itself; restored afterwards
        _point_cli_at(url, patch)
        output = _ok(invoke("demo", "--no-serve", *SHORT_HISTORY))
    get_settings.cache_clear()
    yield LoadedDemo(url=url, output=output, workdir=workdir)
    if db_kind == "postgres":
        drop_postgres_database(make_url(url).database or "")


def _demo_counts(url: str, *queries: Select[Any]) -> list[Any]:
    engine = create_db_engine(Settings(database_url=url))
    try:
        with Database(engine).transaction(write=False) as session:
            return [session.scalar(query) for query in queries]
    finally:
        engine.dispose()


def _demo_rows(url: str, query: Select[Any]) -> list[Any]:
    engine = create_db_engine(Settings(database_url=url))
    try:
        with Database(engine).transaction(write=False) as session:
            return [tuple(row) for row in session.execute(query)]
    finally:
        engine.dispose()


def test_demo_without_serving_loads_the_demo_chain_into_the_configured_database(loaded_demo):
    out = loaded_demo.output
    assert Path(make_url(loaded_demo.url).database or "").name in _unwrapped(out)
    assert "admin" in out
    assert "forecourt-demo" in out
    assert not (loaded_demo.workdir / "var").exists(), "the demo must honour FORECOURT_DATABASE_URL"

    engine = create_db_engine(Settings(database_url=loaded_demo.url))
    try:
        with Database(engine).transaction(write=False) as session:
            codes = set(session.scalars(select(Station.code)))
            staff = list(session.scalars(select(StaffUser)))
            devices = list(session.scalars(select(Device)))
            s001 = stations.get_station(session, "S001")
    finally:
        engine.dispose()
    assert codes == {"S001", "S002", "S003", "S004", "S005", "S006"}
    assert {user.role for user in staff} == {role.value for role in Role}
    for user in staff:
        if user.role in STATION_BOUND_ROLES:
            assert user.station_id == s001.id
    [device] = devices
    assert device.station_id == s001.id
    assert device.id in out


def test_the_demo_chain_has_2000_drivers_each_with_a_plate_most_with_a_car_and_a_profile(loaded_demo):
    share = 1 / demo_members.MEMBER_COUNT
    members, with_plate, with_vehicle, with_occupation, with_birthday, complete, kunming = _demo_counts(
        loaded_demo.url,
        select(func.count()).select_from(Member),
        select(func.count(distinct(MemberPlate.member_id))).where(MemberPlate.released_at.is_(None)),
        select(func.count(distinct(Vehicle.member_id))),
        select(func.count()).where(Member.occupation.is_not(None)),
        select(func.count()).where(Member.birthday.is_not(None)),
        select(func.count()).where(Member.profile_completed_at.is_not(None)),
        select(func.count()).where(MemberPlate.plate.like("云A%")),
    )
    assert (members, with_plate) == (2000, 2000)
    assert 0.5 <= with_vehicle * share <= 0.85
    assert 0.4 <= with_occupation * share <= 0.75
    assert 0.6 <= with_birthday * share <= 0.9
    assert 0.3 <= complete * share <= 0.7
    assert kunming * share >= 0.5, "most drivers of a Kunming chain have 云A plates"


def test_the_demo_has_a_fueling_history_committed_through_the_pos(loaded_demo):
    sales, members, first, last, diesel, earned, postings = _demo_counts(
        loaded_demo.url,
        select(func.count()).select_from(Sale),
        select(func.count(distinct(Sale.member_id))),
        select(func.min(Sale.occurred_at)),
        select(func.max(Sale.occurred_at)),
        select(func.count()).select_from(SaleLine).where(SaleLine.grade == "0"),
        select(func.sum(Sale.points_earned)),
        select(func.count()).select_from(Posting).where(Posting.reason == "sale.earn"),
    )
    assert f"{sales:,}sales" in _unwrapped(loaded_demo.output)
    assert sales >= 100
    assert members >= 40
    assert last - first >= timedelta(days=10), "sales spread over the fortnight"
    assert diesel > 0, "the trucks fill up with diesel"
    assert earned > 0
    assert postings == sales, "every demo sale is a member sale that earned points"
    engine = create_db_engine(Settings(database_url=loaded_demo.url))
    try:
        with Database(engine).transaction(write=False) as session:
            report = verify.verify(session, verify.public_keys(signer_for(Settings().ledger_signing_key), ""))
    finally:
        engine.dispose()
    assert report.intact, report.problems[:3]


def test_the_demo_drivers_top_up_their_wallets_and_pay_from_them_at_the_pos(loaded_demo):
    wallet_sale = select(SalePayment.sale_id).where(SalePayment.method.in_(("wallet", "wallet_bonus")))
    money = select(func.sum(Entry.amount)).join(LedgerAccount, LedgerAccount.id == Entry.account_id)
    (top_ups, with_bonus, at_a_station, wallet_sales, _bonus_paid, holders, held, cny_total) = _demo_counts(
        loaded_demo.url,
        select(func.count()).select_from(WalletTopUp),
        select(func.count()).where(WalletTopUp.amount_fen >= 50_000, WalletTopUp.bonus_fen > 0),
        select(func.count()).where(WalletTopUp.station.is_not(None)),
        select(func.count(distinct(wallet_sale.subquery().c.sale_id))),
        select(func.count()).where(SalePayment.method == "wallet_bonus"),
        select(func.count(distinct(LedgerAccount.member_id))).where(
            LedgerAccount.asset == "cny", LedgerAccount.member_id.is_not(None), LedgerAccount.balance > 0
        ),
        select(func.sum(LedgerAccount.balance)).where(
            LedgerAccount.asset == "cny", LedgerAccount.member_id.is_not(None)
        ),
        money.where(LedgerAccount.asset == "cny"),
    )
    assert top_ups > 0
    assert with_bonus > 0, "¥500 top-ups came with the ¥50 bonus"
    assert at_a_station > 0, "some drivers topped up at a station's counter"
    assert wallet_sales > 0, "some sales were paid from the wallet through the POS"
    assert holders > 0, "some members hold a wallet balance"
    assert held > 0
    assert cny_total == 0, "every fen of stored value is accounted for on the ledger"


def test_the_demo_leaves_finance_an_open_reconciliation_queue_for_yesterday(loaded_demo):
    (statements,) = _demo_counts(loaded_demo.url, select(func.count()).select_from(ProviderStatement))
    engine = create_db_engine(Settings(database_url=loaded_demo.url))
    try:
        with Database(engine).transaction(write=False) as session:
            items = session.execute(
                select(ReconciliationItem.classification, ReconciliationItem.status).order_by(
                    ReconciliationItem.classification
                )
            ).all()
            provider, business_date, summary = session.execute(
                select(ReconciliationRun.provider, ReconciliationRun.business_date, ReconciliationRun.summary)
            ).one()
    finally:
        engine.dispose()
    assert statements == 1
    assert [tuple(row) for row in items] == [
        ("amount_mismatch", "open"),
        ("missing_at_provider", "open"),
        ("missing_in_ours", "open"),
    ]
    assert provider == "sandbox"
    assert business_date == chain_date(utcnow()) - timedelta(days=1)
    assert summary["matched"]["count"] == 1
    assert summary["amount_mismatch"] == {"count": 1, "ours_fen": 20_000, "theirs_fen": 20_001}


def test_the_demo_recharge_cards_are_printed_sold_and_some_redeemed_into_wallets(loaded_demo):
    statuses = dict(
        _demo_rows(loaded_demo.url, select(RechargeCard.status, func.count()).group_by(RechargeCard.status))
    )
    assert statuses == {"issued": 24, "active": 6, "redeemed": 10}
    (card_top_ups,) = _demo_counts(
        loaded_demo.url,
        select(func.count()).select_from(WalletTopUp).where(WalletTopUp.method == "recharge_card"),
    )
    assert card_top_ups == 10


def test_the_demo_coupons_are_issued_claimed_and_used_at_the_pos(loaded_demo):
    flyer = select(Coupon.id).where(Coupon.batch_id.is_not(None))
    (
        with_pack,
        flyers,
        flyers_claimed,
        member_day,
        campaign,
        used,
        used_in_sales,
        used_discount,
        unused_with_sale,
    ) = _demo_counts(
        loaded_demo.url,
        select(func.count(distinct(Coupon.member_id))).where(Coupon.source_key.like("pack:NEW-MEMBER:%")),
        select(func.count()).select_from(flyer.subquery()),
        select(func.count()).where(Coupon.batch_id.is_not(None), Coupon.status != "unclaimed"),
        select(func.count()).where(Coupon.channel == "member_day"),
        select(func.count()).where(Coupon.channel == "campaign"),
        select(func.count()).where(Coupon.status == "used"),
        select(func.count(distinct(Coupon.used_sale_id))).join(Sale, Sale.id == Coupon.used_sale_id),
        select(func.min(Coupon.discount_fen)).where(Coupon.status == "used"),
        select(func.count()).where(Coupon.status != "used", Coupon.used_sale_id.is_not(None)),
    )
    assert with_pack == demo_members.MEMBER_COUNT, "every member got the new-member pack"
    assert flyers == demo_coupons.FLYER_CODES
    assert 0 < flyers_claimed < flyers, "some printed codes were typed in by drivers"
    assert member_day > 0, "drivers claimed the member-day coupon on the 8th"
    assert campaign > 0, "the ride-hailing campaign reached the tagged drivers"
    assert used > 0
    assert used_in_sales > 0, "coupons were used by sales committed through the POS"
    assert used_discount > 0, "a used coupon took something off"
    assert unused_with_sale == 0


def test_the_demo_device_credential_it_prints_works(loaded_demo):
    device_id, secret = _demo_device(loaded_demo.output)
    status, body = _signed_status(loaded_demo.url, device_id, secret)
    assert status == 200, body
    assert body["station"] == "S001"


def test_demo_again_with_keep_says_the_demo_is_already_loaded(loaded_demo, monkeypatch):
    monkeypatch.chdir(loaded_demo.workdir)
    _point_cli_at(loaded_demo.url, monkeypatch)
    out = _ok(invoke("demo", "--no-serve", "--keep"))
    get_settings.cache_clear()
    assert "demo data already loaded" in out
    assert "secret" not in out
    assert _demo_counts(
        loaded_demo.url, select(func.count()).select_from(Station), select(func.count()).select_from(Device)
    ) == [6, 1]


def test_demo_without_a_database_url_starts_afresh_in_var_unless_kept(scratch_url, monkeypatch, tmp_path):
    monkeypatch.delenv("FORECOURT_DATABASE_URL")  # restored afterwards; `demo` sets it for itself
    get_settings.cache_clear()
    first = _ok(invoke("demo", "--no-serve", "--history-days", "0"))
    assert (tmp_path / "var" / "demo.sqlite3").exists()
    assert not (tmp_path / "cli.sqlite3").exists()

    monkeypatch.delenv("FORECOURT_DATABASE_URL")
    get_settings.cache_clear()
    kept = _ok(invoke("demo", "--no-serve", "--keep"))
    assert "demo data already loaded" in kept

    monkeypatch.delenv("FORECOURT_DATABASE_URL")
    get_settings.cache_clear()
    fresh = _ok(invoke("demo", "--no-serve", "--history-days", "0"))
    assert "demo data already loaded" not in fresh
    assert _demo_device(first)[0] != _demo_device(fresh)[0]


def test_every_console_page_opens_on_the_demo_data_for_the_demo_logins(loaded_demo):
    """The consoles over the demo chain (90 days of sales, 2,000 drivers): each demo login opens each
    page of its nav, a member's page and a station's page, in Chinese and in English."""
    from forecourt.demo.loader import DEMO_PASSWORD, STAFF
    from forecourt.web import nav

    app = create_app(Settings(env="test", database_url=loaded_demo.url, outbox_dispatch_in_process=False))
    with TestClient(app) as client:
        member_id = _demo_rows(loaded_demo.url, select(Member.id).limit(1))[0][0]
        for username, role, _station, _name in STAFF:
            if role == Role.PARTNER:
                continue  # partners verify coupons through the API; no console page is theirs
            console = "station" if role in STATION_BOUND_ROLES else "admin"
            client.cookies.clear()
            page = client.get(f"/{console}/login")
            token = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
            assert token
            signed_in = client.post(
                f"/{console}/login",
                data={"username": username, "password": DEMO_PASSWORD, "csrf_token": token.group(1)},
                follow_redirects=False,
            )
            assert signed_in.status_code == 303, (username, signed_in.text[:300])
            permissions = {str(p) for p in ROLE_PERMISSIONS[role]}
            items = nav.STATION_NAV if console == "station" else nav.ADMIN_NAV
            paths = [i.path for i in items if i.permission is None or str(i.permission) in permissions]
            if console == "admin" and "members:read" in permissions:
                paths += [f"/admin/members/{member_id}", "/admin/stations/S001"]
            for language in ("zh_CN", "en"):
                client.get(f"/lang/{language}")
                for path in paths:
                    response = client.get(path)
                    assert response.status_code == 200, (username, language, path, response.text[:300])
