"""Full and partial refunds of a committed sale.

Every amount is computed cumulatively: after each refund, a line's refunded money (and points, and
the money that earned points) is ``half_up(line amount × refunded share)``, and this refund is the
difference from before. So any sequence of partial refunds adds up exactly to a full one.

Points the sale redeemed come back as new lots with their original expiry; points it earned are
clawed back in proportion to the refunded paid amount (the balance may go negative, see
``forecourt.ledger.sales``); the refund counts against the member's tier metric; a fully refunded
first fueling takes back the referral points it released. The refunded money is shared over the
sale's payments by what is left of each; the wallet's part goes back into the wallet, principal
and bonus as they were paid, and fuel credit as new lots keeping the expiry of the lots it came from
(``forecourt.wallet.fuel_credit.refund``: already past, the returned credit is expired at once).
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.coupons import redemption as coupons
from forecourt.db.outbox import publish
from forecourt.devices.service import DeviceIdentity
from forecourt.errors import InvalidRequest
from forecourt.kit.clock import utcnow
from forecourt.kit.ids import new_id
from forecourt.kit.money import half_up
from forecourt.ledger import sales as ledger_sales
from forecourt.ledger.chain import Signer
from forecourt.pos.errors import RefundExceedsSale, RefundNotPossible, UnknownLine
from forecourt.pos.models import Sale, SaleLine, SalePayment, SaleRefund
from forecourt.pos.schemas import (
    PaymentResult,
    RefundedLine,
    RefundRequest,
    RefundResult,
    RefundSummary,
    ReturnedCoupon,
    Transaction,
)
from forecourt.pos.service import (
    WALLET_BONUS,
    WALLET_FUEL_CREDIT,
    WALLET_PRINCIPAL,
    member_after,
    sale_of_station,
)
from forecourt.rules import rewards
from forecourt.rules.domain import allocate
from forecourt.tiers import service as tiers
from forecourt.wallet import fuel_credit
from forecourt.wallet import service as wallet
from forecourt.wallet.domain import WalletSplit


def _share(amount: int, done: Decimal, total: Decimal) -> int:
    return half_up(Decimal(amount) * done / total) if total else 0


def _measure(line: SaleLine) -> tuple[Decimal, Decimal]:
    """(sold, refunded so far) in the line's unit: litres for fuel, pieces for goods."""
    if line.kind == "fuel":
        return Decimal(line.liters or 0), Decimal(line.refunded_liters)
    return Decimal(line.quantity or 0), Decimal(line.refunded_quantity)


def _requested(lines: list[SaleLine], body: RefundRequest) -> dict[str, Decimal]:
    by_id = {line.line_id: line for line in lines}
    if body.lines is None:
        return {line.line_id: sold - done for line in lines for sold, done in [_measure(line)] if sold > done}
    wanted: dict[str, Decimal] = {}
    for item in body.lines:
        line = by_id.get(item.line_id)
        if line is None:
            raise UnknownLine(line_id=item.line_id)
        if (line.kind == "fuel") != (item.liters is not None):
            raise InvalidRequest(
                "Refund fuel lines by liters and goods lines by quantity.", line_id=item.line_id
            )
        amount = item.liters if item.liters is not None else Decimal(item.quantity or 0)
        wanted[item.line_id] = wanted.get(item.line_id, Decimal(0)) + amount
    for line_id, amount in wanted.items():
        sold, done = _measure(by_id[line_id])
        if done + amount > sold:
            raise RefundExceedsSale(line_id=line_id, remaining=str(sold - done), requested=str(amount))
    return wanted


def refund(
    session: Session, signer: Signer, device: DeviceIdentity, sale_id: uuid.UUID, body: RefundRequest
) -> RefundResult:
    sale = sale_of_station(session, device, sale_id, lock=True)
    if sale.status == "refunded":
        raise RefundNotPossible("The sale is refunded in full already.", transaction_id=str(sale_id))
    lines = list(session.scalars(select(SaleLine).where(SaleLine.sale_id == sale.id).order_by(SaleLine.id)))
    wanted = _requested(lines, body)
    if not wanted:
        raise RefundNotPossible("Nothing of the sale is left to refund.", transaction_id=str(sale_id))
    now = utcnow()
    refund_id = new_id()
    money = points_back = paid_back = paid_done_after = 0
    liters_back = Decimal(0)
    refunded_lines: list[RefundedLine] = []
    for line in lines:
        sold, done = _measure(line)
        amount = wanted.get(line.line_id, Decimal(0))
        after = done + amount
        paid_done_after += _share(line.paid_fen, after, sold)
        if not amount:
            continue
        line_money = _share(line.net_fen, after, sold) - _share(line.net_fen, done, sold)
        money += line_money
        points_back += _share(line.points_fen, after, sold) - _share(line.points_fen, done, sold)
        paid_back += _share(line.paid_fen, after, sold) - _share(line.paid_fen, done, sold)
        if line.kind == "fuel":
            line.refunded_liters = after
            liters_back += amount
            refunded_lines.append(RefundedLine(line_id=line.line_id, liters=amount, amount_fen=line_money))
        else:
            line.refunded_quantity = int(after)
            refunded_lines.append(
                RefundedLine(line_id=line.line_id, quantity=int(amount), amount_fen=line_money)
            )
    full = all(_measure(line)[0] == _measure(line)[1] for line in lines)
    earlier = session.scalars(select(SaleRefund).where(SaleRefund.sale_id == sale.id)).all()
    clawed_before = sum(row.points_clawed_back for row in earlier)
    clawed_after = sale.points_earned * paid_done_after // sale.paid_fen if sale.paid_fen else 0
    if full:
        clawed_after = sale.points_earned
    clawback = max(0, clawed_after - clawed_before)

    payments = list(
        session.scalars(select(SalePayment).where(SalePayment.sale_id == sale.id).order_by(SalePayment.id))
    )
    shares = allocate(money, {str(p.id): p.amount_fen - p.refunded_fen for p in payments})
    credit_returned_before = sum(p.refunded_fen for p in payments if p.method == WALLET_FUEL_CREDIT)
    for payment in payments:
        payment.refunded_fen += shares[str(payment.id)]

    actor = device.actor()
    if sale.member_id is not None:
        back_to_wallet = WalletSplit(
            sum(shares[str(p.id)] for p in payments if p.method == WALLET_PRINCIPAL),
            sum(shares[str(p.id)] for p in payments if p.method == WALLET_BONUS),
        )
        if back_to_wallet.total_fen:
            wallet.refund_to_wallet(
                session,
                signer,
                actor,
                sale.member_id,
                back_to_wallet,
                refund_id=refund_id,
                occurred_at=now,
                station=sale.station_code,
            )
        back_to_credit = sum(shares[str(p.id)] for p in payments if p.method == WALLET_FUEL_CREDIT)
        if back_to_credit:
            fuel_credit.refund(
                session,
                signer,
                actor,
                sale.member_id,
                back_to_credit,
                sale_id=sale.id,
                returned_before_fen=credit_returned_before,
                refund_id=refund_id,
                occurred_at=now,
                station=sale.station_code,
            )
        if points_back and sale.redeem_posting_id is not None:
            ledger_sales.return_redeemed(
                session,
                signer,
                actor,
                sale.redeem_posting_id,
                points_back,
                idempotency_key=f"refund:{refund_id}:return",
                occurred_at=now,
                station=sale.station_code,
                meta={"sale_id": str(sale.id), "refund_id": str(refund_id)},
            )
        if clawback:
            ledger_sales.claw_back(
                session,
                signer,
                actor,
                sale.member_id,
                clawback,
                idempotency_key=f"refund:{refund_id}:clawback",
                reason="sale.refund.clawback",
                occurred_at=now,
                prefer_posting=sale.earn_posting_id,
                station=sale.station_code,
                meta={"sale_id": str(sale.id), "refund_id": str(refund_id)},
            )
        tiers.record_activity(
            session,
            actor,
            sale.member_id,
            source_key=f"refund:{refund_id}",
            occurred_at=sale.occurred_at,
            money_paid_fen=-paid_back,
            liters_centi=-int(liters_back * 100),
            visits=-1 if full else 0,
            points_earned=-clawback,
        )
        tiers.reconsider_after_refund(
            session, actor, sale.member_id, sale_recorded_at=sale.recorded_at, at=now
        )
        rewards.after_refund(session, signer, actor, sale.id, full=full, occurred_at=now)

    returned = coupons.return_for_refund(session, sale.id, now) if full else []
    summary = RefundSummary(
        id=refund_id,
        created_at=now,
        reason=body.reason,
        full=full,
        refunded_fen=money,
        points_clawed_back=clawback,
        points_returned=points_back,
        lines=refunded_lines,
        payments=[
            PaymentResult(method=p.method, amount_fen=shares[str(p.id)])
            for p in payments
            if shares[str(p.id)]
        ],
        coupons=[ReturnedCoupon(coupon_id=coupon_id, status=status) for coupon_id, status in returned],
    )
    session.add(
        SaleRefund(
            id=refund_id,
            sale_id=sale.id,
            reason=body.reason,
            full=full,
            refunded_fen=money,
            points_clawed_back=clawback,
            points_returned=points_back,
            created_at=now,
            document=summary.model_dump(mode="json"),
        )
    )
    sale.status = "refunded" if full else "partially_refunded"
    sale.refunded_fen += money
    session.flush()
    publish(
        session,
        "transaction.refunded",
        {
            "sale_id": str(sale.id),
            "refund_id": str(refund_id),
            "station": sale.station_code,
            "member_id": str(sale.member_id) if sale.member_id else None,
            "full": full,
            "refunded_fen": money,
            "points_clawed_back": clawback,
            "points_returned": points_back,
        },
    )
    balances_after = member_after(session, sale.member_id) if sale.member_id else None
    return RefundResult(
        refund=summary, transaction=transaction_with_refunds(session, sale), member_after=balances_after
    )


def transaction_with_refunds(session: Session, sale: Sale) -> Transaction:
    """The sale as committed, with its current status, refunds and refunded amounts per payment."""
    refunds = session.scalars(
        select(SaleRefund).where(SaleRefund.sale_id == sale.id).order_by(SaleRefund.created_at, SaleRefund.id)
    ).all()
    payments = session.scalars(
        select(SalePayment).where(SalePayment.sale_id == sale.id).order_by(SalePayment.id)
    )
    document = dict(sale.document)
    document.update(
        status=sale.status,
        payments=[
            {"method": p.method, "amount_fen": p.amount_fen, "refunded_fen": p.refunded_fen} for p in payments
        ],
        refunds=[row.document for row in refunds],
    )
    return Transaction.model_validate(document)
