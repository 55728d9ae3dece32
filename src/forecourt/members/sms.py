"""Sending text messages. ``SmsProvider`` is what a real gateway (Aliyun, Tencent Cloud SMS …)
implements; the default ``InboxProvider`` delivers into the ``sms_messages`` table, which the demo
prints and tests read."""

from __future__ import annotations

from typing import Protocol

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.kit.clock import utcnow
from forecourt.kit.ids import new_id
from forecourt.members.models import SmsMessage
from forecourt.members.phones import mask_phone
from forecourt.members.pii import Pii

log = structlog.get_logger(__name__)


class SmsProvider(Protocol):
    name: str

    def send(self, session: Session, pii: Pii, phone: str, body: str) -> None: ...


class InboxProvider:
    """Keeps every message in the database instead of sending it (development, demo, tests)."""

    name = "inbox"

    def __init__(self, *, echo: bool = False) -> None:
        self.echo = echo

    def send(self, session: Session, pii: Pii, phone: str, body: str) -> None:
        session.add(
            SmsMessage(
                id=new_id(),
                phone=pii.seal("phone", phone),
                phone_index=pii.phone_index(phone),
                body=body,
                provider=self.name,
                created_at=utcnow(),
            )
        )
        log.info("sms_inbox", to=mask_phone(phone))
        if self.echo:
            print(f"[SMS → {mask_phone(phone)}] {body}")  # noqa: T201 - the demo shows codes on the console


def inbox(session: Session, pii: Pii, phone: str) -> list[SmsMessage]:
    """Messages sent to a phone, newest first."""
    return list(
        session.scalars(
            select(SmsMessage)
            .where(SmsMessage.phone_index == pii.phone_index(phone))
            .order_by(SmsMessage.created_at.desc(), SmsMessage.id.desc())
        )
    )
