"""Coupon templates and packs (C1, C2): what marketing designs, and the default program's coupons.

A template's terms are fixed once written (coupons were issued on them); what may change later is
its name, stock, limits, claim window, the end of its validity and whether it is retired.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from forecourt.audit import service as audit
from forecourt.coupons import repository
from forecourt.coupons.domain import Terms
from forecourt.coupons.errors import (
    CouponPackNotFound,
    CouponTemplateExists,
    CouponTemplateNotFound,
    InvalidCouponTemplate,
)
from forecourt.coupons.models import CouponPack, CouponTemplate
from forecourt.coupons.schemas import (
    PackItem,
    PackRead,
    PackWrite,
    TemplateChange,
    TemplateCreate,
    TemplateRead,
    TemplateTerms,
)
from forecourt.db.unique import add_unique
from forecourt.kit.actor import SYSTEM, Actor
from forecourt.kit.clock import utcnow
from forecourt.kit.ids import new_id


def terms_of(template: CouponTemplate) -> Terms:
    terms = TemplateTerms.model_validate(template.terms)
    return Terms(
        kind=template.kind,  # type: ignore[arg-type]  # checked when written
        amount_off_fen=terms.amount_off_fen,
        percent_off_bp=terms.percent_off_bp,
        cap_fen=terms.cap_fen,
        per_liter_fen=terms.per_liter_fen,
        max_liters=terms.max_liters,
        threshold_fen=terms.threshold_fen,
        grades=frozenset(terms.grades),
        categories=frozenset(terms.categories),
        skus=frozenset(terms.skus),
        stations=frozenset(terms.stations),
        regions=frozenset(terms.regions),
        tiers=frozenset(terms.tiers),
        weekdays=frozenset(terms.weekdays),
        time_from=terms.time_from,
        time_to=terms.time_to,
        stack_group=terms.stack_group,
        exclusive=terms.exclusive,
    )


def describe(template: CouponTemplate) -> str:
    """The line a member reads under the title: 满100元减15元 · 仅限92# · 周六、周日."""
    terms = TemplateTerms.model_validate(template.terms)
    parts: list[str] = []
    if template.kind == "amount_off":
        parts.append(
            f"满{_yuan(terms.threshold_fen)}元减{_yuan(terms.amount_off_fen)}元"
            if terms.threshold_fen
            else f"立减{_yuan(terms.amount_off_fen)}元"
        )
    elif template.kind == "percent_off":
        rate = Decimal(10_000 - terms.percent_off_bp) / 1000
        parts.append(
            f"{format(rate.normalize(), 'f')}折"
            + (f",最多减{_yuan(terms.cap_fen)}元" if terms.cap_fen else "")
        )
    elif template.kind == "per_liter":
        parts.append(
            f"每升立减{_yuan(terms.per_liter_fen)}元"
            + (f",最多{format(terms.max_liters.normalize(), 'f')}升" if terms.max_liters else "")
        )
    else:
        parts.append("兑换券" + (f",最高抵{_yuan(terms.amount_off_fen)}元" if terms.amount_off_fen else ""))
    if terms.threshold_fen and template.kind != "amount_off":
        parts.append(f"满{_yuan(terms.threshold_fen)}元可用")
    if terms.grades:
        parts.append("仅限" + "/".join(f"{grade}#" for grade in sorted(terms.grades)))
    if terms.categories:
        parts.append("适用:" + "、".join(sorted(terms.categories)))
    if terms.weekdays:
        names = "一二三四五六日"
        parts.append("、".join(f"周{names[day - 1]}" for day in terms.weekdays))
    if terms.time_from and terms.time_to:
        parts.append(f"{terms.time_from:%H:%M}-{terms.time_to:%H:%M}")
    if terms.stations or terms.regions:
        parts.append("限指定油站")
    if terms.tiers:
        parts.append("限" + "/".join(sorted(terms.tiers)) + "会员")
    if terms.exclusive:
        parts.append("不与其他券同享")
    return " · ".join(parts)


def _yuan(fen: int) -> str:
    """¥ without trailing zeros: 10000 → "100", 1550 → "15.5" (never "1E+2")."""
    return format((Decimal(fen) / 100).normalize(), "f")


def _check(body: TemplateCreate | TemplateRead) -> None:
    terms = body.terms
    problems: list[str] = []
    if body.kind == "amount_off" and terms.amount_off_fen <= 0:
        problems.append("an amount-off coupon needs amount_off_fen")
    if body.kind == "percent_off" and not 0 < terms.percent_off_bp < 10_000:
        problems.append("a percent-off coupon needs percent_off_bp between 1 and 9999")
    if body.kind == "per_liter" and terms.per_liter_fen <= 0:
        problems.append("a per-litre coupon needs per_liter_fen")
    if body.kind == "voucher" and not (terms.categories or terms.skus):
        problems.append("a voucher names the goods it pays for (categories or skus)")
    if body.kind == "per_liter" and terms.categories and terms.categories != ["fuel"]:
        problems.append("a per-litre coupon applies to fuel only")
    if body.valid_days is None and body.valid_until is None:
        problems.append("give valid_days (from the claim) or valid_until")
    if body.valid_from and body.valid_until and body.valid_until <= body.valid_from:
        problems.append("valid_until must be after valid_from")
    if body.claim_from and body.claim_until and body.claim_until <= body.claim_from:
        problems.append("claim_until must be after claim_from")
    if body.funder == "partner" and not body.partner_code:
        problems.append("a partner-funded coupon names its partner_code")
    if body.member_day and not body.claimable:
        problems.append("a member-day coupon is claimable")
    if problems:
        raise InvalidCouponTemplate(problems=problems)


def face_value(body: TemplateCreate) -> int:
    if body.face_value_fen is not None:
        return body.face_value_fen
    terms = body.terms
    if body.kind == "per_liter" and not terms.cap_fen and terms.max_liters:
        return int(terms.max_liters * terms.per_liter_fen)
    return terms.amount_off_fen or terms.cap_fen


def create_template(session: Session, actor: Actor, body: TemplateCreate) -> CouponTemplate:
    _check(body)
    now = utcnow()
    document = body.model_dump(mode="json", exclude={"code", "terms", "face_value_fen"})
    template = CouponTemplate(
        id=new_id(),
        code=body.code,
        name=body.name,
        kind=body.kind,
        status="active",
        terms=body.terms.model_dump(mode="json", exclude_defaults=True),
        face_value_fen=face_value(body),
        valid_from=body.valid_from,
        valid_until=body.valid_until,
        valid_days=body.valid_days,
        total_stock=body.total_stock,
        per_member_limit=body.per_member_limit,
        claimable=body.claimable,
        claim_from=body.claim_from,
        claim_until=body.claim_until,
        member_day=body.member_day,
        points_price=body.points_price,
        funder=body.funder,
        partner_code=body.partner_code,
        settlement_fen=body.settlement_fen,
        created_at=now,
        updated_at=now,
    )
    add_unique(session, template, CouponTemplateExists(code=body.code))
    audit.record(
        session,
        actor,
        "coupon_template.create",
        "coupon_template",
        template.id,
        after={**document, "code": body.code},
    )
    return template


def get_template(session: Session, code: str, *, lock: bool = False) -> CouponTemplate:
    template = repository.template_by_code(session, code.upper(), lock=lock)
    if template is None:
        raise CouponTemplateNotFound(code=code)
    return template


def list_templates(session: Session, *, status: str | None = None) -> list[CouponTemplate]:
    return repository.list_templates(session, status=status)


def change_template(session: Session, actor: Actor, code: str, body: TemplateChange) -> CouponTemplate:
    template = get_template(session, code, lock=True)
    changes = body.model_dump(exclude_unset=True)
    before = {key: _jsonable(getattr(template, key)) for key in changes}
    stock_was_unlimited = template.total_stock is None
    for key, value in changes.items():
        setattr(template, key, value)
    problems = []
    if template.claim_from and template.claim_until and template.claim_until <= template.claim_from:
        problems.append("claim_until must be after claim_from")
    if template.valid_days is None and template.valid_until is None:
        problems.append("a template without valid_days needs valid_until")
    if template.valid_from and template.valid_until and template.valid_until <= template.valid_from:
        problems.append("valid_until must be after valid_from")
    if problems:
        raise InvalidCouponTemplate(problems=problems)
    if stock_was_unlimited and template.total_stock is not None:
        _start_counting_stock(session, template)
    template.updated_at = utcnow()
    session.flush()
    audit.record(
        session,
        actor,
        "coupon_template.change",
        "coupon_template",
        template.id,
        before=before,
        after={key: _jsonable(value) for key, value in changes.items()},
    )
    return template


def _start_counting_stock(session: Session, template: CouponTemplate) -> None:
    """A template given a stock after coupons were issued without one: its counter starts at the
    coupons that exist, so the stock caps the total, not what comes after."""
    for period, count in repository.count_by_period(session, template.id):
        repository.set_stock(session, template.id, period, count)


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def issued_counts(session: Session, template_ids: list[Any] | None = None) -> dict[Any, int]:
    """Coupons that exist of each template (printed codes included)."""
    return repository.count_by_template(session, template_ids)


def read(template: CouponTemplate, issued: int) -> TemplateRead:
    return TemplateRead(
        id=template.id,
        code=template.code,
        name=template.name,
        kind=template.kind,  # type: ignore[arg-type]
        terms=TemplateTerms.model_validate(template.terms),
        face_value_fen=template.face_value_fen,
        valid_from=template.valid_from,
        valid_until=template.valid_until,
        valid_days=template.valid_days,
        total_stock=template.total_stock,
        per_member_limit=template.per_member_limit,
        claimable=template.claimable,
        claim_from=template.claim_from,
        claim_until=template.claim_until,
        member_day=template.member_day,
        points_price=template.points_price,
        funder=template.funder,  # type: ignore[arg-type]
        partner_code=template.partner_code,
        settlement_fen=template.settlement_fen,
        status=template.status,
        issued_count=issued,
        created_at=template.created_at,
        updated_at=template.updated_at,
    )


# --- packs ---------------------------------------------------------------------------------------


def put_pack(session: Session, actor: Actor, code: str, body: PackWrite) -> CouponPack:
    for item in body.items:
        get_template(session, item.template)
    now = utcnow()
    items = [item.model_dump() for item in body.items]
    pack = repository.pack_by_code(session, code.upper(), lock=True)
    before = None
    if pack is None:
        pack = CouponPack(
            id=new_id(), code=code.upper(), name=body.name, items=items, created_at=now, updated_at=now
        )
        session.add(pack)
    else:
        before = {"name": pack.name, "items": pack.items}
        pack.name, pack.items, pack.updated_at = body.name, items, now
    session.flush()
    audit.record(
        session,
        actor,
        "coupon_pack.put",
        "coupon_pack",
        pack.id,
        before=before,
        after={"name": body.name, "items": items},
    )
    return pack


def get_pack(session: Session, code: str) -> CouponPack:
    pack = repository.pack_by_code(session, code.upper())
    if pack is None:
        raise CouponPackNotFound(code=code)
    return pack


def pack_read(session: Session, pack: CouponPack) -> PackRead:
    items = [PackItem.model_validate(item) for item in pack.items]
    values = {
        template.code: template.face_value_fen
        for template in repository.templates_by_code(session, [item.template for item in items])
    }
    return PackRead(
        code=pack.code,
        name=pack.name,
        items=items,
        face_value_fen=sum(values.get(item.template, 0) * item.count for item in items),
    )


# --- the default program (SPEC §5) -----------------------------------------------------------------

NEW_MEMBER_PACK = "NEW-MEMBER"
BIRTHDAY_TEMPLATE = "BIRTHDAY"
CAR_WASH_TEMPLATE = "WASH-FREE"
MEMBER_DAY_TEMPLATE = "MEMBER-DAY"

DEFAULT_TEMPLATES: tuple[dict[str, Any], ...] = (
    {"code": "NEW-100-10", "name": "新人券 满100减10", "kind": "amount_off",
     "terms": {"amount_off_fen": 1000, "threshold_fen": 10000}, "valid_days": 30},
    {"code": "NEW-200-20", "name": "新人券 满200减20", "kind": "amount_off",
     "terms": {"amount_off_fen": 2000, "threshold_fen": 20000}, "valid_days": 30},
    {"code": "NEW-300-38", "name": "新人券 满300减38", "kind": "amount_off",
     "terms": {"amount_off_fen": 3800, "threshold_fen": 30000}, "valid_days": 30},
    {"code": "NEW-PL50", "name": "新人券 每升立减0.5元", "kind": "per_liter",
     "terms": {"per_liter_fen": 50, "max_liters": "40"}, "valid_days": 30},
    {"code": CAR_WASH_TEMPLATE, "name": "免费洗车券", "kind": "voucher",
     "terms": {"categories": ["car_wash"], "amount_off_fen": 4000}, "valid_days": 90, "points_price": 5000},
    {"code": BIRTHDAY_TEMPLATE, "name": "生日券 满100减15", "kind": "amount_off",
     "terms": {"amount_off_fen": 1500, "threshold_fen": 10000}, "valid_days": 10},
    {"code": MEMBER_DAY_TEMPLATE, "name": "会员日 油品9折券", "kind": "percent_off",
     "terms": {"percent_off_bp": 1000, "cap_fen": 2000, "categories": ["fuel"]}, "valid_days": 7,
     "claimable": True, "member_day": True, "total_stock": 1000, "per_member_limit": 1},
)  # fmt: skip
DEFAULT_PACKS: dict[str, dict[str, Any]] = {
    NEW_MEMBER_PACK: {
        "name": "新人礼包 ¥188",
        "items": [
            {"template": "NEW-100-10", "count": 3},
            {"template": "NEW-200-20", "count": 2},
            {"template": "NEW-300-38", "count": 1},
            {"template": "NEW-PL50", "count": 2},
            {"template": CAR_WASH_TEMPLATE, "count": 1},
        ],
    }
}


def install_defaults(session: Session) -> None:
    """The default program's coupons (SPEC §5) on a database that has no templates."""
    if repository.any_template(session):
        return
    for document in DEFAULT_TEMPLATES:
        create_template(session, SYSTEM, TemplateCreate.model_validate(document))
    for code, pack in DEFAULT_PACKS.items():
        put_pack(session, SYSTEM, code, PackWrite.model_validate(pack))
    session.flush()
