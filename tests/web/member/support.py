"""Driving the member H5 pages: sign-in by SMS code through the forms, as a driver's phone does."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from forecourt.members import repository
from forecourt.members.models import Member
from forecourt.members.phones import normalise_phone
from forecourt.members.pii import Pii
from tests.members.support import last_code, unique_phone
from tests.web.support import post_form


def member_sign_in(client: TestClient, session: Session, pii: Pii, phone: str | None = None) -> Member:
    """Sign in through /m/login (a new phone registers); the member, read back from the database."""
    phone = phone or unique_phone()
    sent = post_form(client, "/m/login/code", {"phone": phone})
    assert sent.status_code == 200, sent.text
    signed_in = post_form(
        client, "/m/login", {"phone": phone, "code": last_code(session, pii, phone)}, follow_redirects=False
    )
    assert signed_in.status_code == 303, signed_in.text
    assert signed_in.headers["location"] == "/m"
    return member_of(session, pii, phone)


def member_of(session: Session, pii: Pii, phone: str) -> Member:
    found = repository.by_phone_index(session, pii.phone_index(normalise_phone(phone)))
    assert found is not None, "no member has that phone"
    session.refresh(found)
    return found
