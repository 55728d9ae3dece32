"""The sale at the pump: quote, commit, refund, prepay (SPEC S3, §5, §7).

A quote prices the basket and changes nothing. A commit prices it the same way and, in the
request's one transaction, writes the sale, spends the redeemed points, earns the points of the
rules, counts the sale for the member's tier (upgrading at once when it qualifies), runs rule hooks
and publishes ``transaction.completed``; the answer carries ``member_after`` and the receipt.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.coupons import redemption as coupons
from forecourt.db.outbox import publish
from forecourt.db.upsert import insert_for
from forecourt.devices.service import DeviceIdentity
from forecourt.kit.actor import Actor
from forecourt.kit.clock import to_chain_time, utcnow
from forecourt.kit.ids import new_id
from forecourt.ledger import points
from forecourt.ledger.chain import Signer
from forecourt.ledger.engine import member_balances
from forecourt.members import identify as members_identify
from forecourt.members import repository as members_repository
from forecourt.members import service as members
from forecourt.members.errors import MemberNotFound
from forecourt.members.models import Member
from forecourt.members.pii import Pii
from forecourt.members.schemas import TierRef
from forecourt.pos import checkout
from forecourt.pos.checkout import Checkout, Redemption, Shopper
from forecourt.pos.errors import (
    DeviceStationMismatch,
    DispensedExceedsPrepaid,
    DuplicatePosTransaction,
    NozzleGradeMismatch,
    OccurredInFuture,
    OccurredTooLongAgo,
    PaymentMismatch,
    StationClosed,
    TransactionNotFound,
)
from forecourt.pos.models import Sale, SaleLine, SalePayment
from forecourt.pos.receipt import receipt_text
from forecourt.pos.schemas import (
    CommitRequest,
    DiscountResult,
    FuelLine,
    LineResult,
    MemberAfter,
    MemberIdentifier,
    Payment,
    PaymentMethod,
    PaymentResult,
    PointsEarned,
    Quote,
    QuoteMember,
    QuoteRequest,
    RuleAward,
    Transaction,
)
from forecourt.risk import service as risk
from forecourt.rules import calendar, hooks, rewards
from forecourt.rules import service as rules
from forecourt.rules.domain import BasketFacts, Earning, LineFacts, RuleSet
from forecourt.stations import service as stations
from forecourt.stations.models import Station
from forecourt.tiers import service as tiers
from forecourt.tiers.models import TierLevel
from forecourt.wallet import fuel_credit
from forecourt.wallet import service as wallet
from forecourt.wallet.domain import WalletSplit

WALLET_PRINCIPAL, WALLET_BONUS, WALLET_FUEL_CREDIT = "wallet", "wallet_bonus", fuel_credit.PAYMENT_METHOD
"""The sale's payment rows for what the wallet paid, so refunds give each part back its way."""
MAX_AHEAD = timedelta(minutes=5)
MAX_AGE = timedelta(days=7)
"""Offline sales replay up to 7 days late, never more than 5 minutes in the future (SPEC §7)."""


@dataclass
class Priced:
    """A basket priced for a station, a moment and (maybe) a member."""

    station: Station
    occurred_at: datetime
    member: Member | None
    tier: TierLevel | None
    checkout: Checkout
    rules: RuleSet
    earning: Earning


def sale_moment(occurred_at: datetime | None, now: datetime) -> datetime:
    if occurred_at is None:
        return now
    if occurred_at > now + MAX_AHEAD:
        raise OccurredInFuture(occurred_at=occurred_at.isoformat(), server_time=now.isoformat())
    if occurred_at < now - MAX_AGE:
        raise OccurredTooLongAgo(occurred_at=occurred_at.isoformat(), server_time=now.isoformat())
    return occurred_at


def station_for_device(session: Session, device: DeviceIdentity, code: str) -> Station:
    station = stations.get_station(session, code)
    if station.id != device.station_id:
        raise DeviceStationMismatch(station=code)
    return station


def resolve_member(
    session: Session, pii: Pii, identifier: MemberIdentifier | None, now: datetime
) -> Member | None:
    if identifier is None:
        return None
    if identifier.type == "member_id":
        try:
            member_id = uuid.UUID(identifier.value)
        except ValueError as exc:
            raise MemberNotFound(identifier="member_id") from exc
        return members.get_member(session, member_id)
    return members_identify.identify(session, pii, identifier.type, identifier.value, now)


def _shopper(
    session: Session, member: Member | None, at: datetime
) -> tuple[Shopper | None, TierLevel | None]:
    if member is None:
        return None, None
    tier = tiers.current(session, member.id)
    rows = member_balances(session, member.id)
    balances, purse = points.balances_of(rows), wallet.balances_of(session, member.id, rows, at)
    return (
        Shopper(
            member_id=member.id,
            tier_code=tier.code,
            tier_name=tier.name,
            fuel_discount_bp=tier.fuel_discount_bp,
            points_available=balances.available,
            points_pending=balances.pending,
            wallet_principal_fen=purse.principal_fen,
            wallet_bonus_fen=purse.bonus_fen,
            wallet_fuel_credit_fen=purse.fuel_credit_fen,
        ),
        tier,
    )


def _price_lines(
    session: Session, station: Station, body: QuoteRequest, at: datetime, fixed_prices: dict[str, int] | None
) -> list[checkout.Line]:
    priced: list[checkout.Line] = []
    for line in body.lines:
        if isinstance(line, FuelLine):
            grade = stations.get_grade(session, line.grade)
            if line.nozzle is not None and line.nozzle.isdigit():
                dispensed = stations.nozzle_grade(session, station.id, int(line.nozzle))
                if dispensed is not None and dispensed != grade.code:
                    raise NozzleGradeMismatch(nozzle=line.nozzle, nozzle_grade=dispensed, grade=grade.code)
            price = (fixed_prices or {}).get(grade.code) or stations.price_in_force(
                session, station.id, grade.code, at
            )
            priced.append(checkout.fuel_line(line.line_id, grade.code, line.liters, price))
        else:
            priced.append(
                checkout.goods_line(line.line_id, line.sku, line.category, line.quantity, line.unit_price_fen)
            )
    return priced


def _basket_facts(
    session: Session,
    station: Station,
    region: str,
    member: Member | None,
    tier: TierLevel | None,
    at: datetime,
    rule_set: RuleSet,
) -> BasketFacts:
    local = to_chain_time(at)
    holiday, workday = calendar.holiday_facts(local.date())
    tags: tuple[str, ...] = ()
    if member is not None and "tags" in rule_set.needed.get("member", frozenset()):
        tags = tuple(tag.code for tag, _ in members_repository.tags_of(session, member.id))
    return BasketFacts(
        station=station.code,
        region=region,
        occurred_at=at,
        local_time=local,
        is_holiday=holiday,
        is_workday=workday,
        tier=tier.code if tier else "",
        tier_multiplier_milli=tier.multiplier_permille if tier else 1000,
        member=member is not None,
        birthday_week=member is not None and calendar.in_birthday_week(member.birthday, local.date()),
        birthday_today=bool(
            member is not None
            and member.birthday is not None
            and calendar.birthday_this_year(member.birthday, local.year) == local.date()
        ),
        tags=tags,
        days_since_join=(at - member.created_at).days if member is not None else 0,
    )


def line_facts(basket: Checkout) -> list[LineFacts]:
    paid = basket.paid_by_line()
    return [
        LineFacts(
            line_id=line.line_id,
            kind=line.kind,
            category=line.category,
            paid_fen=paid[line.line_id],
            gross_fen=line.gross_fen,
            grade=line.grade or "",
            sku=line.sku or "",
            liters=line.liters or Decimal(0),
            quantity=line.quantity or 0,
        )
        for line in basket.lines
    ]


def price_basket(
    session: Session,
    pii: Pii,
    station: Station,
    body: QuoteRequest,
    now: datetime,
    *,
    fixed_prices: dict[str, int] | None = None,
    fixed_discount_bp: int | None = None,
    rule_set: RuleSet | None = None,
    check_open: bool = True,
) -> Priced:
    """Price a basket exactly as a commit would, without writing anything."""
    at = sale_moment(body.occurred_at, now)
    if check_open and not stations.is_open_now(station, at):
        raise StationClosed(station=station.code)
    member = resolve_member(session, pii, body.member, now)
    shopper, tier = _shopper(session, member, at)
    if shopper is not None and fixed_discount_bp is not None:
        shopper = replace(shopper, fuel_discount_bp=fixed_discount_bp)
    region = stations.region_code_of(session, station)
    offer = (
        coupons.offer(
            session, member.id, body.redeem.coupons, coupons.occasion(at, station.code, region, tier.code)
        )
        if member is not None and tier is not None
        else None
    )
    basket = checkout.run(
        Checkout(
            lines=_price_lines(session, station, body, at, fixed_prices),
            shopper=shopper,
            redeem=Redemption(
                coupons=body.redeem.coupons, points=body.redeem.points, wallet=body.redeem.wallet
            ),
            coupon_offer=offer,
        )
    )
    active_rules = rule_set or rules.rule_set(session)
    earning = active_rules.earn(
        _basket_facts(session, station, region, member, tier, at, active_rules), line_facts(basket)
    )
    return Priced(station, at, member, tier, basket, active_rules, earning)


def _rule_names(rule_set: RuleSet, code: str, tier: TierLevel | None) -> str:
    if code.startswith("tier:"):
        return f"{tier.name}会员积分倍率" if tier else code
    rule = rule_set.by_code.get(code)
    return rule.name if rule else code


def quote_of(priced: Priced, earning: Earning) -> Quote:
    basket = priced.checkout
    member = priced.member
    return Quote(
        station=priced.station.code,
        occurred_at=priced.occurred_at,
        member=(
            QuoteMember(
                id=member.id,
                card_no=member.card_no,
                tier=TierRef(code=priced.tier.code, name=priced.tier.name),
                points_available=basket.shopper.points_available,
            )
            if member is not None and priced.tier is not None and basket.shopper is not None
            else None
        ),
        lines=[
            LineResult(
                line_id=line.line_id,
                kind=line.kind,
                grade=line.grade,
                sku=line.sku,
                category=line.category,
                liters=line.liters,
                quantity=line.quantity,
                unit_price_fen=line.unit_price_fen,
                gross_fen=line.gross_fen,
                discount_fen=line.discount_fen,
                net_fen=line.net_fen,
            )
            for line in basket.lines
        ],
        gross_fen=basket.gross_fen,
        discount_fen=basket.discount_fen,
        discounts=[
            DiscountResult(
                source=d.source, ref=d.ref, line_id=d.line_id, amount_fen=d.amount_fen, label=d.label
            )
            for d in basket.discounts
        ],
        points_redeemed=basket.points_redeemed,
        points_value_fen=basket.points_redeemed * 100 // checkout.POINTS_PER_YUAN,
        wallet_fen=basket.wallet_fen,
        fuel_credit_fen=basket.wallet_credit_fen,
        due_fen=basket.due_fen,
        points_earned=PointsEarned(
            total=earning.total,
            breakdown=[
                RuleAward(rule=code, name=_rule_names(priced.rules, code, priced.tier), points=value)
                for code, value in earning.by_rule.items()
            ],
        ),
    )


def quote(session: Session, pii: Pii, device: DeviceIdentity, body: QuoteRequest) -> Quote:
    priced = price_basket(session, pii, station_for_device(session, device, body.station), body, utcnow())
    earning = priced.earning
    if priced.member is not None:
        earning = rules.allowance(session, priced.rules, priced.member.id, earning, priced.occurred_at)
    return quote_of(priced, earning)


def member_after(session: Session, member_id: uuid.UUID, tier: TierLevel | None = None) -> MemberAfter:
    """The member's standing now (read after the postings: concurrent sales may have moved it)."""
    rows = member_balances(session, member_id)
    balances = points.balances_of(rows)
    tier = tier or tiers.current(session, member_id)
    return MemberAfter(
        points_available=balances.available,
        points_pending=balances.pending,
        wallet_balance_fen=wallet.balances_of(session, member_id, rows).total_fen,
        tier=TierRef(code=tier.code, name=tier.name),
    )


def commit(
    session: Session,
    pii: Pii,
    signer: Signer,
    device: DeviceIdentity,
    body: CommitRequest,
    *,
    authorization_id: uuid.UUID | None = None,
    fixed_prices: dict[str, int] | None = None,
    fixed_discount_bp: int | None = None,
    pay_due_with: PaymentMethod | None = None,
    due_limit_fen: int | None = None,
    now: datetime | None = None,
) -> Transaction:
    """Commit a sale. A prepay completion passes the authorization's fixed price and discount,
    ``pay_due_with`` (the prepaid method pays whatever is due) and ``due_limit_fen`` (the prepaid
    amount, which the due may not exceed). ``now`` is the server clock (the demo's history loader
    commits past sales as of when they happened)."""
    now = now or utcnow()
    priced = price_basket(
        session,
        pii,
        station_for_device(session, device, body.station),
        body,
        now,
        fixed_prices=fixed_prices,
        fixed_discount_bp=fixed_discount_bp,
        check_open=authorization_id is None,  # a prepay begun before closing time completes after it
    )
    basket = priced.checkout
    if due_limit_fen is not None and basket.due_fen > due_limit_fen:
        raise DispensedExceedsPrepaid(due_fen=basket.due_fen, prepaid_fen=due_limit_fen)
    if pay_due_with is not None:
        paid = [Payment(method=pay_due_with, amount_fen=basket.due_fen)] if basket.due_fen else []
        body = body.model_copy(update={"payments": paid})
    paid_total = sum(payment.amount_fen for payment in body.payments)
    if paid_total != basket.due_fen:
        raise PaymentMismatch(due_fen=basket.due_fen, payments_fen=paid_total)
    member = priced.member
    station = priced.station
    actor = device.actor()
    if session.scalar(
        select(Sale.id).where(Sale.station_id == station.id, Sale.pos_txn_id == body.pos_txn_id)
    ):
        raise DuplicatePosTransaction(pos_txn_id=body.pos_txn_id, station=station.code)
    if member is not None and authorization_id is None:
        _check_risk(session, member.id, basket, priced.occurred_at)
    paid_by_line = basket.paid_by_line()
    fuel_liters = sum((line.liters or Decimal(0) for line in basket.lines if line.kind == "fuel"), Decimal(0))
    sale = Sale(
        id=new_id(),
        station_id=station.id,
        station_code=station.code,
        pos_txn_id=body.pos_txn_id,
        device_id=_device_uuid(device),
        member_id=member.id if member else None,
        authorization_id=authorization_id,
        occurred_at=priced.occurred_at,
        recorded_at=now,
        status="completed",
        tier_code=priced.tier.code if priced.tier else None,
        gross_fen=basket.gross_fen,
        discount_fen=basket.discount_fen,
        points_redeemed=basket.points_redeemed,
        wallet_fen=basket.wallet_fen,
        due_fen=basket.due_fen,
        paid_fen=sum(paid_by_line.values()),
        points_earned=0,
        fuel_liters=fuel_liters,
        earn_posting_id=None,
        redeem_posting_id=None,
        refunded_fen=0,
        document={},
    )
    earning = priced.earning
    after: MemberAfter | None = None
    if member is not None and basket.shopper is not None and priced.tier is not None:
        earning, after = _member_side(
            session, signer, actor, priced, (member, priced.tier), sale, body, fuel_liters
        )
    result = _transaction_of(session, priced, earning, sale, body, after)
    sale.document = result.model_dump(mode="json", exclude={"refunds"})
    _insert_sale(session, sale, basket, paid_by_line, body)
    publish(
        session,
        "transaction.completed",
        {
            "sale_id": str(sale.id),
            "station": station.code,
            "pos_txn_id": sale.pos_txn_id,
            "member_id": str(member.id) if member else None,
            "occurred_at": priced.occurred_at.isoformat(),
            "gross_fen": sale.gross_fen,
            "paid_fen": sale.paid_fen,
            "fuel_liters": str(fuel_liters),
            "points_earned": sale.points_earned,
            "points_redeemed": sale.points_redeemed,
            "coupons": [str(applied.coupon.id) for applied in basket.coupons_applied],
        },
        occurred_at=priced.occurred_at,
    )
    return result


def _check_risk(session: Session, member_id: uuid.UUID, basket: Checkout, at: datetime) -> None:
    """The risk rules on the member's payment and redemption, before anything of the sale is
    written: a refusal keeps its decision row, and only that (SPEC X3). A prepay completion is not
    checked here: its fuel is already in the tank, paid when the driver prepaid."""
    risk.check_payment(session, member_id, basket.due_fen + basket.wallet_fen, at)
    if basket.points_redeemed or basket.coupons_applied:
        risk.check_redemption(session, member_id, at)


def member_payments_since(
    session: Session, member_id: uuid.UUID, since: datetime
) -> list[tuple[datetime, int]]:
    """The member's committed sales since ``since`` that moved money, as (occurred_at, amount_fen):
    external payment plus wallet (principal and bonus). Refunds do not give an attempt back."""
    paid = Sale.due_fen + Sale.wallet_fen
    rows = session.execute(
        select(Sale.occurred_at, paid).where(Sale.member_id == member_id, Sale.occurred_at >= since, paid > 0)
    ).all()
    return [(moment, int(amount)) for moment, amount in rows]


def member_redemptions_since(session: Session, member_id: uuid.UUID, since: datetime) -> list[datetime]:
    """When the member's committed sales since ``since`` redeemed points or coupons."""
    rows = session.execute(
        select(Sale.occurred_at, Sale.points_redeemed, Sale.document).where(
            Sale.member_id == member_id, Sale.occurred_at >= since
        )
    ).all()
    return [
        moment
        for moment, points_redeemed, document in rows
        if points_redeemed
        or any(discount.get("source") == "coupon" for discount in document.get("discounts", ()))
    ]


def _member_side(
    session: Session,
    signer: Signer,
    actor: Actor,
    priced: Priced,
    who: tuple[Member, TierLevel],
    sale: Sale,
    body: CommitRequest,
    fuel_liters: Decimal,
) -> tuple[Earning, MemberAfter]:
    """The member's part of a commit: redeem, earn (caps and budgets taken), count the sale for the
    tier, sale-driven rewards. Returns what was earned and the member's standing afterwards."""
    basket = priced.checkout
    member, tier = who
    station = priced.station.code
    meta: dict[str, object] = {"sale_id": str(sale.id), "pos_txn_id": body.pos_txn_id}
    if basket.coupons_applied:
        coupons.use(
            session,
            basket.coupons_applied,
            member_id=member.id,
            sale_id=sale.id,
            station=station,
            used_by=actor.label,
            at=priced.occurred_at,
        )
    if basket.wallet_credit_fen:
        fuel_credit.pay_for_sale(
            session,
            signer,
            actor,
            member.id,
            basket.wallet_credit_fen,
            sale_id=sale.id,
            occurred_at=priced.occurred_at,
            station=station,
        )
    if basket.wallet_principal_fen or basket.wallet_bonus_fen:
        wallet.pay_for_sale(
            session,
            signer,
            actor,
            member.id,
            WalletSplit(basket.wallet_principal_fen, basket.wallet_bonus_fen),
            sale_id=sale.id,
            occurred_at=priced.occurred_at,
            station=station,
        )
    if basket.points_redeemed:
        sale.redeem_posting_id = points.spend(
            session,
            signer,
            actor,
            member.id,
            basket.points_redeemed,
            reason="sale.redeem",
            idempotency_key=f"sale:{sale.id}:redeem",
            occurred_at=priced.occurred_at,
            station=station,
            meta=meta,
        ).posting.id
    earning = rules.consume(session, priced.rules, member.id, priced.earning, priced.occurred_at)
    if earning.total:
        sale.earn_posting_id = points.earn(
            session,
            signer,
            actor,
            member.id,
            earning.total,
            reason="sale.earn",
            idempotency_key=f"sale:{sale.id}:earn",
            occurred_at=priced.occurred_at,
            expires_at=None if tier.points_never_expire else points.expiry_by_policy(priced.occurred_at),
            station=station,
            meta={**meta, "rules": earning.by_rule},
        ).posting.id
    sale.points_earned = earning.total
    for call in earning.hooks:  # e.g. coupon.grant: each acts at most once per rule and sale
        hooks.run_hook(
            session,
            call.hook,
            hooks.HookContext(member.id, call.rule, f"sale:{sale.id}", priced.occurred_at, call.line_id),
            call.params,
        )
    tier_after = tiers.record_activity(
        session,
        actor,
        member.id,
        source_key=f"sale:{sale.id}",
        occurred_at=priced.occurred_at,
        money_paid_fen=sale.paid_fen,
        liters_centi=int(fuel_liters * 100),
        visits=1,
        points_earned=earning.total,
    )
    liters_by_grade: dict[str, Decimal] = {}
    for line in basket.lines:
        if line.kind == "fuel" and line.grade and line.liters:
            liters_by_grade[line.grade] = liters_by_grade.get(line.grade, Decimal(0)) + line.liters
    first = member.referred_by_id is not None and fuel_liters > 0 and _first_fueling(session, sale)
    rewards.after_sale(
        session,
        signer,
        actor,
        rewards.SaleFacts(member.id, sale.id, priced.occurred_at, liters_by_grade, first),
    )
    return earning, member_after(session, member.id, tier_after)


def _insert_sale(
    session: Session, sale: Sale, basket: Checkout, paid_by_line: dict[str, int], body: CommitRequest
) -> None:
    """Write the sale once, complete; a concurrent sale with the same pos_txn_id loses here."""
    values = {column.key: getattr(sale, column.key) for column in Sale.__table__.columns}
    inserted = session.execute(
        insert_for(session, Sale)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["station_id", "pos_txn_id"])
        .returning(Sale.id)
    ).scalar()
    if inserted is None:
        raise DuplicatePosTransaction(pos_txn_id=sale.pos_txn_id, station=sale.station_code)
    points_by_line = {line.line_id: 0 for line in basket.lines}
    for discount in basket.discounts:
        if discount.source == "points":
            points_by_line[discount.line_id] += discount.amount_fen
    session.add_all(
        [
            SaleLine(
                id=new_id(),
                sale_id=sale.id,
                line_id=line.line_id,
                kind=line.kind,
                grade=line.grade,
                sku=line.sku,
                category=line.category,
                liters=line.liters,
                quantity=line.quantity,
                unit_price_fen=line.unit_price_fen,
                gross_fen=line.gross_fen,
                discount_fen=line.discount_fen,
                net_fen=line.net_fen,
                points_fen=points_by_line[line.line_id],
                paid_fen=paid_by_line[line.line_id],
                refunded_liters=Decimal(0),
                refunded_quantity=0,
            )
            for line in basket.lines
        ]
        + [
            SalePayment(
                id=new_id(),
                sale_id=sale.id,
                method=method,
                amount_fen=amount,
                refunded_fen=0,
                reference=reference,
            )
            for method, amount, reference in (
                *((p.method, p.amount_fen, p.reference) for p in body.payments),
                (WALLET_PRINCIPAL, basket.wallet_principal_fen, None),
                (WALLET_BONUS, basket.wallet_bonus_fen, None),
                (WALLET_FUEL_CREDIT, basket.wallet_credit_fen, None),
            )
            if amount or method not in (WALLET_PRINCIPAL, WALLET_BONUS, WALLET_FUEL_CREDIT)
        ]
    )


def _first_fueling(session: Session, sale: Sale) -> bool:
    """True when the member bought no fuel before (the referral's "first fueling")."""
    earlier = session.scalar(
        select(Sale.id)
        .where(Sale.member_id == sale.member_id, Sale.id != sale.id, Sale.fuel_liters > 0)
        .limit(1)
    )
    return earlier is None


def _device_uuid(device: DeviceIdentity) -> uuid.UUID | None:
    try:
        return uuid.UUID(device.device_id)
    except ValueError:
        return None


def _transaction_of(
    session: Session,
    priced: Priced,
    earning: Earning,
    sale: Sale,
    body: CommitRequest,
    after: MemberAfter | None,
) -> Transaction:
    quoted = quote_of(priced, earning)
    return Transaction(
        **quoted.model_dump(),
        id=sale.id,
        pos_txn_id=sale.pos_txn_id,
        status=sale.status,
        recorded_at=sale.recorded_at,
        payments=[PaymentResult(method=p.method, amount_fen=p.amount_fen) for p in body.payments],
        member_after=after,
        receipt=receipt_text(
            quoted,
            brand=stations.brand_name(session),
            station_name=priced.station.name,
            pos_txn_id=sale.pos_txn_id,
            card_no=priced.member.card_no if priced.member else None,
            points_after=after.points_available if after else None,
            tier_name=after.tier.name if after else None,
        ),
    )


def sale_of_station(
    session: Session, device: DeviceIdentity, sale_id: uuid.UUID, *, lock: bool = False
) -> Sale:
    query = select(Sale).where(Sale.id == sale_id)
    if lock:
        query = query.with_for_update()
    sale = session.scalar(query)
    if sale is None or sale.station_id != device.station_id:
        raise TransactionNotFound(transaction_id=str(sale_id))
    return sale


def get_transaction(session: Session, device: DeviceIdentity, sale_id: uuid.UUID) -> Transaction:
    from forecourt.pos.refunds import transaction_with_refunds

    return transaction_with_refunds(session, sale_of_station(session, device, sale_id))


def external_payments_between(
    session: Session, method: str, start: datetime, end: datetime
) -> list[tuple[str, int]]:
    """(reference, amount) of the payments by ``method`` (wechat, alipay …) that carried the
    provider's order number, of sales that happened in [start, end): what its bill should list."""
    rows = session.execute(
        select(SalePayment.reference, SalePayment.amount_fen)
        .join(Sale, Sale.id == SalePayment.sale_id)
        .where(
            SalePayment.method == method,
            SalePayment.reference.is_not(None),
            Sale.occurred_at >= start,
            Sale.occurred_at < end,
        )
    )
    return [(reference, amount) for reference, amount in rows if reference]
