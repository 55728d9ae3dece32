"""Member test helpers: unique phones and plates, members made through the service, member login
through the SMS inbox, points through the ledger service."""

from __future__ import annotations

import itertools
import random
import re
import uuid
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from forecourt.kit.actor import SYSTEM
from forecourt.kit.clock import utcnow
from forecourt.ledger import points
from forecourt.ledger.chain import Signer
from forecourt.members import service as members
from forecourt.members.models import Member
from forecourt.members.pii import Pii
from forecourt.members.sms import inbox

_counter = itertools.count(1)
_rng = random.Random()
SERIAL = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"

SMS_CODES = "/api/v1/member-auth/sms-codes"
LOGIN = "/api/v1/member-auth/login"
REFRESH = "/api/v1/member-auth/refresh"
MEMBERS = "/api/v1/members"


def unique_phone() -> str:
    """A valid mainland mobile number (national form) not used by any other test in this run."""
    return f"139{next(_counter) % 10000:04d}{_rng.randrange(10000):04d}"


def unique_plate() -> str:
    return "云A" + "".join(_rng.choice(SERIAL) for _ in range(5))


def make_member(
    session: Session,
    pii: Pii,
    *,
    phone: str | None = None,
    name: str | None = "张三",
    plates: tuple[str, ...] = (),
    **fields: Any,
) -> Member:
    member = members.register(
        session,
        SYSTEM,
        pii,
        members.Registration(phone=phone or unique_phone(), name=name, plates=plates, **fields),
        source="staff",
    )
    session.flush()
    return member


def last_code(session: Session, pii: Pii, phone: str) -> str:
    """The code of the latest text sent to a phone (read from the inbox provider)."""
    messages = inbox(session, pii, members.normalise_phone(phone))
    assert messages, "no SMS was sent to that phone"
    found = re.search(r"(\d{6})", messages[0].body)
    assert found is not None
    return found.group(1)


@dataclass(frozen=True)
class MemberLogin:
    member_id: str
    access_token: str
    refresh_token: str
    phone: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


def member_login(client: TestClient, session: Session, pii: Pii, phone: str | None = None) -> MemberLogin:
    """Sign a member in by SMS code (registering the phone if it is new)."""
    phone = phone or unique_phone()
    sent = client.post(SMS_CODES, json={"phone": phone})
    assert sent.status_code == 202, sent.text
    response = client.post(LOGIN, json={"phone": phone, "code": last_code(session, pii, phone)})
    assert response.status_code == 200, response.text
    body = response.json()
    return MemberLogin(
        member_id=body["member_id"],
        access_token=body["access_token"],
        refresh_token=body["refresh_token"],
        phone=phone,
    )


def earn_points(session: Session, signer: Signer, member_id: uuid.UUID | str, amount: int) -> str:
    """Points earned at the pump, through the ledger service (never expiring); the posting id."""
    result = points.earn(
        session,
        signer,
        SYSTEM,
        uuid.UUID(str(member_id)),
        amount,
        reason="fueling",
        idempotency_key=f"test-earn-{uuid.uuid4()}",
        occurred_at=utcnow(),
        expires_at=None,
    )
    session.flush()
    return str(result.posting.id)


def spend_points(session: Session, signer: Signer, member_id: uuid.UUID | str, amount: int) -> str:
    """Points spent, through the ledger service; the posting id."""
    result = points.spend(
        session,
        signer,
        SYSTEM,
        uuid.UUID(str(member_id)),
        amount,
        reason="redemption",
        idempotency_key=f"test-spend-{uuid.uuid4()}",
        occurred_at=utcnow(),
    )
    session.flush()
    return str(result.posting.id)
