"""Importing existing members from CSV and Excel: whole rows or nothing, every refusal reported by
row, and a second run of the same file changing nothing."""

from __future__ import annotations

import csv
import io
import uuid

from openpyxl import Workbook
from sqlalchemy import func, select

from forecourt.members import imports
from forecourt.members.models import ConsentEvent, Member, MemberImport, MemberPlate
from tests.members.support import make_member, unique_phone, unique_plate

IMPORTS = "/api/v1/member-imports"


def _csv(
    rows: list[list[str]], header: tuple[str, ...] = ("手机号", "姓名", "性别", "生日", "车牌", "营销同意")
) -> bytes:
    lines = [",".join(header)] + [",".join(row) for row in rows]
    return ("\ufeff" + "\n".join(lines) + "\n").encode()


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_a_mixed_file_imports_the_good_rows_and_reports_every_other_row(client, session, pii, staff):
    held_plate, existing_phone = unique_plate(), unique_phone()
    make_member(session, pii, plates=(held_plate,))
    make_member(session, pii, phone=existing_phone)
    good, good_plates = unique_phone(), [unique_plate(), unique_plate()]
    dup_phone, dup_plate = unique_phone(), unique_plate()
    rows = [
        [good, "李四", "男", "1985-03-02", "、".join(good_plates), "是"],  # row 2: imported
        ["12345", "王五", "", "", "", ""],  # 3: invalid phone
        [unique_phone(), "赵六", "", "", "云A1234", ""],  # 4: invalid plate — no member at all
        [dup_phone, "", "", "", dup_plate, ""],  # 5: imported
        [dup_phone, "", "", "", "", ""],  # 6: phone again
        [unique_phone(), "", "", "", dup_plate, ""],  # 7: plate again
        [unique_phone(), "", "", "", held_plate, ""],  # 8: plate of an existing member
        [existing_phone, "", "", "", "", ""],  # 9: already a member → skipped
        [unique_phone(), "", "", "1890-13-40", "", ""],  # 10: bad birthday
    ]
    members_before, plates_before = _count(session, Member), _count(session, MemberPlate)
    response = client.post(
        IMPORTS, files={"file": ("members.csv", _csv(rows), "text/csv")}, headers=staff("admin").headers
    )
    assert response.status_code == 201, response.text
    report = response.json()
    assert (report["total_rows"], report["imported"], report["skipped"], report["failed"]) == (9, 2, 1, 6)
    assert [(row["row"], row["code"]) for row in report["rows"]] == [
        (3, "invalid_phone"),
        (4, "invalid_plate"),
        (6, "duplicate_phone"),
        (7, "duplicate_plate"),
        (8, "plate_taken"),
        (9, "already_member"),
        (10, "invalid_birthday"),
    ]
    assert _count(session, Member) == members_before + 2
    assert _count(session, MemberPlate) == plates_before + 3
    found = client.get("/api/v1/members", params={"phone": good}, headers=staff("service").headers).json()[
        "items"
    ]
    assert [sorted(found[0]["plates"])] == [sorted(good_plates)]
    assert _count(session, ConsentEvent) >= 1
    record = session.scalars(select(MemberImport)).one()
    assert good not in (record.report or "")
    assert existing_phone not in (record.report or "")

    again = client.post(
        IMPORTS, files={"file": ("members.csv", _csv(rows), "text/csv")}, headers=staff("admin").headers
    ).json()
    assert again["imported"] == 0
    assert _count(session, Member) == members_before + 2
    assert _count(session, MemberPlate) == plates_before + 3


def test_an_excel_workbook_with_english_headers_imports(client, session, staff):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["phone", "name", "gender", "birthday", "plates", "marketing_consent"])
    phone = unique_phone()
    sheet.append([int(phone), "Li Lei", "male", "1990-01-02", unique_plate(), "yes"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = client.post(
        IMPORTS,
        files={"file": ("members.xlsx", buffer.getvalue(), "application/octet-stream")},
        headers=staff("admin").headers,
    )
    assert response.status_code == 201, response.text
    assert response.json()["imported"] == 1


def test_files_that_cannot_be_imported_are_refused_whole(client, staff):
    headers = staff("admin").headers
    for name, content in (
        ("members.pdf", b"%PDF-1.4"),
        ("members.csv", "姓名\n张三\n".encode()),
        ("members.csv", "手机号,姓名\n13800000000,张三\n".encode("gbk")),
    ):
        response = client.post(IMPORTS, files={"file": (name, content, "text/csv")}, headers=headers)
        assert response.status_code == 400, name
        assert response.json()["error"]["code"] == "invalid_import"
    assert (
        client.post(
            IMPORTS, files={"file": ("m.csv", b"x", "text/csv")}, headers=staff("service").headers
        ).status_code
        == 403
    )


def test_the_error_file_of_an_import_downloads_with_every_row_not_imported(client, session, pii, staff):
    taken = unique_phone()
    make_member(session, pii, phone=taken)
    rows = [
        [unique_phone(), "李四", "", "", "", ""],
        ["12345", "王五", "", "", "", ""],
        [taken, "", "", "", "", ""],
    ]
    admin = staff("admin").headers
    report = client.post(
        IMPORTS, files={"file": ("会员名单.csv", _csv(rows), "text/csv")}, headers=admin
    ).json()

    response = client.get(f"{IMPORTS}/{report['id']}/errors.csv", headers=admin)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        "attachment; filename*=utf-8''%E4%BC%9A%E5%91%98%E5%90%8D%E5%8D%95.csv.errors.csv"
    )
    lines = list(csv.reader(io.StringIO(response.text)))
    assert lines[0] == ["row", "status", "code", "message", "phone"]
    assert [(line[0], line[1], line[2]) for line in lines[1:]] == [
        ("3", "failed", "invalid_phone"),
        ("4", "skipped", "already_member"),
    ]
    assert lines[2][4] == f"{taken[:3]}****{taken[-4:]}"
    assert taken not in response.text


def test_only_staff_who_may_import_download_an_error_file_and_an_unknown_import_is_not_found(client, staff):
    admin = staff("admin").headers
    report = client.post(
        IMPORTS, files={"file": ("m.csv", _csv([["12345", "", "", "", "", ""]]), "text/csv")}, headers=admin
    ).json()
    errors = f"{IMPORTS}/{report['id']}/errors.csv"
    for role in ("service", "marketing", "attendant"):
        assert client.get(errors, headers=staff(role).headers).status_code == 403, role
    missing = client.get(f"{IMPORTS}/{uuid.uuid4()}/errors.csv", headers=admin)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "member_import_not_found"


def test_the_progress_bar_knows_how_many_rows_a_file_has_before_importing():
    content = _csv([[unique_phone()], [""], [unique_phone()], ["12345"]], header=("手机号",))
    assert imports.count_rows("members.csv", content) == 3
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["phone", "name"])
    for _ in range(4):
        sheet.append([unique_phone(), "张三"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    assert imports.count_rows("members.xlsx", buffer.getvalue()) == 4
