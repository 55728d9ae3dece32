"""Bulk import of existing members from CSV or Excel (M7).

Each row is imported whole (the member with their plates and consent) or not at all, and every row
that is not imported is reported with its reason: a bad field, a phone or plate repeated in the
file, a plate another member holds (``failed``), or a phone that is a member already (``skipped``,
which is what makes re-running the same file change nothing). Rows go in batches, each in its own
transaction; a batch that loses a race with a concurrent registration is re-checked and retried.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from forecourt.audit import service as audit
from forecourt.errors import AppError
from forecourt.kit.actor import Actor
from forecourt.kit.clock import chain_date, utcnow
from forecourt.kit.ids import new_id
from forecourt.members.cards import is_valid_card_no, normalise_card_no
from forecourt.members.errors import InvalidImport, MemberImportNotFound
from forecourt.members.identifiers import Identifiers, fresh_identifiers
from forecourt.members.models import ConsentEvent, Member, MemberImport, MemberPlate
from forecourt.members.phones import mask_phone, normalise_phone
from forecourt.members.pii import Pii
from forecourt.members.plates import Plate, parse_plate
from forecourt.members.schemas import ImportReport, ImportRow
from forecourt.members.service import PreparedMember, build_member, check_birthday, check_gender

if TYPE_CHECKING:
    from openpyxl import Workbook

T = TypeVar("T")
MAX_FILE_BYTES = 50 * 1024 * 1024
BATCH_SIZE = 1000

HEADERS = {
    "phone": ("phone", "mobile", "手机号", "手机", "手机号码", "电话"),
    "name": ("name", "姓名", "名字"),
    "gender": ("gender", "性别"),
    "birthday": ("birthday", "生日", "出生日期"),
    "plates": ("plates", "plate", "车牌", "车牌号", "车牌号码"),
    "occupation": ("occupation", "职业"),
    "id_number": ("id_number", "身份证号", "身份证"),
    "card_no": ("card_no", "卡号", "会员卡号"),
    "marketing_consent": ("marketing_consent", "营销同意", "接受营销"),
}
_HEADER_OF = {alias.casefold(): key for key, aliases in HEADERS.items() for alias in aliases}
_PLATE_SEPARATORS = re.compile(r"[;,/|、，；\s]+")
_GENDERS = {"男": "male", "女": "female", "m": "male", "f": "female", "male": "male", "female": "female"}
_YES = {"1", "y", "yes", "true", "是", "同意"}
_NO = {"", "0", "n", "no", "false", "否", "不同意"}


class RowProblem(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# --- reading files ----------------------------------------------------------------------------


def read_rows(filename: str, content: bytes) -> Iterator[dict[str, Any]]:
    """Rows as {field: value} keyed by our field names (Chinese or English headers accepted).

    The file type and header are checked at once (InvalidImport), the rows read lazily."""
    raw_rows, fields = _open(filename, content)
    return _records(raw_rows, fields)


def count_rows(filename: str, content: bytes) -> int:
    """How many rows the import will read, for a progress bar: exact for CSV; for a workbook the size
    the sheet declares (blank rows included) when it declares one, else counted."""
    if filename.lower().endswith(".xlsx"):
        declared = _xlsx_declared_rows(content)
        if declared is not None:
            return declared
    return sum(1 for _ in read_rows(filename, content))


def _xlsx_declared_rows(content: bytes) -> int | None:
    workbook = _workbook(content)
    try:
        sheet = workbook.active
        size = getattr(sheet, "max_row", None)
        return max(0, size - 1) if isinstance(size, int) else None
    finally:
        workbook.close()


def _records(raw_rows: Iterator[list[Any]], fields: list[str | None]) -> Iterator[dict[str, Any]]:
    for values in raw_rows:
        if all(value in (None, "") for value in values):
            continue
        yield {name: value for name, value in zip(fields, values, strict=False) if name is not None}


def _open(filename: str, content: bytes) -> tuple[Iterator[list[Any]], list[str | None]]:
    if len(content) > MAX_FILE_BYTES:
        raise InvalidImport(f"The file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB.")
    if filename.lower().endswith(".xlsx"):
        raw_rows = _xlsx_rows(content)
    elif filename.lower().endswith((".csv", ".txt")):
        raw_rows = _csv_rows(content)
    else:
        raise InvalidImport("Import a .csv (UTF-8) or .xlsx file.", filename=filename)
    header = next(raw_rows, None)
    if header is None:
        raise InvalidImport("The file is empty.")
    fields = [_HEADER_OF.get(str(cell or "").strip().casefold()) for cell in header]
    if "phone" not in fields:
        raise InvalidImport(
            "The header row needs a phone column (phone / 手机号).", header=[str(c) for c in header]
        )
    return raw_rows, fields


def _csv_rows(content: bytes) -> Iterator[list[Any]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidImport("The CSV file is not UTF-8; save it as UTF-8 (CSV UTF-8 in Excel).") from exc
    yield from csv.reader(io.StringIO(text))


def _workbook(content: bytes) -> Workbook:
    from openpyxl import load_workbook

    try:
        return load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        raise InvalidImport("The file is not a readable .xlsx workbook.") from exc


def _xlsx_rows(content: bytes) -> Iterator[list[Any]]:
    workbook = _workbook(content)
    try:
        sheet = workbook.active
        if sheet is None:
            return
        for row in sheet.iter_rows(values_only=True):
            yield list(row)
    finally:
        workbook.close()


# --- checking rows ----------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def _birthday(value: Any, today: date) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        value = value.date()
    if not isinstance(value, date):
        text = str(value).strip().replace("/", "-").replace(".", "-")
        try:
            value = date.fromisoformat(text if len(text) > 8 else f"{text[:4]}-{text[4:6]}-{text[6:]}")
        except ValueError as exc:
            raise RowProblem("invalid_birthday", "The birthday is not a date (YYYY-MM-DD).") from exc
    try:
        return check_birthday(value, today)
    except AppError as exc:
        raise RowProblem("invalid_birthday", exc.message) from exc


def _consent(value: Any) -> bool:
    text = (_text(value) or "").casefold()
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise RowProblem("invalid_consent", "Marketing consent is yes/no (是/否).")


def _phone_or_none(value: Any) -> str | None:
    try:
        return normalise_phone(_text(value) or "")
    except AppError:
        return None


@dataclass
class CheckedRow:
    row: int
    prepared: PreparedMember
    card_no: str | None


def check_row(row_number: int, values: dict[str, Any], pii: Pii, today: date) -> CheckedRow:
    try:
        phone = normalise_phone(_text(values.get("phone")) or "")
        plates: list[Plate] = []
        for raw in _PLATE_SEPARATORS.split(_text(values.get("plates")) or ""):
            if raw:
                plate = parse_plate(raw)
                if plate.number not in {p.number for p in plates}:
                    plates.append(plate)
        gender_text = (_text(values.get("gender")) or "").casefold()
        if gender_text and gender_text not in _GENDERS:
            raise RowProblem("invalid_profile", "Gender is 男/女 (male/female) or empty.")
        card_no = _text(values.get("card_no"))
        if card_no is not None:
            card_no = normalise_card_no(card_no)
            if not is_valid_card_no(card_no):
                raise RowProblem(
                    "invalid_card_no", "The card number has not 16 digits with a valid check digit."
                )
        name = _text(values.get("name"))
        if name is not None and len(name) > 50:
            raise RowProblem("invalid_profile", "The name is longer than 50 characters.")
        id_number = _text(values.get("id_number"))
        occupation = _text(values.get("occupation"))
        prepared = PreparedMember(
            phone=phone,
            phone_index=pii.phone_index(phone),
            name=name,
            gender=check_gender(_GENDERS.get(gender_text)),
            birthday=_birthday(values.get("birthday"), today),
            occupation=occupation[:64] if occupation else None,
            id_number=id_number[:32] if id_number else None,
            plates=plates,
            referred_by_id=None,
            marketing_consent=_consent(values.get("marketing_consent")),
            home_station_id=None,
        )
    except AppError as exc:
        raise RowProblem(exc.code, exc.message) from exc
    return CheckedRow(row=row_number, prepared=prepared, card_no=card_no)


# --- importing --------------------------------------------------------------------------------


@dataclass
class ImportState:
    """What the import has seen so far (phones and plates earlier in the file) and its outcome."""

    phones: set[str] = field(default_factory=set)
    plates: set[str] = field(default_factory=set)
    cards: set[str] = field(default_factory=set)
    total: int = 0
    imported: int = 0
    skipped: int = 0
    failed: int = 0
    rows: list[ImportRow] = field(default_factory=list)

    def report(
        self,
        row: int,
        status: Literal["skipped", "failed"],
        code: str,
        message: str,
        phone: str | None = None,
    ) -> None:
        if status == "skipped":
            self.skipped += 1
        else:
            self.failed += 1
        self.rows.append(
            ImportRow(
                row=row, status=status, code=code, message=message, phone=mask_phone(phone) if phone else None
            )
        )


Runner = Callable[[Callable[[Session], T]], T]


def _import_batch(
    session: Session, actor: Actor, pii: Pii, batch: list[CheckedRow], state: ImportState, now: datetime
) -> None:
    """Insert the rows of a batch that pass the database checks. Mutates ``state`` only on success
    of the whole batch (the caller passes a copy-on-retry state)."""
    if session.get_bind().dialect.name == "postgresql":
        # The tables grow fast during an import; a cached generic plan made while they were small
        # would keep scanning them whole. Plan each look-up afresh.
        session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    phone_indexes = [row.prepared.phone_index for row in batch]
    existing_phones = set(
        session.scalars(select(Member.phone_index).where(Member.phone_index.in_(phone_indexes)))
    )
    plate_numbers = [plate.number for row in batch for plate in row.prepared.plates]
    taken_plates = (
        set(
            session.scalars(
                select(MemberPlate.plate).where(
                    MemberPlate.plate.in_(plate_numbers), MemberPlate.released_at.is_(None)
                )
            )
        )
        if plate_numbers
        else set()
    )
    cards = [row.card_no for row in batch if row.card_no]
    taken_cards = (
        set(session.scalars(select(Member.card_no).where(Member.card_no.in_(cards)))) if cards else set()
    )
    accepted: list[CheckedRow] = []
    for row in batch:
        prepared = row.prepared
        if prepared.phone_index in existing_phones:
            state.report(
                row.row, "skipped", "already_member", "The phone is a member already.", prepared.phone
            )
        elif prepared.phone_index in state.phones:
            state.report(
                row.row, "failed", "duplicate_phone", "The phone appears earlier in the file.", prepared.phone
            )
        elif any(p.number in taken_plates for p in prepared.plates):
            state.report(
                row.row, "failed", "plate_taken", "A plate belongs to another member.", prepared.phone
            )
        elif any(p.number in state.plates for p in prepared.plates):
            state.report(
                row.row, "failed", "duplicate_plate", "A plate appears earlier in the file.", prepared.phone
            )
        elif row.card_no and (row.card_no in taken_cards or row.card_no in state.cards):
            state.report(row.row, "failed", "card_no_taken", "The card number is in use.", prepared.phone)
        else:
            accepted.append(row)
            state.phones.add(prepared.phone_index)
            state.plates.update(p.number for p in prepared.plates)
            if row.card_no:
                state.cards.add(row.card_no)
    identifiers = fresh_identifiers(session, len(accepted))
    members: list[Member] = []
    plates: list[MemberPlate] = []
    consents: list[ConsentEvent] = []
    for row, ids in zip(accepted, identifiers, strict=True):
        if row.card_no:
            ids = Identifiers(card_no=row.card_no, code_id=ids.code_id, referral_code=ids.referral_code)
        member = build_member(pii, row.prepared, ids, source="import", actor=actor, now=now, station_id=None)
        members.append(member)
        plates.extend(
            MemberPlate(id=new_id(), member_id=member.id, plate=p.number, kind=p.kind.value, bound_at=now)
            for p in row.prepared.plates
        )
        if row.prepared.marketing_consent:
            consents.append(
                ConsentEvent(
                    id=new_id(),
                    member_id=member.id,
                    kind="marketing",
                    granted=True,
                    source="import",
                    actor_label=actor.label,
                    occurred_at=now,
                )
            )
    session.add_all(members)
    session.flush()
    session.add_all(plates)
    session.add_all(consents)
    session.flush()
    state.imported += len(members)


def run_import(
    run: Runner[Any],
    actor: Actor,
    pii: Pii,
    *,
    filename: str,
    content: bytes,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import a file through ``run`` (a function that runs work in a transaction)."""
    digest = hashlib.sha256(content).hexdigest()
    rows = read_rows(filename, content)
    now = utcnow()
    today = chain_date(now)
    state = ImportState()
    record_id = new_id()

    def start(session: Session) -> None:
        session.add(
            MemberImport(
                id=record_id,
                filename=filename[:200],
                file_sha256=digest,
                created_by=actor.label,
                started_at=now,
            )
        )

    run(start)
    batch: list[CheckedRow] = []
    for number, values in enumerate(rows, start=2):
        state.total += 1
        try:
            batch.append(check_row(number, values, pii, today))
        except RowProblem as problem:
            state.report(number, "failed", problem.code, problem.message, _phone_or_none(values.get("phone")))
        if len(batch) >= batch_size:
            _commit_batch(run, actor, pii, batch, state, now)
            batch = []
            if progress:
                progress(state.total)
    if batch:
        _commit_batch(run, actor, pii, batch, state, now)
    if progress:
        progress(state.total)
    state.rows.sort(key=lambda row: row.row)

    def finish(session: Session) -> None:
        record = session.get_one(MemberImport, record_id)
        record.total_rows, record.imported = state.total, state.imported
        record.skipped, record.failed = state.skipped, state.failed
        record.report = json.dumps([row.model_dump(mode="json") for row in state.rows], ensure_ascii=False)
        record.finished_at = utcnow()
        audit.record(
            session,
            actor,
            "member.import",
            "member_import",
            record_id,
            after={
                "filename": filename,
                "sha256": digest,
                "total": state.total,
                "imported": state.imported,
                "skipped": state.skipped,
                "failed": state.failed,
            },
        )

    run(finish)
    return ImportReport(
        id=record_id,
        filename=filename,
        total_rows=state.total,
        imported=state.imported,
        skipped=state.skipped,
        failed=state.failed,
        rows=state.rows,
    )


def _commit_batch(
    run: Runner[Any], actor: Actor, pii: Pii, batch: list[CheckedRow], state: ImportState, now: datetime
) -> None:
    for attempt in range(3):
        trial = ImportState(
            phones=set(state.phones),
            plates=set(state.plates),
            cards=set(state.cards),
        )

        def work(session: Session, trial: ImportState = trial) -> None:
            _import_batch(session, actor, pii, batch, trial, now)

        try:
            run(work)
        except IntegrityError:
            if attempt == 2:
                raise
            continue  # a concurrent registration took a phone, plate or card: check the batch again
        state.phones, state.plates, state.cards = trial.phones, trial.plates, trial.cards
        state.imported += trial.imported
        state.skipped += trial.skipped
        state.failed += trial.failed
        state.rows.extend(trial.rows)
        return


def in_session(session: Session) -> Runner[Any]:
    """A runner for a request's own transaction: each batch in a savepoint."""

    def run(work: Callable[[Session], Any]) -> Any:
        with session.begin_nested():
            return work(session)

    return run


def import_bytes(session: Session, actor: Actor, pii: Pii, filename: str, content: bytes) -> ImportReport:
    return run_import(in_session(session), actor, pii, filename=filename, content=content)


def rows_as_csv(rows: Iterable[ImportRow]) -> str:
    """The error file (``FILE.errors.csv``): one line per row that was not imported."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["row", "status", "code", "message", "phone"])
    for row in rows:
        writer.writerow([row.row, row.status, row.code, row.message, row.phone or ""])
    return buffer.getvalue()


def error_file(session: Session, import_id: uuid.UUID) -> tuple[str, str]:
    """The error file of a finished import, rebuilt from its stored report: (file name, CSV text)."""
    record = session.get(MemberImport, import_id)
    if record is None or record.finished_at is None:
        raise MemberImportNotFound(import_id=str(import_id))
    rows = [ImportRow.model_validate(row) for row in json.loads(record.report or "[]")]
    return f"{record.filename}.errors.csv", rows_as_csv(rows)
