"""Issuing coupons (C3, C7): claims, batches of printed codes, campaigns, packs, points exchange,
birthday coupons and coupons granted by earning rules.

Every coupon comes out of ``issue``, which takes stock and the member's slot in the caller's
transaction (see ``coupons.models``): under any concurrency a template never exceeds its stock and
a member never exceeds the per-member limit. Automatic issues carry a ``source_key`` and happen at
most once per key. When stock is gone a claim is refused by a plain read first, so a burst of late
claims costs no writes.
"""

from __future__ import annotations

import csv
import io
import secrets
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from forecourt.audit import service as audit
from forecourt.coupons import repository, templates
from forecourt.coupons.errors import (
    CouponBatchNotFound,
    CouponCodeTaken,
    CouponLimitReached,
    CouponNotClaimable,
    CouponNotExchangeable,
    CouponNotFound,
    CouponOutOfStock,
    CouponPackNotFound,
    CouponTemplateNotFound,
    InvalidCouponTemplate,
)
from forecourt.coupons.models import Coupon, CouponBatch, CouponTemplate
from forecourt.coupons.schemas import BatchCreate, IssueRequest, IssueResult, PackItem
from forecourt.db.outbox import Event, subscribe
from forecourt.kit.actor import Actor
from forecourt.kit.clock import chain_zone, to_chain_time, utcnow
from forecourt.kit.ids import new_id
from forecourt.ledger import points
from forecourt.ledger.chain import Signer
from forecourt.members import service as members
from forecourt.risk import service as risk
from forecourt.rules.hooks import HookContext, register_hook

MEMBER_DAY = 8
"""The member day: the 8th of each month (SPEC §5)."""
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 12
"""12 Crockford base-32 characters: 60 random bits, so codes cannot be guessed or enumerated."""


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(code: str) -> str:
    """What a member types or a scanner reads: spaces and dashes dropped, upper case, O→0, I/L→1."""
    cleaned = "".join(code.split()).replace("-", "").upper()
    return cleaned.translate(str.maketrans("OIL", "011"))


def stock_period(template: CouponTemplate, now: datetime) -> str:
    """Member-day coupons count stock and limits per month; others over the template's life."""
    return f"{to_chain_time(now):%Y-%m}" if template.member_day else ""


def validity(template: CouponTemplate, now: datetime) -> tuple[datetime, datetime]:
    """[valid_from, expires_at) of a coupon issued now: N days from the claim, or from the
    template's start if that is later (to the end of the N-th day, chain time), or the template's
    dates; never past the template's ``valid_until``."""
    start = max(now, template.valid_from) if template.valid_from else now
    if template.valid_days:
        local = to_chain_time(start)
        last_day = local.date() + timedelta(days=template.valid_days)
        end = datetime(last_day.year, last_day.month, last_day.day, tzinfo=chain_zone())
        if template.valid_until is not None:
            end = min(end, template.valid_until)
    elif template.valid_until is not None:
        end = template.valid_until
    else:  # refused when the template was written
        raise InvalidCouponTemplate(template=template.code, problems=["no validity"])
    return start, end


def take_stock(session: Session, template: CouponTemplate, period: str, count: int) -> None:
    """Count ``count`` more coupons of a template with a stock, or raise ``coupon_out_of_stock``.
    A template without one counts nothing here (reports count its coupons), so a coupon that every
    sale may grant never makes a row that every sale updates."""
    total = template.total_stock
    if total is None:
        return
    issued = repository.issued_in_period(session, template.id, period)
    if issued + count > total:  # sold out: refused by a read, no write under a burst
        raise CouponOutOfStock(template=template.code, left=max(total - issued, 0))
    if not repository.add_to_stock(session, template.id, period, count, total):
        raise CouponOutOfStock(template=template.code, left=0)


def _give_back_stock(session: Session, template: CouponTemplate, period: str, count: int) -> None:
    if template.total_stock is None:
        return
    repository.give_back_stock(session, template.id, period, count)


def issue(
    session: Session,
    template: CouponTemplate,
    member_id: uuid.UUID,
    *,
    channel: str,
    now: datetime,
    source_key: str | None = None,
) -> tuple[Coupon, bool]:
    """One coupon of ``template`` to the member. Returns it and whether it is new (an issue under a
    ``source_key`` that already happened returns the first coupon). Raises ``coupon_out_of_stock``,
    ``coupon_limit_reached`` or ``coupon_not_claimable`` (retired), changing nothing."""
    if source_key is not None:
        existing = repository.coupon_by_source_key(session, source_key)
        if existing is not None:
            return existing, False
    if template.status != "active":
        raise CouponNotClaimable(template=template.code, reason="retired")
    period = stock_period(template, now)
    limit = template.per_member_limit
    valid_from, expires_at = validity(template, now)
    if expires_at <= now:  # the template's validity has ended: the coupon would arrive expired
        raise CouponNotClaimable(template=template.code, reason="closed")
    for _attempt in range(3):
        slot = next_slot(session, template, member_id, period)
        take_stock(session, template, period, 1)
        coupon_id = new_id()
        inserted = repository.add_coupon_unless_taken(
            session,
            {
                "id": coupon_id,
                "template_id": template.id,
                "batch_id": None,
                "member_id": member_id,
                "code": new_code(),
                "status": "available",
                "channel": channel,
                "source_key": source_key,
                "claim_period": period,
                "claim_slot": slot,
                "issued_at": now,
                "claimed_at": now,
                "valid_from": valid_from,
                "expires_at": expires_at,
            },
        )
        if inserted:
            return repository.get_coupon(session, coupon_id), True
        _give_back_stock(session, template, period, 1)
        if source_key is not None:
            existing = repository.coupon_by_source_key(session, source_key)
            if existing is not None:
                return existing, False
    raise CouponLimitReached(template=template.code, limit=limit)


def issue_or_skip(
    session: Session,
    template: CouponTemplate,
    member_id: uuid.UUID,
    *,
    channel: str,
    now: datetime,
    source_key: str,
) -> tuple[Coupon, bool] | str:
    """``issue``, or the code of why it cannot (out of stock, the member's limit, the template
    closed): automatic issues skip such members rather than fail the rest."""
    try:
        return issue(session, template, member_id, channel=channel, now=now, source_key=source_key)
    except (CouponOutOfStock, CouponLimitReached, CouponNotClaimable) as refused:
        return refused.code


def next_slot(session: Session, template: CouponTemplate, member_id: uuid.UUID, period: str) -> int | None:
    """The member's next slot under the template's per-member limit (None: no limit), or raise
    ``coupon_limit_reached``. Two claims racing for one slot collide on the unique slot key."""
    limit = template.per_member_limit
    if limit is None:
        return None
    held = repository.count_slotted(session, template.id, member_id, period)
    if held >= limit:
        raise CouponLimitReached(template=template.code, limit=limit)
    return held + 1


# --- the member's own claims -------------------------------------------------------------------------


def claim_refusal(template: CouponTemplate, now: datetime) -> str | None:
    if template.status != "active":
        return "retired"
    if not template.claimable:
        return "not_claimable"
    if template.claim_from and now < template.claim_from:
        return "not_open_yet"
    if template.claim_until and now >= template.claim_until:
        return "closed"
    if template.valid_until and now >= template.valid_until:
        return "closed"  # its coupons would be expired before they were held
    if template.member_day and to_chain_time(now).day != MEMBER_DAY:
        return "not_member_day"
    return None


def claim(session: Session, actor: Actor, member_id: uuid.UUID, code: str, now: datetime) -> Coupon:
    """领取: the member takes a coupon from the coupon centre (member day: only on the 8th)."""
    template = templates.get_template(session, code)
    reason = claim_refusal(template, now)
    if reason is not None:
        raise CouponNotClaimable(template=template.code, reason=reason)
    coupon, _ = issue(
        session, template, member_id, channel="member_day" if template.member_day else "claim", now=now
    )
    return coupon


def redeem_code(session: Session, member_id: uuid.UUID, code: str, now: datetime) -> Coupon:
    """A member types or scans a printed batch code: the coupon becomes theirs, under the
    template's per-member limit, with a new code (the printed one was seen by others)."""
    row = repository.coupon_by_printed_code(session, normalise_code(code))
    if row is None:
        raise CouponNotFound(code="***")
    coupon, template = row
    if coupon.status != "unclaimed":
        raise CouponCodeTaken()
    if template.status != "active":
        raise CouponNotClaimable(template=template.code, reason="retired")
    valid_from, expires_at = validity(template, now)
    period = stock_period(template, now)
    slot = next_slot(session, template, member_id, period)
    try:
        with session.begin_nested():
            claimed = repository.claim_printed(
                session,
                coupon.id,
                member_id=member_id,
                code=new_code(),
                claim_period=period,
                claim_slot=slot,
                claimed_at=now,
                valid_from=valid_from,
                expires_at=expires_at,
            )
    except IntegrityError as exc:  # the member's last slot was taken by a claim racing this one
        raise CouponLimitReached(template=template.code, limit=template.per_member_limit) from exc
    if not claimed:
        raise CouponCodeTaken()
    session.refresh(coupon)
    return coupon


def exchanges_since(session: Session, member_id: uuid.UUID, since: datetime) -> list[datetime]:
    """When the member bought coupons with points since ``since`` (redemptions, for risk)."""
    return repository.exchanged_since(session, member_id, since)


def exchange(
    session: Session, signer: Signer, actor: Actor, member_id: uuid.UUID, code: str, now: datetime
) -> Coupon:
    """Buy a coupon with points (5,000 points: a car wash). The risk rules look first (a burst of
    redemptions is refused with ``risk_rejected``, its decision kept), before anything is written."""
    risk.check_redemption(session, member_id, now)
    template = templates.get_template(session, code)
    if not template.points_price:
        raise CouponNotExchangeable(template=template.code)
    coupon, _ = issue(session, template, member_id, channel="exchange", now=now)
    points.spend(
        session,
        signer,
        actor,
        member_id,
        template.points_price,
        reason="coupon.exchange",
        idempotency_key=f"coupon:{coupon.id}:exchange",
        occurred_at=now,
        meta={"coupon_id": str(coupon.id), "template": template.code},
    )
    return coupon


# --- staff issues -------------------------------------------------------------------------------------


def create_batch(session: Session, actor: Actor, code: str, body: BatchCreate) -> CouponBatch:
    """Codes for print or a partner: stock is taken for all of them now."""
    template = templates.get_template(session, code, lock=True)
    if template.status != "active":
        raise CouponNotClaimable(template=template.code, reason="retired")
    now = utcnow()
    take_stock(session, template, "", body.size)
    batch = CouponBatch(
        id=new_id(),
        template_id=template.id,
        channel=body.channel,
        size=body.size,
        note=body.note,
        created_at=now,
        created_by=actor.label,
    )
    session.add(batch)
    session.flush()
    absolute = template.valid_days is None
    valid_from, expires_at = validity(template, now) if absolute else (None, None)
    rows = [
        {
            "id": new_id(),
            "template_id": template.id,
            "batch_id": batch.id,
            "member_id": None,
            "code": code,
            "printed_code": code,
            "status": "unclaimed",
            "channel": body.channel,
            "source_key": None,
            "claim_period": "",
            "claim_slot": None,
            "issued_at": now,
            "claimed_at": None,
            "valid_from": valid_from,
            "expires_at": expires_at,
        }
        for code in (new_code() for _ in range(body.size))
    ]
    repository.add_coupons(session, rows)
    audit.record(
        session,
        actor,
        "coupon_batch.create",
        "coupon_batch",
        batch.id,
        after={"template": template.code, "size": body.size, "channel": body.channel},
    )
    return batch


def get_batch(session: Session, batch_id: uuid.UUID) -> tuple[CouponBatch, str, int]:
    row = repository.batch_with_template_code(session, batch_id)
    if row is None:
        raise CouponBatchNotFound(batch_id=str(batch_id))
    return row[0], row[1], repository.count_claimed_in_batch(session, batch_id)


def batch_codes_csv(session: Session, batch_id: uuid.UUID) -> tuple[CouponBatch, str]:
    """The batch's codes still waiting to be claimed, for the printer (the caller audits each
    export with ``record_codes_export``: the codes are bearer values; a claimed coupon has a new
    code that only its member sees)."""
    batch, template_code, _ = get_batch(session, batch_id)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["code", "template", "status", "expires_at"])
    for coupon_code, status, expires_at in repository.unclaimed_in_batch(session, batch.id):
        writer.writerow([coupon_code, template_code, status, expires_at.isoformat() if expires_at else ""])
    return batch, out.getvalue()


def record_codes_export(session: Session, actor: Actor, batch: CouponBatch) -> None:
    audit.record(session, actor, "coupon_batch.export", "coupon_batch", batch.id, after={"rows": batch.size})


def issue_to_members(session: Session, actor: Actor, code: str, body: IssueRequest) -> IssueResult:
    """A campaign: one coupon to each member named (or tagged), at most once per campaign."""
    template = templates.get_template(session, code)
    member_ids = members.active_member_ids(session, member_ids=body.member_ids, tag=body.tag)
    now = utcnow()
    issued = already = 0
    refused: dict[str, int] = {}
    unknown = len(set(body.member_ids) - set(member_ids))
    if unknown:
        refused["member_not_found"] = unknown
    for member_id in member_ids:
        outcome = issue_or_skip(
            session,
            template,
            member_id,
            channel=body.channel,
            now=now,
            source_key=f"campaign:{body.campaign}:{template.code}:{member_id}",
        )
        if isinstance(outcome, str):
            refused[outcome] = refused.get(outcome, 0) + 1
            continue
        issued += outcome[1]
        already += not outcome[1]
    audit.record(
        session,
        actor,
        "coupon.issue",
        "coupon_template",
        template.id,
        after={"campaign": body.campaign, "issued": issued, "already": already, "refused": refused},
    )
    return IssueResult(issued=issued, already_issued=already, refused=refused)


def issue_pack(
    session: Session, pack_code: str, member_id: uuid.UUID, *, source: str, now: datetime
) -> list[Coupon]:
    """Every coupon of a pack, once per ``source`` (a template out of stock is skipped)."""
    pack = templates.get_pack(session, pack_code)
    issued: list[Coupon] = []
    for raw in pack.items:
        item = PackItem.model_validate(raw)
        template = templates.get_template(session, item.template)
        for index in range(item.count):
            outcome = issue_or_skip(
                session,
                template,
                member_id,
                channel="pack",
                now=now,
                source_key=f"{source}:{template.code}:{index}",
            )
            if not isinstance(outcome, str):
                issued.append(outcome[0])
    return issued


@subscribe("member.registered", name="coupons.new_member_pack")
def new_member_pack(session: Session, event: Event) -> None:
    """The ¥188 new-member pack, issued once on registration [seed 002]."""
    member_id = uuid.UUID(event.payload["member_id"])
    try:
        issue_pack(
            session,
            templates.NEW_MEMBER_PACK,
            member_id,
            source=f"pack:{templates.NEW_MEMBER_PACK}:{member_id}",
            now=event.occurred_at,
        )
    except CouponPackNotFound:  # the chain has no new-member pack: nothing to give
        return


@subscribe("member.erased", name="coupons.void_on_erasure")
def void_on_erasure(session: Session, event: Event) -> None:
    """An erased member's unused coupons are voided: nobody can use them any more."""
    repository.void_available_of(session, uuid.UUID(event.payload["member_id"]), event.occurred_at)


def grant_from_rule(session: Session, context: HookContext, params: Mapping[str, Any]) -> None:
    """The ``coupon.grant`` rule action: ``{"template": CODE}``, once per rule and sale."""
    try:
        template = templates.get_template(session, str(params.get("template", "")))
    except CouponTemplateNotFound:
        return  # checked when the rule was saved; a sale never fails for a promotion's coupon
    issue_or_skip(  # a promotion that ran out never fails the sale either
        session,
        template,
        context.member_id,
        channel="rule",
        now=context.occurred_at,
        source_key=f"rule:{context.rule_code}:{context.source}:{template.code}",
    )


def grant_params_problem(session: Session, params: Mapping[str, Any]) -> str | None:
    code = params.get("template")
    if not isinstance(code, str) or not code:
        return 'A coupon.grant action names its coupon template: params {"template": CODE}.'
    try:
        templates.get_template(session, code)
    except CouponTemplateNotFound:
        return f"No coupon template has the code {code!r}."
    return None


register_hook("coupon.grant", grant_from_rule, grant_params_problem)


def issue_birthday_coupons(session: Session, member_ids: list[uuid.UUID], year: int, now: datetime) -> int:
    template = templates.get_template(session, templates.BIRTHDAY_TEMPLATE)
    count = 0
    for member_id in member_ids:
        outcome = issue_or_skip(
            session,
            template,
            member_id,
            channel="birthday",
            now=now,
            source_key=f"birthday:{year}:{member_id}",
        )
        count += not isinstance(outcome, str) and outcome[1]
    return count
