"""The wallet: top-ups at a counter or by transfer (staff), fuel credit grants (staff/marketing),
the bonus tiers (finance), balances."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, Field
from sqlalchemy.orm import Session

from forecourt.audit import service as audit
from forecourt.auth.dependencies import require
from forecourt.auth.permissions import Permission
from forecourt.db.idempotency import Idempotent, idempotency
from forecourt.db.session import api_router, get_session
from forecourt.errors import PermissionDenied
from forecourt.kit.actor import Actor
from forecourt.kit.clock import utcnow
from forecourt.members import service as members
from forecourt.members.dependencies import CurrentMember
from forecourt.stations import service as stations
from forecourt.wallet import fuel_credit, service
from forecourt.wallet.domain import BonusTier
from forecourt.wallet.schemas import (
    BonusTierDoc,
    BonusTiers,
    Strict,
    TopUpRead,
    TopUpRequest,
    WalletRead,
)

router = api_router(prefix="/api/v1", tags=["wallet"])


class FuelCreditLot(Strict):
    remaining_fen: int
    expires_at: datetime | None


class FuelCreditBalance(Strict):
    """Fuel credit (加油金) usable now, by lot (earliest-expiring first); it pays fuel only."""

    fuel_credit_fen: int
    lots: list[FuelCreditLot]


class FuelCreditRequest(Strict):
    amount_fen: int = Field(gt=0, le=fuel_credit.MAX_GRANT_FEN)
    expires_at: AwareDatetime
    reason: str = Field(min_length=1, max_length=200)


class FuelCreditRead(Strict):
    posting_id: uuid.UUID
    member_id: uuid.UUID
    amount_fen: int
    expires_at: datetime
    reason: str
    fuel_credit: FuelCreditBalance


SessionDep = Annotated[Session, Depends(get_session)]


def _staff_scope(request: Request) -> str:
    actor: Actor = request.state.actor
    return f"staff:{actor.id}"


def _wallet(session: Session, member_id: uuid.UUID) -> WalletRead:
    purse = service.balances(session, member_id)
    return WalletRead(
        principal_fen=purse.principal_fen, bonus_fen=purse.bonus_fen, balance_fen=purse.total_fen
    )


def _fuel_credit(session: Session, member_id: uuid.UUID) -> FuelCreditBalance:
    lots = fuel_credit.usable_lots(session, member_id, utcnow())
    return FuelCreditBalance(
        fuel_credit_fen=sum(lot.remaining for lot in lots),
        lots=[FuelCreditLot(remaining_fen=lot.remaining, expires_at=lot.expires_at) for lot in lots],
    )


@router.post("/members/{member_id}/wallet/top-ups", response_model=TopUpRead, status_code=201)
def top_up(
    member_id: uuid.UUID,
    body: TopUpRequest,
    request: Request,
    session: SessionDep,
    actor: Annotated[Actor, require(Permission.WALLET_TOP_UP)],
    idempotent: Annotated[Idempotent, Depends(idempotency(_staff_scope))],
) -> JSONResponse:
    """Money paid in at a counter or by transfer (``Idempotency-Key`` required; audited); the bonus
    of the tier it reaches is added. Station staff take money at their own station's counter; a bank
    transfer (corporate accounts) is recorded by finance."""
    if idempotent.replay is not None:
        return idempotent.replay
    if body.method == "transfer" and not actor.has(Permission.WALLET_MANAGE):
        raise PermissionDenied(
            "Bank transfers are recorded by finance.", required=str(Permission.WALLET_MANAGE)
        )
    member = members.get_member(session, member_id)
    station = body.station
    if actor.station_id is not None:
        station = stations.get_station_by_id(session, actor.station_id).code
    elif station is not None:
        station = stations.get_station(session, station).code
    row = service.top_up(
        session,
        request.app.state.ledger_signer,
        actor,
        member.id,
        body.amount_fen,
        method=body.method,
        reference=body.reference,
        station=station,
        idempotency_key=f"{_staff_scope(request)}:{request.headers.get('idempotency-key')}",
    )
    audit.record(
        session,
        actor,
        "wallet.top_up",
        "member",
        member.id,
        after={
            "amount_fen": row.amount_fen,
            "bonus_fen": row.bonus_fen,
            "method": row.method,
            "reference": row.reference,
            "station": row.station,
        },
    )
    result = TopUpRead(
        id=row.id,
        member_id=row.member_id,
        amount_fen=row.amount_fen,
        bonus_fen=row.bonus_fen,
        method=row.method,
        reference=row.reference,
        station=row.station,
        created_at=row.created_at,
        wallet=_wallet(session, member.id),
    )
    return idempotent.complete(session, result, status=201)


@router.post("/members/{member_id}/wallet/fuel-credit", response_model=FuelCreditRead, status_code=201)
def grant_fuel_credit(
    member_id: uuid.UUID,
    body: FuelCreditRequest,
    request: Request,
    session: SessionDep,
    actor: Annotated[Actor, require(Permission.WALLET_MANAGE)],
    idempotent: Annotated[Idempotent, Depends(idempotency(_staff_scope))],
) -> JSONResponse:
    """Give fuel credit (加油金) that pays fuel only, until ``expires_at`` (``Idempotency-Key``
    required; audited)."""
    if idempotent.replay is not None:
        return idempotent.replay
    member = members.get_member(session, member_id)
    granted = fuel_credit.grant(
        session,
        request.app.state.ledger_signer,
        actor,
        member.id,
        body.amount_fen,
        expires_at=body.expires_at,
        reason=body.reason,
        idempotency_key=f"{_staff_scope(request)}:{request.headers.get('idempotency-key')}",
    )
    result = FuelCreditRead(
        posting_id=granted.posting_id,
        member_id=member.id,
        amount_fen=granted.amount_fen,
        expires_at=granted.expires_at,
        reason=granted.reason,
        fuel_credit=_fuel_credit(session, member.id),
    )
    return idempotent.complete(session, result, status=201)


@router.get("/members/{member_id}/wallet/fuel-credit", response_model=FuelCreditBalance)
def member_fuel_credit(
    member_id: uuid.UUID, session: SessionDep, _: Annotated[Actor, require(Permission.MEMBERS_READ)]
) -> FuelCreditBalance:
    return _fuel_credit(session, members.get_member(session, member_id).id)


@router.get("/me/wallet/fuel-credit", response_model=FuelCreditBalance)
def my_fuel_credit(member: CurrentMember, session: SessionDep) -> FuelCreditBalance:
    """The member's fuel credit (加油金) usable now, lot by lot with its expiry; it pays fuel only."""
    return _fuel_credit(session, member.id)


@router.get("/members/{member_id}/wallet", response_model=WalletRead)
def member_wallet(
    member_id: uuid.UUID, session: SessionDep, _: Annotated[Actor, require(Permission.MEMBERS_READ)]
) -> WalletRead:
    return _wallet(session, members.get_member(session, member_id).id)


@router.get("/me/wallet", response_model=WalletRead)
def my_wallet(member: CurrentMember, session: SessionDep) -> WalletRead:
    """The member's stored value: principal (paid in) and bonus (given on top-ups); fuel credit is
    ``/me/wallet/fuel-credit``."""
    return _wallet(session, member.id)


@router.get("/wallet/bonus-tiers", response_model=BonusTiers)
def get_bonus_tiers(
    session: SessionDep, _: Annotated[Actor, require(Permission.WALLET_MANAGE)]
) -> BonusTiers:
    return BonusTiers(
        tiers=[BonusTierDoc(min_fen=t.min_fen, bonus_fen=t.bonus_fen) for t in service.bonus_tiers(session)]
    )


@router.put("/wallet/bonus-tiers", response_model=BonusTiers)
def put_bonus_tiers(
    body: BonusTiers, session: SessionDep, actor: Annotated[Actor, require(Permission.WALLET_MANAGE)]
) -> BonusTiers:
    """Replace the top-up bonus tiers (e.g. top up ¥500, get ¥50); audited."""
    tiers = service.set_bonus_tiers(session, actor, [BonusTier(t.min_fen, t.bonus_fen) for t in body.tiers])
    return BonusTiers(tiers=[BonusTierDoc(min_fen=t.min_fen, bonus_fen=t.bonus_fen) for t in tiers])
