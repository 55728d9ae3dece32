"""Every query of the coupons context.

The statements that keep stock, limits and use safe under concurrency live here (see
``coupons.models``): ``add_to_stock`` (a conditional upsert of the stock row), ``count_slotted``
(the member's next slot, guarded by the unique slot key), ``claim_printed`` (``… WHERE status =
'unclaimed'``), ``use_coupon`` (``… WHERE status = 'available'``) and ``coupon_by_code_for_update``
(``SELECT … FOR UPDATE OF coupons``). Callers decide what a refusal means.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Row, Select, case, func, insert, or_, select, update
from sqlalchemy.orm import Session

from forecourt.coupons.models import Coupon, CouponBatch, CouponPack, CouponStock, CouponTemplate
from forecourt.db.upsert import insert_for

FunnelBy = Literal["template", "batch", "channel"]
INSERT_CHUNK = 5000


# --- templates and packs ---------------------------------------------------------------------------


def template_by_code(session: Session, code: str, *, lock: bool = False) -> CouponTemplate | None:
    query = select(CouponTemplate).where(CouponTemplate.code == code)
    if lock:
        query = query.with_for_update()
    return session.scalar(query)


def templates_by_code(session: Session, codes: Iterable[str]) -> Sequence[CouponTemplate]:
    return session.scalars(select(CouponTemplate).where(CouponTemplate.code.in_(list(codes)))).all()


def list_templates(session: Session, *, status: str | None = None) -> list[CouponTemplate]:
    query = select(CouponTemplate).order_by(CouponTemplate.code)
    if status:
        query = query.where(CouponTemplate.status == status)
    return list(session.scalars(query))


def any_template(session: Session) -> bool:
    return session.scalar(select(CouponTemplate.id).limit(1)) is not None


def pack_by_code(session: Session, code: str, *, lock: bool = False) -> CouponPack | None:
    query = select(CouponPack).where(CouponPack.code == code)
    if lock:
        query = query.with_for_update()
    return session.scalar(query)


# --- stock -----------------------------------------------------------------------------------------


def issued_in_period(session: Session, template_id: uuid.UUID, period: str) -> int:
    """The stock row's count (0 when there is no row yet)."""
    issued = session.scalar(
        select(CouponStock.issued).where(CouponStock.template_id == template_id, CouponStock.period == period)
    )
    return issued or 0


def add_to_stock(session: Session, template_id: uuid.UUID, period: str, count: int, total: int) -> bool:
    """Count ``count`` more coupons unless that would pass ``total``: one upsert whose update is
    conditional (``… WHERE issued + count <= total``), so racing issues cannot pass the stock.
    False: nothing counted."""
    statement = (
        insert_for(session, CouponStock)
        .values(template_id=template_id, period=period, issued=count)
        .on_conflict_do_update(
            index_elements=["template_id", "period"],
            set_={"issued": CouponStock.issued + count},
            where=CouponStock.issued + count <= total,
        )
        .returning(CouponStock.issued)
    )
    return session.execute(statement).scalar() is not None


def give_back_stock(session: Session, template_id: uuid.UUID, period: str, count: int) -> None:
    session.execute(
        update(CouponStock)
        .where(CouponStock.template_id == template_id, CouponStock.period == period)
        .values(issued=CouponStock.issued - count)
    )


def set_stock(session: Session, template_id: uuid.UUID, period: str, issued: int) -> None:
    session.execute(
        insert_for(session, CouponStock)
        .values(template_id=template_id, period=period, issued=issued)
        .on_conflict_do_update(index_elements=["template_id", "period"], set_={"issued": issued})
    )


# --- counts ----------------------------------------------------------------------------------------


def count_slotted(session: Session, template_id: uuid.UUID, member_id: uuid.UUID, period: str) -> int:
    """Coupons of the template holding one of the member's slots in the period."""
    held = session.scalar(
        select(func.count())
        .select_from(Coupon)
        .where(
            Coupon.template_id == template_id,
            Coupon.member_id == member_id,
            Coupon.claim_period == period,
            Coupon.claim_slot.is_not(None),
        )
    )
    return held or 0


def count_held_in_period(session: Session, template_id: uuid.UUID, member_id: uuid.UUID, period: str) -> int:
    """Coupons of the template the member holds in the period, with a slot or not."""
    held = session.scalar(
        select(func.count())
        .select_from(Coupon)
        .where(
            Coupon.template_id == template_id,
            Coupon.member_id == member_id,
            Coupon.claim_period == period,
        )
    )
    return int(held or 0)


def count_by_template(session: Session, template_ids: list[Any] | None = None) -> dict[Any, int]:
    """Coupons that exist of each template (printed codes included)."""
    query = select(Coupon.template_id, func.count()).group_by(Coupon.template_id)
    if template_ids is not None:
        query = query.where(Coupon.template_id.in_(template_ids))
    return {template_id: int(total) for template_id, total in session.execute(query)}


def count_by_period(session: Session, template_id: uuid.UUID) -> list[tuple[str, int]]:
    """Coupons that exist of a template per claim period."""
    rows = session.execute(
        select(Coupon.claim_period, func.count())
        .where(Coupon.template_id == template_id)
        .group_by(Coupon.claim_period)
    )
    return [(period, count) for period, count in rows]


# --- coupons ---------------------------------------------------------------------------------------


def _with_template() -> Select[Coupon, CouponTemplate]:
    return select(Coupon, CouponTemplate).join(CouponTemplate, CouponTemplate.id == Coupon.template_id)


def get_coupon(session: Session, coupon_id: uuid.UUID) -> Coupon:
    return session.get_one(Coupon, coupon_id)


def coupon_by_source_key(session: Session, source_key: str) -> Coupon | None:
    return session.scalar(select(Coupon).where(Coupon.source_key == source_key))


def add_coupon_unless_taken(session: Session, values: Mapping[str, Any]) -> bool:
    """Insert a coupon unless its ``source_key`` or the member's slot is taken (``ON CONFLICT DO
    NOTHING``). False: nothing inserted."""
    inserted = session.execute(
        insert_for(session, Coupon).values(**values).on_conflict_do_nothing().returning(Coupon.id)
    ).scalar()
    return inserted is not None


def add_coupons(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    for start in range(0, len(rows), INSERT_CHUNK):
        session.execute(insert(Coupon), rows[start : start + INSERT_CHUNK])


def coupon_with_template(session: Session, coupon_id: uuid.UUID) -> tuple[Coupon, CouponTemplate]:
    coupon, template = session.execute(_with_template().where(Coupon.id == coupon_id)).one()
    return coupon, template


def coupon_by_printed_code(session: Session, printed_code: str) -> Row[Coupon, CouponTemplate] | None:
    return session.execute(_with_template().where(Coupon.printed_code == printed_code)).first()


def coupon_by_code_for_update(session: Session, code: str) -> Row[Coupon, CouponTemplate] | None:
    """The coupon with its template, the coupon row locked (``FOR UPDATE OF coupons``) so two
    verifications of one code run one after the other."""
    return session.execute(_with_template().where(Coupon.code == code).with_for_update(of=Coupon)).first()


def usable_coupons_of(
    session: Session, member_id: uuid.UUID, at: datetime
) -> Sequence[Row[Coupon, CouponTemplate]]:
    """The member's available coupons not expired at ``at``, except partners' vouchers (only the
    partner verifies those), first-expiring first."""
    return session.execute(
        _with_template()
        .where(
            Coupon.member_id == member_id,
            Coupon.status == "available",
            Coupon.expires_at > at,
            ~((CouponTemplate.funder == "partner") & (CouponTemplate.kind == "voucher")),
        )
        .order_by(Coupon.expires_at, Coupon.id)
    ).all()


def member_coupons_by_id(
    session: Session, member_id: uuid.UUID, coupon_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, tuple[Coupon, CouponTemplate]]:
    """Those of the coupons that are the member's, whatever their status."""
    rows = session.execute(
        _with_template().where(Coupon.id.in_(list(coupon_ids)), Coupon.member_id == member_id)
    )
    return {coupon.id: (coupon, template) for coupon, template in rows}


def coupons_of(
    session: Session, member_id: uuid.UUID, status: str, now: datetime, *, limit: int
) -> Sequence[Row[Coupon, CouponTemplate]]:
    """``available`` (not expired), ``used``, ``expired`` (incl. refunded after expiry), ``all``;
    first-expiring first."""
    query = _with_template().where(Coupon.member_id == member_id)
    if status == "available":
        query = query.where(Coupon.status == "available", Coupon.expires_at > now)
    elif status == "used":
        query = query.where(Coupon.status == "used")
    elif status == "expired":
        query = query.where(
            or_(
                Coupon.status == "refunded_expired",
                (Coupon.status == "available") & (Coupon.expires_at <= now),
            )
        )
    return session.execute(query.order_by(Coupon.expires_at, Coupon.id).limit(limit)).all()


def all_coupons_of(session: Session, member_id: uuid.UUID) -> Sequence[Row[Coupon, CouponTemplate]]:
    """Every coupon the member ever held, in the order they were issued (for the export)."""
    return session.execute(
        _with_template().where(Coupon.member_id == member_id).order_by(Coupon.issued_at, Coupon.id)
    ).all()


def claim_printed(
    session: Session,
    coupon_id: uuid.UUID,
    *,
    member_id: uuid.UUID,
    code: str,
    claim_period: str,
    claim_slot: int | None,
    claimed_at: datetime,
    valid_from: datetime,
    expires_at: datetime,
) -> bool:
    """A printed coupon becomes the member's, with a new code: ``UPDATE … WHERE status =
    'unclaimed'``, so of two claims of one code exactly one lands. False: it was claimed meanwhile.
    A slot taken by a racing claim raises ``IntegrityError`` (the caller runs this in a savepoint)."""
    claimed = session.execute(
        update(Coupon)
        .where(Coupon.id == coupon_id, Coupon.status == "unclaimed")
        .values(
            member_id=member_id,
            status="available",
            code=code,
            claim_period=claim_period,
            claim_slot=claim_slot,
            claimed_at=claimed_at,
            valid_from=valid_from,
            expires_at=expires_at,
        )
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    return bool(claimed == 1)


def use_coupon(
    session: Session,
    coupon_id: uuid.UUID,
    member_id: uuid.UUID,
    *,
    sale_id: uuid.UUID,
    station: str,
    used_by: str,
    at: datetime,
    discount_fen: int,
) -> bool:
    """``UPDATE … WHERE status = 'available'``: of two sales racing for one coupon, one gets it.
    False: it was not the member's available coupon (used meanwhile)."""
    done = session.execute(
        update(Coupon)
        .where(Coupon.id == coupon_id, Coupon.member_id == member_id, Coupon.status == "available")
        .values(
            status="used",
            used_at=at,
            used_sale_id=sale_id,
            used_station=station,
            used_by=used_by,
            discount_fen=discount_fen,
        )
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    return bool(done == 1)


def used_by_sale(session: Session, sale_id: uuid.UUID) -> Sequence[Coupon]:
    return session.scalars(
        select(Coupon).where(Coupon.used_sale_id == sale_id, Coupon.status == "used").order_by(Coupon.id)
    ).all()


def unused_granted_by_sale(session: Session, sale_id: uuid.UUID) -> Sequence[Coupon]:
    """Coupons a rule granted for the sale (``source_key`` ``rule:…:sale:<id>:…``), still available."""
    return session.scalars(
        select(Coupon)
        .where(Coupon.source_key.like(f"rule:%:sale:{sale_id}:%"), Coupon.status == "available")
        .order_by(Coupon.id)
    ).all()


def void_available_of(session: Session, member_id: uuid.UUID, at: datetime) -> None:
    session.execute(
        update(Coupon)
        .where(Coupon.member_id == member_id, Coupon.status == "available")
        .values(status="void", returned_at=at)
        .execution_options(synchronize_session=False)
    )


# --- batches ---------------------------------------------------------------------------------------


def exchanged_since(session: Session, member_id: uuid.UUID, since: datetime) -> list[datetime]:
    return list(
        session.scalars(
            select(Coupon.issued_at).where(
                Coupon.member_id == member_id, Coupon.channel == "exchange", Coupon.issued_at >= since
            )
        )
    )


def batch_with_template_code(session: Session, batch_id: uuid.UUID) -> Row[CouponBatch, str] | None:
    return session.execute(
        select(CouponBatch, CouponTemplate.code)
        .join(CouponTemplate, CouponTemplate.id == CouponBatch.template_id)
        .where(CouponBatch.id == batch_id)
    ).first()


def count_claimed_in_batch(session: Session, batch_id: uuid.UUID) -> int:
    claimed = session.scalar(
        select(func.count())
        .select_from(Coupon)
        .where(Coupon.batch_id == batch_id, Coupon.status != "unclaimed")
    )
    return int(claimed or 0)


def unclaimed_in_batch(
    session: Session, batch_id: uuid.UUID
) -> Sequence[Row[str | None, str, datetime | None]]:
    """(printed code, status, expires_at) of the batch's coupons nobody claimed, by code."""
    return session.execute(
        select(Coupon.printed_code, Coupon.status, Coupon.expires_at)
        .where(Coupon.batch_id == batch_id, Coupon.status == "unclaimed")
        .order_by(Coupon.printed_code)
    ).all()


# --- reports ---------------------------------------------------------------------------------------


def funnel_totals(
    session: Session, by: FunnelBy, start: datetime, end: datetime
) -> Sequence[Row[Any, int, int, int | None, int]]:
    """Per key, of the coupons issued in [start, end): (key, issued, claimed, used, discount).
    Used counts those later refunded after expiry too; discount is what the used ones took off."""
    key = {
        "template": CouponTemplate.code,
        "batch": Coupon.batch_id,
        "channel": Coupon.channel,
    }[by]
    used = Coupon.status.in_(("used", "refunded_expired"))
    return session.execute(
        select(
            key,
            func.count(),
            func.count(Coupon.claimed_at),
            func.sum(case((used, 1), else_=0)),
            func.coalesce(func.sum(case((used, Coupon.discount_fen), else_=0)), 0),
        )
        .join(CouponTemplate, CouponTemplate.id == Coupon.template_id)
        .where(Coupon.issued_at >= start, Coupon.issued_at < end)
        .group_by(key)
        .order_by(key)
    ).all()


def funding_totals(
    session: Session, start: datetime, end: datetime
) -> Sequence[Row[str, str | None, str | None, int, int, int]]:
    """Per funder, partner and (for station-funded coupons) station, of the coupons used in
    [start, end): (funder, partner, station, used, discount, settlement). Settlement is owed only
    for partner coupons the partner verified (no sale)."""
    verified_by_partner = (CouponTemplate.funder == "partner") & Coupon.used_sale_id.is_(None)
    settlement = case((verified_by_partner, CouponTemplate.settlement_fen), else_=0)
    station = case((CouponTemplate.funder == "station", Coupon.used_station), else_=None)
    return session.execute(
        select(
            CouponTemplate.funder,
            CouponTemplate.partner_code,
            station,
            func.count(),
            func.coalesce(func.sum(Coupon.discount_fen), 0),
            func.coalesce(func.sum(settlement), 0),
        )
        .join(CouponTemplate, CouponTemplate.id == Coupon.template_id)
        .where(Coupon.status == "used", Coupon.used_at >= start, Coupon.used_at < end)
        .group_by(CouponTemplate.funder, CouponTemplate.partner_code, station)
        .order_by(CouponTemplate.funder, CouponTemplate.partner_code, station)
    ).all()
