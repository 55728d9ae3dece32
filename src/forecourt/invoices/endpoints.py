"""Fapiao requests (SPEC W6): members ask for and cancel them; staff list, issue and retry."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import Depends, Query, Request
from sqlalchemy.orm import Session

from forecourt.auth.dependencies import require
from forecourt.auth.permissions import Permission
from forecourt.db.session import api_router, get_session
from forecourt.invoices import service
from forecourt.invoices.errors import PlatformNotConfigured
from forecourt.invoices.platform import SandboxPlatform, TaxPlatform
from forecourt.invoices.schemas import InvoiceCreate, InvoiceRead, Uninvoiced
from forecourt.kit.actor import Actor
from forecourt.kit.crypto import KeyRing
from forecourt.members.dependencies import CurrentMember, member_actor

router = api_router(prefix="/api/v1", tags=["invoices"])

SessionDep = Annotated[Session, Depends(get_session)]
Manager = Annotated[Actor, require(Permission.INVOICES_MANAGE)]


def _keyring(request: Request) -> KeyRing:
    keyring: KeyRing = request.app.state.keyring
    return keyring


def _platform(request: Request) -> TaxPlatform:
    """The configured tax platform; the sandbox only outside production (it issues nothing real)."""
    platform: TaxPlatform | None = getattr(request.app.state, "invoice_platform", None)
    if platform is not None:
        return platform
    if request.app.state.settings.env == "production":
        raise PlatformNotConfigured()
    return SandboxPlatform()


@router.post("/me/invoices", response_model=InvoiceRead, status_code=201)
def request_invoice(
    body: InvoiceCreate, member: CurrentMember, request: Request, session: SessionDep
) -> InvoiceRead:
    keyring = _keyring(request)
    row = service.request_invoice(session, keyring, member_actor(member, request), member.id, body)
    return service.read(row, keyring)


@router.get("/me/invoices", response_model=list[InvoiceRead])
def my_invoices(member: CurrentMember, request: Request, session: SessionDep) -> list[InvoiceRead]:
    keyring = _keyring(request)
    return [service.read(row, keyring) for row in service.member_requests(session, member.id)]


@router.get("/me/invoices/uninvoiced", response_model=Uninvoiced)
def my_uninvoiced(member: CurrentMember, session: SessionDep) -> Uninvoiced:
    return service.uninvoiced(session, member.id)


@router.post("/me/invoices/{invoice_id}/cancel", response_model=InvoiceRead)
def cancel(
    invoice_id: uuid.UUID, member: CurrentMember, request: Request, session: SessionDep
) -> InvoiceRead:
    row = service.cancel(session, member_actor(member, request), member.id, invoice_id)
    return service.read(row, _keyring(request))


@router.get("/invoices", response_model=list[InvoiceRead])
def list_invoices(
    request: Request,
    session: SessionDep,
    _: Manager,
    status: Literal["requested", "issued", "failed", "cancelled"] | None = None,
    member_id: uuid.UUID | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[InvoiceRead]:
    keyring = _keyring(request)
    rows = service.find(
        session,
        status=status,
        member_id=member_id,
        created_from=created_from,
        created_to=created_to,
        limit=limit,
        offset=offset,
    )
    return [service.read(row, keyring, masked=True) for row in rows]


@router.post("/invoices/{invoice_id}/issue", response_model=InvoiceRead)
def issue(invoice_id: uuid.UUID, request: Request, session: SessionDep, actor: Manager) -> InvoiceRead:
    keyring = _keyring(request)
    row = service.issue(session, keyring, _platform(request), actor, invoice_id)
    return service.read(row, keyring, masked=True)


@router.post("/invoices/{invoice_id}/retry", response_model=InvoiceRead)
def retry(invoice_id: uuid.UUID, request: Request, session: SessionDep, actor: Manager) -> InvoiceRead:
    keyring = _keyring(request)
    row = service.retry(session, keyring, _platform(request), actor, invoice_id)
    return service.read(row, keyring, masked=True)
