"""Member figures: look-up latency by plate, phone, card number and member code over a large member
base (SPEC §6: p99 ≤ 5 ms with 1,000,000 members on PostgreSQL), and import throughput (target:
100,000 rows in under 2 minutes).

``FORECOURT_BENCH_MEMBERS`` sets the member base (default 1,000,000); ``FORECOURT_BENCH_IMPORT_ROWS``
the import file (default 100,000).
"""

from __future__ import annotations

import base64
import csv
import io
import os
import random
import time
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import insert
from sqlalchemy.orm import Session

from bench.harness import Figure, benchmark, latency_figures
from forecourt.config import Settings
from forecourt.db.session import Database
from forecourt.kit.actor import SYSTEM
from forecourt.kit.clock import utcnow
from forecourt.kit.crypto import keyring_for
from forecourt.kit.ids import new_id
from forecourt.members import identify, imports
from forecourt.members.cards import CARD_PREFIX, luhn_check_digit
from forecourt.members.identify import IdentifierType
from forecourt.members.member_code import current_code, new_code_secret
from forecourt.members.models import Member, MemberPlate
from forecourt.members.pii import Pii

MEMBERS = int(os.environ.get("FORECOURT_BENCH_MEMBERS", "1000000"))
IMPORT_ROWS = int(os.environ.get("FORECOURT_BENCH_IMPORT_ROWS", "100000"))
LOOKUPS = 2_000
BATCH = 5_000
SERIAL = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"


def _phone(n: int) -> str:
    return f"+86138{n:08d}"


def _plate(n: int) -> str:
    """A distinct valid plate per n (云 + letter + 5 serial characters)."""
    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    first, rest = divmod(n, 34**5)
    serial = ""
    for _ in range(5):
        rest, digit = divmod(rest, 34)
        serial += SERIAL[digit]
    return "云" + letters[first % len(letters)] + serial


def _card(n: int) -> str:
    payload = f"{CARD_PREFIX}{n:011d}"
    return payload + luhn_check_digit(payload)


def _load_members(database: Database, pii: Pii, start: int, count: int) -> dict[int, bytes]:
    """Bulk-insert members n = start … start+count-1 with one plate each (Core inserts: this is
    loading a benchmark, not exercising registration). Returns the code secrets of a sample."""
    now = utcnow()
    sample: dict[int, bytes] = {}
    for offset in range(start, start + count, BATCH):
        members: list[dict[str, object]] = []
        plates: list[dict[str, object]] = []
        for n in range(offset, min(offset + BATCH, start + count)):
            secret = new_code_secret()
            if n % 997 == 0:
                sample[n] = secret
            member_id = new_id()
            members.append(
                {
                    "id": member_id,
                    "status": "active",
                    "card_no": _card(n),
                    "code_id": f"{1_000_000_000 + n}",
                    "code_secret": pii.seal("code_secret", base64.b64encode(secret).decode()),
                    "phone": pii.seal("phone", _phone(n)),
                    "phone_index": pii.phone_index(_phone(n)),
                    "name": pii.seal("name", f"会员{n}"),
                    "name_index": pii.name_index(f"会员{n}"),
                    "marketing_consent": False,
                    "source": "import",
                    "created_at": now,
                    "updated_at": now,
                }
            )
            plates.append(
                {
                    "id": new_id(),
                    "member_id": member_id,
                    "plate": _plate(n),
                    "kind": "regular",
                    "bound_at": now,
                }
            )

        def write(
            session: Session,
            members: list[dict[str, object]] = members,
            plates: list[dict[str, object]] = plates,
        ) -> None:
            session.execute(insert(Member), members)
            session.execute(insert(MemberPlate), plates)

        database.run(write)
    return sample


def _import_file(rows: int, offset: int) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["手机号", "姓名", "性别", "生日", "车牌", "营销同意"])
    for n in range(offset, offset + rows):
        writer.writerow([_phone(n)[3:], f"导入{n}", "男" if n % 2 else "女", "1988-05-17", _plate(n), "是"])
    return buffer.getvalue().encode()


@benchmark("member import")
def member_import(database: Database, settings: Settings) -> list[Figure]:
    pii = Pii(keyring_for(settings.encryption_keys), settings.secret_key)
    content = _import_file(IMPORT_ROWS, 50_000_000)
    started = time.perf_counter()
    report = imports.run_import(database.run, SYSTEM, pii, filename="bench.csv", content=content)
    seconds = time.perf_counter() - started
    assert report.imported == IMPORT_ROWS, report.model_dump(exclude={"rows"})
    started = time.perf_counter()
    again = imports.run_import(database.run, SYSTEM, pii, filename="bench.csv", content=content)
    rerun = time.perf_counter() - started
    assert again.imported == 0
    assert again.skipped == IMPORT_ROWS
    return [
        Figure("import rows", IMPORT_ROWS, "rows"),
        Figure("import time", seconds, "s", "target < 120 s for 100,000 rows"),
        Figure("import throughput", IMPORT_ROWS / seconds, "rows/s"),
        Figure("re-run (all skipped)", rerun, "s"),
    ]


@benchmark("member look-up")
def member_lookup(database: Database, settings: Settings) -> list[Figure]:
    pii = Pii(keyring_for(settings.encryption_keys), settings.secret_key)
    started = time.perf_counter()
    sample = _load_members(database, pii, 0, MEMBERS)
    load_seconds = time.perf_counter() - started
    if database.engine.dialect.name == "postgresql":
        with database.engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE")
            connection.commit()
    rng = random.Random(11)
    now = utcnow()
    figures = [Figure("members", MEMBERS, "members", f"loaded in {load_seconds:.0f} s")]
    values: dict[str, Callable[[int], str]] = {
        "plate": _plate,
        "phone": lambda n: "138 " + _phone(n)[6:],
        "card_no": _card,
    }
    for kind, value_of in values.items():
        picks = [value_of(rng.randrange(MEMBERS)) for _ in range(LOOKUPS)]
        figures += latency_figures(f"by {kind}", _lookups(database, pii, kind, picks, now))
    codes = [current_code(f"{1_000_000_000 + n}", secret, now).code for n, secret in sample.items()]
    picks = [rng.choice(codes) for _ in range(LOOKUPS)]
    figures += latency_figures("by member code", _lookups(database, pii, "member_code", picks, now))
    return figures


def _lookups(
    database: Database, pii: Pii, kind: IdentifierType, values: list[str], now: datetime
) -> list[float]:
    """Seconds per look-up, each in its own read transaction as a request would be."""
    samples: list[float] = []
    for value in values:
        with database.transaction(write=False) as session:
            started = time.perf_counter()
            identify.identify(session, pii, kind, value, now)
            samples.append(time.perf_counter() - started)
    return samples
