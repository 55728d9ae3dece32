"""Coupons: templates, packs, batches, campaigns and reports for head office; the member's coupon
centre; verification (核销) by stations, devices and partners."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Literal

from fastapi import Depends, Request
from fastapi.responses import PlainTextResponse
from sqlalchemy.orm import Session

from forecourt.auth.dependencies import require
from forecourt.auth.permissions import Permission
from forecourt.coupons import issuance, member_coupons, redemption, reports, templates
from forecourt.coupons.errors import PartnerAccountRequired
from forecourt.coupons.schemas import (
    BatchCreate,
    BatchRead,
    CentreEntry,
    ClaimRequest,
    CodeRequest,
    CouponRead,
    FundingRow,
    FunnelRow,
    IssueRequest,
    IssueResult,
    PackRead,
    PackWrite,
    TemplateChange,
    TemplateCreate,
    TemplateRead,
    VerifyRequest,
    VerifyResult,
)
from forecourt.db.session import Database, api_router, get_session
from forecourt.devices.dependencies import device_access
from forecourt.devices.service import DeviceIdentity
from forecourt.errors import InvalidRequest, PermissionDenied
from forecourt.kit.actor import Actor
from forecourt.kit.clock import chain_date, utcnow
from forecourt.members.dependencies import CurrentMember, member_actor
from forecourt.pos.errors import DeviceStationMismatch
from forecourt.stations import service as stations

router = api_router(prefix="/api/v1", tags=["coupons"])

SessionDep = Annotated[Session, Depends(get_session)]
Reader = Annotated[Actor, require(Permission.COUPONS_READ)]
Manager = Annotated[Actor, require(Permission.COUPONS_MANAGE)]
Verifier = Annotated[Actor, require(Permission.COUPONS_VERIFY)]
Partner = Annotated[Actor, require(Permission.COUPONS_PARTNER_VERIFY)]
Device = Annotated[DeviceIdentity, device_access]


def _template_read(session: Session, template_code: str) -> TemplateRead:
    template = templates.get_template(session, template_code)
    return templates.read(template, templates.issued_counts(session, [template.id]).get(template.id, 0))


@router.get("/coupon-templates", response_model=list[TemplateRead])
def list_templates(session: SessionDep, _: Reader, status: str | None = None) -> list[TemplateRead]:
    rows = templates.list_templates(session, status=status)
    issued = templates.issued_counts(session)
    return [templates.read(row, issued.get(row.id, 0)) for row in rows]


@router.post("/coupon-templates", response_model=TemplateRead, status_code=201)
def create_template(body: TemplateCreate, session: SessionDep, actor: Manager) -> TemplateRead:
    template = templates.create_template(session, actor, body)
    return templates.read(template, 0)


@router.get("/coupon-templates/{code}", response_model=TemplateRead)
def get_template(code: str, session: SessionDep, _: Reader) -> TemplateRead:
    return _template_read(session, code)


@router.patch("/coupon-templates/{code}", response_model=TemplateRead)
def change_template(code: str, body: TemplateChange, session: SessionDep, actor: Manager) -> TemplateRead:
    templates.change_template(session, actor, code, body)
    return _template_read(session, code)


@router.post("/coupon-templates/{code}/batches", response_model=BatchRead, status_code=201)
def create_batch(code: str, body: BatchCreate, session: SessionDep, actor: Manager) -> BatchRead:
    """Generate unique, unguessable codes for print (stock is taken for all of them)."""
    batch = issuance.create_batch(session, actor, code, body)
    return _batch_read(session, batch.id)


@router.post("/coupon-templates/{code}/issue", response_model=IssueResult)
def issue_to_members(code: str, body: IssueRequest, session: SessionDep, actor: Manager) -> IssueResult:
    """A campaign: one coupon to each member named or tagged, at most once per campaign name."""
    return issuance.issue_to_members(session, actor, code, body)


def _batch_read(session: Session, batch_id: uuid.UUID) -> BatchRead:
    batch, template_code, claimed = issuance.get_batch(session, batch_id)
    return BatchRead(
        id=batch.id,
        template=template_code,
        channel=batch.channel,
        size=batch.size,
        note=batch.note,
        created_at=batch.created_at,
        created_by=batch.created_by,
        claimed=claimed,
    )


@router.get("/coupon-batches/{batch_id}", response_model=BatchRead)
def get_batch(batch_id: uuid.UUID, session: SessionDep, _: Reader) -> BatchRead:
    return _batch_read(session, batch_id)


@router.get("/coupon-batches/{batch_id}/codes.csv", response_class=PlainTextResponse)
def batch_codes(
    batch_id: uuid.UUID, request: Request, session: SessionDep, actor: Manager
) -> PlainTextResponse:
    """The batch's codes as CSV. A GET's session is read-only, so the export is audited in a
    transaction of its own, committed before any code leaves."""
    batch, text = issuance.batch_codes_csv(session, batch_id)
    database: Database = request.app.state.database
    database.run(lambda audit_session: issuance.record_codes_export(audit_session, actor, batch))
    return PlainTextResponse(
        text,
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="coupons-{batch_id}.csv"'},
    )


@router.get("/coupon-packs/{code}", response_model=PackRead)
def get_pack(code: str, session: SessionDep, _: Reader) -> PackRead:
    return templates.pack_read(session, templates.get_pack(session, code))


@router.put("/coupon-packs/{code}", response_model=PackRead)
def put_pack(code: str, body: PackWrite, session: SessionDep, actor: Manager) -> PackRead:
    return templates.pack_read(session, templates.put_pack(session, actor, code, body))


def _period(date_from: date | None, date_to: date | None) -> tuple[date, date]:
    today = chain_date(utcnow())
    start, end = date_from or today.replace(day=1), date_to or today
    if end < start:
        raise InvalidRequest("date_to is before date_from.")
    return start, end


@router.get("/coupon-reports/funnel", response_model=list[FunnelRow])
def funnel(
    session: SessionDep,
    _: Reader,
    by: Literal["template", "batch", "channel"] = "template",
    date_from: date | None = None,
    date_to: date | None = None,
) -> list[FunnelRow]:
    """Coupons issued in the period (default: this month): how many were claimed, used, and their cost."""
    return reports.funnel(session, by, *_period(date_from, date_to))


@router.get("/coupon-reports/funding", response_model=list[FundingRow])
def funding(
    session: SessionDep, _: Reader, date_from: date | None = None, date_to: date | None = None
) -> list[FundingRow]:
    """Coupons used in the period per funder: the discount each owes and partners' settlement."""
    return reports.funding(session, *_period(date_from, date_to))


# --- verification (核销) -------------------------------------------------------------------------


@router.post("/coupons/verify", response_model=VerifyResult)
def staff_verify(body: VerifyRequest, session: SessionDep, actor: Verifier) -> VerifyResult:
    """A station's staff verify a voucher by its code (station-bound staff: at their station)."""
    if actor.station_id is not None:
        station = stations.get_station_by_id(session, actor.station_id)
        if body.station is not None and stations.get_station(session, body.station).id != station.id:
            raise PermissionDenied("You verify coupons at your own station.", station=body.station)
    elif body.station is not None:
        station = stations.get_station(session, body.station)
    else:
        raise InvalidRequest("Name the station where the voucher is used.")
    return redemption.verify(
        session,
        body.code,
        station=station.code,
        region=stations.region_code_of(session, station),
        actor=actor,
        now=utcnow(),
    )


@router.post("/pos/coupons/verify", response_model=VerifyResult)
def device_verify(body: VerifyRequest, session: SessionDep, device: Device) -> VerifyResult:
    """The station console scans a voucher's QR code (signed like every POS request)."""
    station = stations.get_station_by_id(session, device.station_id)
    if body.station is not None and body.station.upper() != station.code:
        raise DeviceStationMismatch(station=body.station)
    return redemption.verify(
        session,
        body.code,
        station=station.code,
        region=stations.region_code_of(session, station),
        actor=device.actor(),
        now=utcnow(),
    )


@router.post("/partner/coupons/verify", response_model=VerifyResult)
def partner_verify(body: VerifyRequest, session: SessionDep, actor: Partner) -> VerifyResult:
    """A partner (car wash, insurer …) verifies its own coupon; the settlement price is recorded."""
    if actor.partner_code is None:
        raise PartnerAccountRequired()
    return redemption.verify(
        session,
        body.code,
        station=None,
        region="",
        actor=actor,
        now=utcnow(),
        partner_code=actor.partner_code,
    )


# --- the member's coupons -----------------------------------------------------------------------------


@router.get("/me/coupons", response_model=list[CouponRead])
def my_coupons(
    member: CurrentMember,
    session: SessionDep,
    status: Literal["available", "used", "expired", "all"] = "available",
) -> list[CouponRead]:
    """The member's coupons (卡包), first-expiring first."""
    return member_coupons.coupons_of(session, member.id, status, utcnow())


@router.get("/me/coupon-centre", response_model=list[CentreEntry])
def coupon_centre(member: CurrentMember, session: SessionDep) -> list[CentreEntry]:
    """Coupons the member can claim (领券中心), member-day coupons included."""
    return member_coupons.centre(session, member.id, utcnow())


@router.post("/me/coupons/claim", response_model=CouponRead, status_code=201)
def claim(body: ClaimRequest, member: CurrentMember, request: Request, session: SessionDep) -> CouponRead:
    coupon = issuance.claim(session, member_actor(member, request), member.id, body.template, utcnow())
    return member_coupons.read_one(session, coupon.id)


@router.post("/me/coupons/redeem-code", response_model=CouponRead, status_code=201)
def redeem_code(body: CodeRequest, member: CurrentMember, session: SessionDep) -> CouponRead:
    """A printed code typed or scanned by the member becomes their coupon."""
    coupon = issuance.redeem_code(session, member.id, body.code, utcnow())
    return member_coupons.read_one(session, coupon.id)


@router.post("/me/coupons/exchange", response_model=CouponRead, status_code=201)
def exchange(body: ClaimRequest, member: CurrentMember, request: Request, session: SessionDep) -> CouponRead:
    """Buy a coupon with points (5,000 points: a car wash)."""
    coupon = issuance.exchange(
        session,
        request.app.state.ledger_signer,
        member_actor(member, request),
        member.id,
        body.template,
        utcnow(),
    )
    return member_coupons.read_one(session, coupon.id)
