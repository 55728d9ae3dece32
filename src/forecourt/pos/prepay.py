"""Prepay at the pump: authorize → fuel → complete on the dispensed volume (or cancel; open
authorizations expire after 30 minutes, job ``expire-authorizations``).

The unit price and the tier's fuel discount are fixed when the driver prepays, so a price change
while the nozzle is in the tank does not change what they pay. Completion commits an ordinary sale
at those fixed terms, paid by the prepaid method; what was prepaid beyond the amount due is the
change the POS gives back (``change_fen``). Points to redeem are checked when the driver prepays
(held, whole hundreds, a member named) and are the most the completion redeems: a smaller fill
redeems only what it costs, so a sale whose fuel is already in the tank is never refused for them.
Coupons named at prepay are checked then (the member's, unused, unexpired); at completion a coupon
the fill no longer qualifies for (below its threshold, used meanwhile by another sale) is left out
rather than refusing the sale.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from forecourt.coupons import redemption as coupons
from forecourt.coupons.errors import CouponAlreadyUsed, CouponExpired, CouponNotApplicable, CouponNotFound
from forecourt.devices.service import DeviceIdentity
from forecourt.kit.clock import utcnow
from forecourt.kit.ids import new_id
from forecourt.kit.money import half_up
from forecourt.ledger import points
from forecourt.ledger.chain import Signer
from forecourt.members.models import Member
from forecourt.members.pii import Pii
from forecourt.pos import checkout
from forecourt.pos.errors import (
    AuthorizationClosed,
    AuthorizationExpired,
    AuthorizationNotFound,
    InsufficientPointsForRedemption,
    InvalidPointsAmount,
    NozzleGradeMismatch,
    PointsExceedPayable,
    StationClosed,
)
from forecourt.pos.models import Authorization
from forecourt.pos.schemas import (
    AuthorizationRead,
    AuthorizationRequest,
    CancelRequest,
    CommitRequest,
    CompletedAuthorization,
    CompleteRequest,
    FuelLine,
    MemberIdentifier,
    Redeem,
    Transaction,
)
from forecourt.pos.service import commit, resolve_member, station_for_device
from forecourt.risk import service as risk
from forecourt.stations import service as stations
from forecourt.tiers import service as tiers

AUTHORIZATION_TTL = timedelta(minutes=30)
COMPLETION_ATTEMPTS = 5
"""A completion gives up a refused coupon or points and tries again, a few times at most."""
CENTILITRE = Decimal("0.01")


def payable_fen(liters: Decimal, unit_price_fen: int, discount_bp: int) -> int:
    """What ``liters`` cost after the fuel discount, with the same half-up rounding as the sale."""
    gross = half_up(liters * unit_price_fen)
    return gross - half_up(Decimal(gross) * discount_bp / 10_000)


def max_liters(amount_fen: int, unit_price_fen: int, discount_bp: int) -> Decimal:
    """The most litres (two decimals) whose price after the fuel discount stays within the prepaid
    amount."""
    per_liter = Decimal(unit_price_fen) * (10_000 - discount_bp) / 10_000
    liters = (Decimal(amount_fen) / per_liter).quantize(CENTILITRE, rounding=ROUND_DOWN)
    while liters > 0 and payable_fen(liters, unit_price_fen, discount_bp) > amount_fen:
        liters -= CENTILITRE
    while payable_fen(liters + CENTILITRE, unit_price_fen, discount_bp) <= amount_fen:
        liters += CENTILITRE
    return liters


def _check_redemption(session: Session, member: Member | None, redeem: Redeem, now: datetime) -> None:
    """Refuse when the driver prepays what completion would refuse once the fuel is in the tank."""
    if isinstance(redeem.coupons, list) and redeem.coupons:
        if member is None:
            raise CouponNotFound(coupon_id=str(redeem.coupons[0]))
        coupons.offer(session, member.id, redeem.coupons, coupons.occasion(now, "", "", ""))
    wanted = redeem.points
    if wanted == 0:
        return
    if member is None:
        raise InvalidPointsAmount("Points need an identified member.")
    if wanted == "auto":
        return
    if wanted < 0 or wanted % checkout.POINT_STEP:
        raise InvalidPointsAmount(points=wanted, step=checkout.POINT_STEP)
    available = points.balances(session, member.id).available
    if wanted > available:
        raise InsufficientPointsForRedemption(needed=wanted, available=available)


def _redeem_on_completion(redeem: Redeem, liters: Decimal, row: Authorization) -> Redeem:
    """Points named at prepay are the most to redeem: a fill that costs less than they are worth
    redeems only the whole hundreds it costs."""
    if isinstance(redeem.points, str) or redeem.points <= 0:
        return redeem
    payable = payable_fen(liters, row.unit_price_fen, row.fuel_discount_bp)
    payable_points = checkout.payable_points(payable)
    return redeem.model_copy(update={"points": min(redeem.points, payable_points)})


def _commit_at_fixed_terms(
    session: Session,
    pii: Pii,
    signer: Signer,
    device: DeviceIdentity,
    row: Authorization,
    request: AuthorizationRequest,
    body: CommitRequest,
) -> Transaction:
    return commit(
        session,
        pii,
        signer,
        device,
        body,
        authorization_id=row.id,
        fixed_prices={row.grade: row.unit_price_fen},
        fixed_discount_bp=row.fuel_discount_bp,
        pay_due_with=request.payment_method,
        due_limit_fen=row.amount_fen,
    )


def _without_what_was_refused(redeem: Redeem, refused: Exception) -> Redeem:
    """The redemption less the coupon the fill was refused for, or with the points it can still pay;
    re-raises when there is nothing left to give up (the refusal is then the sale's answer)."""
    details = getattr(refused, "details", {})
    if isinstance(refused, PointsExceedPayable):
        payable = int(details.get("payable_fen", 0))
        points_left = checkout.payable_points(payable)
        if isinstance(redeem.points, int) and points_left < redeem.points:
            return redeem.model_copy(update={"points": points_left})
        raise refused
    if redeem.coupons == "auto" and isinstance(refused, CouponAlreadyUsed):
        return redeem  # another sale took the coupon the best combination chose: choose again
    named = redeem.coupons if isinstance(redeem.coupons, list) else []
    kept = [coupon for coupon in named if str(coupon) != details.get("coupon_id")]
    if len(kept) == len(named):
        raise refused
    return redeem.model_copy(update={"coupons": kept})


def _read(row: Authorization, station_code: str) -> AuthorizationRead:
    expired = row.status == "open" and utcnow() >= row.expires_at  # before the job has closed it
    return AuthorizationRead(
        id=row.id,
        station=station_code,
        status="expired" if expired else row.status,
        grade=row.grade,
        nozzle=row.nozzle,
        member_id=row.member_id,
        unit_price_fen=row.unit_price_fen,
        fuel_discount_bp=row.fuel_discount_bp,
        amount_fen=row.amount_fen,
        max_liters=max_liters(row.amount_fen, row.unit_price_fen, row.fuel_discount_bp),
        payment_method=row.payment_method,
        created_at=row.created_at,
        expires_at=row.expires_at,
        sale_id=row.sale_id,
    )


def authorize(
    session: Session, pii: Pii, device: DeviceIdentity, body: AuthorizationRequest
) -> AuthorizationRead:
    now = utcnow()
    station = station_for_device(session, device, body.station)
    if not stations.is_open_now(station, now):
        raise StationClosed(station=station.code)
    member = resolve_member(session, pii, body.member, now)
    _check_redemption(session, member, body.redeem, now)
    if member is not None:  # the risk rules judge the prepayment; its completion is not judged again
        risk.check_payment(session, member.id, body.amount_fen, now)
        if body.redeem.points or body.redeem.coupons:
            risk.check_redemption(session, member.id, now)
    grade = stations.get_grade(session, body.grade)
    if body.nozzle is not None and body.nozzle.isdigit():
        dispensed = stations.nozzle_grade(session, station.id, int(body.nozzle))
        if dispensed is not None and dispensed != grade.code:
            raise NozzleGradeMismatch(nozzle=body.nozzle, nozzle_grade=dispensed, grade=grade.code)
    row = Authorization(
        id=new_id(),
        station_id=station.id,
        device_id=None,
        member_id=member.id if member else None,
        status="open",
        grade=grade.code,
        nozzle=body.nozzle,
        unit_price_fen=stations.price_in_force(session, station.id, grade.code, now),
        fuel_discount_bp=tiers.current(session, member.id).fuel_discount_bp if member else 0,
        amount_fen=body.amount_fen,
        payment_method=body.payment_method,
        created_at=now,
        expires_at=now + AUTHORIZATION_TTL,
        closed_at=None,
        sale_id=None,
        request=body.model_dump(mode="json"),
    )
    session.add(row)
    session.flush()
    return _read(row, station.code)


def _of_station(session: Session, device: DeviceIdentity, authorization_id: uuid.UUID) -> Authorization:
    row = session.scalar(select(Authorization).where(Authorization.id == authorization_id).with_for_update())
    if row is None or row.station_id != device.station_id:
        raise AuthorizationNotFound(authorization_id=str(authorization_id))
    return row


def _open(row: Authorization, now: datetime) -> None:
    if row.status != "open":
        raise AuthorizationClosed(status=row.status, sale_id=str(row.sale_id) if row.sale_id else None)
    if now >= row.expires_at:
        raise AuthorizationExpired(expired_at=row.expires_at.isoformat())


def get(session: Session, device: DeviceIdentity, authorization_id: uuid.UUID) -> AuthorizationRead:
    row = session.get(Authorization, authorization_id)
    if row is None or row.station_id != device.station_id:
        raise AuthorizationNotFound(authorization_id=str(authorization_id))
    return _read(row, stations.get_station_by_id(session, row.station_id).code)


def complete(
    session: Session,
    pii: Pii,
    signer: Signer,
    device: DeviceIdentity,
    authorization_id: uuid.UUID,
    body: CompleteRequest,
) -> CompletedAuthorization:
    row = _of_station(session, device, authorization_id)
    now = utcnow()
    _open(row, now)
    station = stations.get_station_by_id(session, row.station_id)
    request = AuthorizationRequest.model_validate(row.request)
    redeem = _redeem_on_completion(request.redeem, body.liters, row)
    for attempt in range(1, COMPLETION_ATTEMPTS + 1):
        commit_body = CommitRequest(
            station=station.code,
            member=MemberIdentifier(type="member_id", value=str(row.member_id)) if row.member_id else None,
            lines=[
                FuelLine(line_id="1", kind="fuel", grade=row.grade, liters=body.liters, nozzle=row.nozzle)
            ],
            redeem=redeem,
            pos_txn_id=body.pos_txn_id,
        )
        try:
            with session.begin_nested():
                sale = _commit_at_fixed_terms(session, pii, signer, device, row, request, commit_body)
            break
        except (CouponNotApplicable, CouponExpired, CouponAlreadyUsed, PointsExceedPayable) as refused:
            if attempt == COMPLETION_ATTEMPTS:
                raise
            redeem = _without_what_was_refused(redeem, refused)
    row.status = "completed"
    row.closed_at = now
    row.sale_id = sale.id
    session.flush()
    return CompletedAuthorization(
        authorization=_read(row, station.code), transaction=sale, change_fen=row.amount_fen - sale.due_fen
    )


def cancel(
    session: Session, device: DeviceIdentity, authorization_id: uuid.UUID, body: CancelRequest
) -> AuthorizationRead:
    row = _of_station(session, device, authorization_id)
    _open(row, utcnow())
    row.status = "cancelled"
    row.closed_at = utcnow()
    row.request = {**row.request, "cancel_reason": body.reason}
    session.flush()
    return _read(row, stations.get_station_by_id(session, row.station_id).code)


def expire_open(session: Session, now: datetime) -> int:
    """Close every open authorization past its 30 minutes (job ``expire-authorizations``)."""
    done = session.execute(
        update(Authorization)
        .where(Authorization.status == "open", Authorization.expires_at <= now)
        .values(status="expired", closed_at=now)
    )
    return int(getattr(done, "rowcount", 0) or 0)
