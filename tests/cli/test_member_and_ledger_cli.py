"""`forecourt members import` and `forecourt ledger verify` from the command line."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from rich.progress import Progress
from sqlalchemy import select, text

from forecourt import cli
from forecourt.app import create_app
from forecourt.config import Settings
from forecourt.db.engine import create_db_engine
from forecourt.db.session import Database
from forecourt.kit.actor import SYSTEM
from forecourt.kit.clock import utcnow
from forecourt.kit.crypto import keyring_for
from forecourt.ledger import points
from forecourt.ledger.chain import signer_for
from forecourt.members.models import MemberImport
from forecourt.members.pii import Pii
from tests.cli.test_cli import _ok, cli_url, invoke, migrated_template, scratch_url  # noqa: F401
from tests.fixtures.builders import make_staff
from tests.fixtures.databases import settings_for
from tests.members.support import make_member, unique_phone, unique_plate


def _mixed_file(tmp_path: Path) -> tuple[Path, str]:
    """Three rows: one member, one bad phone, the first phone again."""
    good = unique_phone()
    source = tmp_path / "members.csv"
    source.write_text(
        f"手机号,姓名,车牌\n{good},张三,{unique_plate()}\n12345,李四,\n{good},重复,\n", encoding="utf-8"
    )
    return source, good


def test_members_import_reports_and_writes_the_error_file(cli_url, tmp_path: Path):  # noqa: F811
    source, good = _mixed_file(tmp_path)
    output = _ok(invoke("members", "import", str(source)))
    assert "3 rows" in output
    assert "1 imported" in output
    errors = (tmp_path / "members.csv.errors.csv").read_text(encoding="utf-8")
    assert "invalid_phone" in errors
    assert "duplicate_phone" in errors
    assert good not in errors
    again = _ok(invoke("members", "import", str(source)))
    assert "0 imported" in again
    assert invoke("members", "import", str(tmp_path / "missing.csv")).exit_code != 0


def test_members_import_shows_progress_against_the_row_count_from_the_start(
    cli_url,  # noqa: F811
    tmp_path: Path,
    monkeypatch,
):
    totals: list[float | None] = []

    class RecordingProgress(Progress):
        def add_task(self, description, *args, total=None, **options):  # type: ignore[no-untyped-def]
            totals.append(total)
            return super().add_task(description, *args, total=total, **options)

    monkeypatch.setattr(cli, "Progress", RecordingProgress)
    source, _good = _mixed_file(tmp_path)
    output = _ok(invoke("members", "import", str(source)))
    assert totals == [3]
    assert "3/3" in output


def test_the_error_file_downloaded_from_the_api_is_the_file_the_command_line_writes(
    cli_url,  # noqa: F811
    tmp_path: Path,
):
    source, _good = _mixed_file(tmp_path)
    _ok(invoke("members", "import", str(source)))
    written = (tmp_path / "members.csv.errors.csv").read_bytes()
    database = Database(create_db_engine(Settings(database_url=cli_url)))
    with database.transaction() as session:
        import_id = session.scalars(select(MemberImport.id)).one()
        admin = make_staff(session, "admin")
    database.engine.dispose()
    with TestClient(create_app(settings_for(cli_url))) as client:
        downloaded = client.get(f"/api/v1/member-imports/{import_id}/errors.csv", headers=admin.headers)
    assert downloaded.status_code == 200, downloaded.text
    assert downloaded.content == written


def test_ledger_verify_exits_0_when_intact_and_1_naming_the_posting_when_not(cli_url):  # noqa: F811
    settings = Settings(database_url=cli_url)
    database = Database(create_db_engine(settings))
    signer = signer_for(settings.ledger_signing_key)
    with database.transaction() as session:
        member = make_member(session, Pii(keyring_for(settings.encryption_keys), settings.secret_key))
        result = points.earn(
            session,
            signer,
            SYSTEM,
            member.id,
            100,
            reason="test",
            idempotency_key="cli-1",
            occurred_at=utcnow(),
            expires_at=None,
        )
        posting_id = str(result.posting.id)
    assert "ledger intact" in _ok(invoke("ledger", "verify"))
    with database.engine.begin() as connection:
        connection.execute(text("UPDATE ledger_postings SET reason = 'tampered'"))
    database.engine.dispose()
    broken = invoke("ledger", "verify")
    assert broken.exit_code == 1
    assert posting_id in "".join(broken.output.split())
