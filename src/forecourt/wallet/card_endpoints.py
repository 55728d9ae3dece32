"""Prepaid recharge cards: batches and their one-time CSV export (finance), activation at the
counter (station staff), redemption into the wallet (members)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from forecourt.auth.dependencies import require
from forecourt.auth.permissions import Permission
from forecourt.db.session import Database, api_router, get_session
from forecourt.kit.actor import Actor
from forecourt.members.dependencies import CurrentMember, member_actor
from forecourt.stations import service as stations
from forecourt.wallet import cards, service
from forecourt.wallet.models import RechargeCard, RechargeCardBatch
from forecourt.wallet.schemas import WalletRead

router = api_router(prefix="/api/v1", tags=["recharge cards"])

SessionDep = Annotated[Session, Depends(get_session)]
Manager = Annotated[Actor, require(Permission.RECHARGE_CARDS_MANAGE)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BatchCreate(Strict):
    face_fen: int = Field(gt=0, le=cards.MAX_FACE_FEN)
    size: int = Field(gt=0, le=cards.MAX_BATCH_SIZE)
    note: str | None = Field(default=None, max_length=200)


class BatchRead(Strict):
    id: uuid.UUID
    face_fen: int
    size: int
    note: str | None
    created_at: datetime
    created_by: str
    printed: bool
    """True once the CSV (with the PINs) was exported: it cannot be exported again."""
    issued: int
    active: int
    redeemed: int
    void: int


class CardRead(Strict):
    code: str
    face_fen: int
    status: str
    activated_at: datetime | None
    redeemed_at: datetime | None


class VoidRequest(Strict):
    reason: str = Field(min_length=1, max_length=200)


class RedeemRequest(Strict):
    code: str = Field(min_length=1, max_length=40)
    pin: str = Field(min_length=1, max_length=16)


class RedeemRead(Strict):
    code: str
    amount_fen: int
    bonus_fen: int
    top_up_id: uuid.UUID
    wallet: WalletRead


def _batch(session: Session, batch: RechargeCardBatch) -> BatchRead:
    counts = cards.batch_counts(session, batch)
    return BatchRead(
        id=batch.id,
        face_fen=batch.face_fen,
        size=batch.size,
        note=batch.note,
        created_at=batch.created_at,
        created_by=batch.created_by,
        printed=counts.printed,
        issued=counts.issued,
        active=counts.active,
        redeemed=counts.redeemed,
        void=counts.void,
    )


def _card(card: RechargeCard) -> CardRead:
    return CardRead(
        code=card.code,
        face_fen=card.face_fen,
        status=card.status,
        activated_at=card.activated_at,
        redeemed_at=card.redeemed_at,
    )


@router.post("/recharge-cards/batches", response_model=BatchRead, status_code=201)
def create_batch(body: BatchCreate, session: SessionDep, actor: Manager) -> BatchRead:
    """Cards to print: each gets an unguessable code now and its PIN when the batch is exported."""
    batch = cards.create_batch(session, actor, face_fen=body.face_fen, size=body.size, note=body.note)
    return _batch(session, batch)


@router.get("/recharge-cards/batches/{batch_id}", response_model=BatchRead)
def get_batch(batch_id: uuid.UUID, session: SessionDep, _: Manager) -> BatchRead:
    return _batch(session, cards.get_batch(session, batch_id))


@router.get("/recharge-cards/batches/{batch_id}/cards.csv", response_class=PlainTextResponse)
def export_cards(batch_id: uuid.UUID, request: Request, actor: Manager) -> PlainTextResponse:
    """The cards with their PINs as CSV, for the printer — once: the PINs are drawn and only their
    digests kept in a transaction of its own (audited), committed before any PIN leaves; a second
    export is ``recharge_cards_already_exported`` (409)."""
    database: Database = request.app.state.database
    secret_key: str = request.app.state.settings.secret_key
    text = database.run(lambda session: cards.export_batch(session, actor, secret_key, batch_id))
    return PlainTextResponse(
        text,
        media_type="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="recharge-cards-{batch_id}.csv"',
            "Cache-Control": "no-store",
        },
    )


@router.post("/recharge-cards/batches/{batch_id}/reprint", response_class=PlainTextResponse)
def reprint_cards(batch_id: uuid.UUID, request: Request, actor: Manager) -> PlainTextResponse:
    """New PINs for the cards of the batch not yet sold (when an export was lost or a print run
    spoiled): their old PINs stop working. In a transaction of its own, audited, like the export."""
    database: Database = request.app.state.database
    secret_key: str = request.app.state.settings.secret_key
    text = database.run(lambda session: cards.reprint_batch(session, actor, secret_key, batch_id))
    return PlainTextResponse(
        text,
        media_type="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="recharge-cards-{batch_id}-reprint.csv"',
            "Cache-Control": "no-store",
        },
    )


@router.post("/recharge-cards/{code}/activate", response_model=CardRead)
def activate(
    code: str,
    session: SessionDep,
    actor: Annotated[Actor, require(Permission.RECHARGE_CARDS_ACTIVATE)],
) -> CardRead:
    """The card was sold at the counter; station staff activate it (at their station)."""
    station = stations.get_station_by_id(session, actor.station_id).code if actor.station_id else None
    return _card(cards.activate(session, actor, code, station=station))


@router.post("/recharge-cards/{code}/void", response_model=CardRead)
def void(code: str, body: VoidRequest, session: SessionDep, actor: Manager) -> CardRead:
    """Take a lost, stolen or misprinted card out of use (audited)."""
    return _card(cards.void(session, actor, code, body.reason))


@router.post("/me/recharge-cards/redeem", response_model=RedeemRead, status_code=201)
def redeem(body: RedeemRequest, request: Request, member: CurrentMember, session: SessionDep) -> RedeemRead:
    """The card's face value into the wallet as principal (no top-up bonus: see
    ``forecourt.wallet.cards``). Five wrong PINs lock the card."""
    done = cards.redeem(
        session,
        request.app.state.ledger_signer,
        request.app.state.settings.secret_key,
        member_actor(member, request),
        member.id,
        body.code,
        body.pin,
    )
    purse = service.balances(session, member.id)
    return RedeemRead(
        code=done.card.code,
        amount_fen=done.top_up.amount_fen,
        bonus_fen=done.top_up.bonus_fen,
        top_up_id=done.top_up.id,
        wallet=WalletRead(
            principal_fen=purse.principal_fen, bonus_fen=purse.bonus_fen, balance_fen=purse.total_fen
        ),
    )
