"""POS API v1 endpoints. Every route is device-signed (see ``forecourt.devices.signing``)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from forecourt.coupons import redemption as coupons
from forecourt.db.idempotency import Idempotent, idempotency
from forecourt.db.session import api_router, get_session, reads_only
from forecourt.devices.dependencies import device_access
from forecourt.devices.service import DeviceIdentity
from forecourt.kit.clock import utcnow
from forecourt.members import identify as members_identify
from forecourt.members import repository as members_repository
from forecourt.members import service as members
from forecourt.members.facts import facts_of
from forecourt.members.schemas import IdentifyRequest, IdentifyResponse, Points, PosCoupon, PosMember, TierRef
from forecourt.pos import prepay, refunds, service
from forecourt.pos.errors import DeviceStationMismatch, WalletNeedsMemberCode
from forecourt.pos.schemas import (
    AuthorizationRead,
    AuthorizationRequest,
    CancelRequest,
    CommitRequest,
    CompletedAuthorization,
    CompleteRequest,
    MemberIdentifier,
    PosStatus,
    Quote,
    QuoteRequest,
    RefundRequest,
    RefundResult,
    Transaction,
)
from forecourt.stations import service as stations

router = api_router(prefix="/api/v1/pos", tags=["pos"])

SessionDep = Annotated[Session, Depends(get_session)]
Device = Annotated[DeviceIdentity, device_access]


def _station_scope(request: Request) -> str:
    """Idempotency keys are a station's: any of its terminals may replay a sale."""
    device: DeviceIdentity = request.state.device
    return f"station:{device.station_id}"


IdempotencyDep = Annotated[Idempotent, Depends(idempotency(_station_scope))]


def _wallet_consent(wallet: bool, member: MemberIdentifier | None) -> None:
    """The member's money moves only when the member shows their rotating member code: a plate, a
    phone or a card number can be read by anyone at the pump."""
    if wallet and (member is None or member.type != "member_code"):
        raise WalletNeedsMemberCode(identified_by=member.type if member else None)


@router.get("/status", response_model=PosStatus)
def pos_status(
    session: Annotated[Session, Depends(get_session)], device: Annotated[DeviceIdentity, device_access]
) -> PosStatus:
    """Who the device is, whether its station is open, and the server clock (to keep X-Timestamp in sync)."""
    station = stations.get_station_by_id(session, device.station_id)
    now = utcnow()
    return PosStatus(
        device_id=device.device_id,
        station=station.code,
        station_name=station.name,
        station_open=station.is_open,
        server_time=now,
        server_timestamp=int(now.timestamp()),
    )


@router.post("/identify", response_model=IdentifyResponse)
@reads_only
def identify(
    body: IdentifyRequest,
    request: Request,
    session: Annotated[Session, Depends(get_session)],
    device: Annotated[DeviceIdentity, device_access],
) -> IdentifyResponse:
    """Find the member at the pump by phone, plate, scanned member code or card number."""
    station = stations.get_station(session, body.station)
    if station.id != device.station_id:
        raise DeviceStationMismatch(station=body.station)
    pii = request.app.state.pii
    now = utcnow()
    member = members_identify.identify(session, pii, body.identifier.type, body.identifier.value, now)
    facts = facts_of(session, member)
    here = coupons.occasion(now, station.code, stations.region_code_of(session, station), facts.tier_code)
    return IdentifyResponse(
        member=PosMember(
            id=member.id,
            card_no=member.card_no,
            name=members.personal(pii, member, reveal=False).name,
            tier=TierRef(code=facts.tier_code, name=facts.tier_name),
            points=Points(available=facts.points_available, pending=facts.points_pending),
            wallet_balance_fen=facts.wallet_balance_fen,
            plates=[row.plate for row in members_repository.plates_of(session, member.id)],
        ),
        coupons=[
            PosCoupon(id=c.id, title=c.title, kind=c.terms.kind, expires_at=c.expires_at)
            for c in coupons.usable_now(session, member.id, here)
        ],
    )


@router.post("/quote", response_model=Quote)
@reads_only
def quote(body: QuoteRequest, request: Request, session: SessionDep, device: Device) -> Quote:
    """Price a basket: discounts, points to redeem, what is due, points it would earn. Changes nothing."""
    return service.quote(session, request.app.state.pii, device, body)


@router.post("/transactions", response_model=Transaction, status_code=201)
def commit_transaction(
    body: CommitRequest, request: Request, session: SessionDep, device: Device, idempotent: IdempotencyDep
) -> JSONResponse:
    """Commit a sale (``Idempotency-Key`` required): a retry with the same key and body returns the
    first answer; the payments must add up to ``due_fen``."""
    if idempotent.replay is not None:
        return idempotent.replay
    _wallet_consent(body.redeem.wallet, body.member)
    state = request.app.state
    result = service.commit(session, state.pii, state.ledger_signer, device, body)
    return idempotent.complete(session, result, status=201)


@router.get("/transactions/{transaction_id}", response_model=Transaction)
def get_transaction(transaction_id: uuid.UUID, session: SessionDep, device: Device) -> Transaction:
    return service.get_transaction(session, device, transaction_id)


@router.post("/transactions/{transaction_id}/refund", response_model=RefundResult)
def refund_transaction(
    transaction_id: uuid.UUID,
    body: RefundRequest,
    request: Request,
    session: SessionDep,
    device: Device,
    idempotent: IdempotencyDep,
) -> JSONResponse:
    """Refund a sale: without ``lines`` in full, with them in part (litres or pieces per line)."""
    if idempotent.replay is not None:
        return idempotent.replay
    result = refunds.refund(session, request.app.state.ledger_signer, device, transaction_id, body)
    return idempotent.complete(session, result)


@router.post("/authorizations", response_model=AuthorizationRead, status_code=201)
def authorize(
    body: AuthorizationRequest,
    request: Request,
    session: SessionDep,
    device: Device,
    idempotent: IdempotencyDep,
) -> JSONResponse:
    """Prepay: fix the price and the member's fuel discount before fueling (valid 30 minutes)."""
    if idempotent.replay is not None:
        return idempotent.replay
    _wallet_consent(body.redeem.wallet, body.member)
    result = prepay.authorize(session, request.app.state.pii, device, body)
    return idempotent.complete(session, result, status=201)


@router.get("/authorizations/{authorization_id}", response_model=AuthorizationRead)
def get_authorization(authorization_id: uuid.UUID, session: SessionDep, device: Device) -> AuthorizationRead:
    return prepay.get(session, device, authorization_id)


@router.post("/authorizations/{authorization_id}/complete", response_model=CompletedAuthorization)
def complete_authorization(
    authorization_id: uuid.UUID,
    body: CompleteRequest,
    request: Request,
    session: SessionDep,
    device: Device,
    idempotent: IdempotencyDep,
) -> JSONResponse:
    """Commit the sale on the dispensed volume at the fixed price; ``change_fen`` goes back to the driver."""
    if idempotent.replay is not None:
        return idempotent.replay
    state = request.app.state
    result = prepay.complete(session, state.pii, state.ledger_signer, device, authorization_id, body)
    return idempotent.complete(session, result)


@router.post("/authorizations/{authorization_id}/cancel", response_model=AuthorizationRead)
def cancel_authorization(
    authorization_id: uuid.UUID, body: CancelRequest, session: SessionDep, device: Device
) -> AuthorizationRead:
    return prepay.cancel(session, device, authorization_id, body)
