"""The demo's reconciliation day (SPEC W5): yesterday's sandbox statement, imported and reconciled.

Four drivers topped up online through the sandbox yesterday. The sandbox's bill (in WeChat Pay's
trade-bill layout) disagrees with us three ways, so finance opens the demo to a queue of three:

- one top-up it lists that we never saw paid (its notification was lost): ``missing_in_ours``,
  which finance may settle by crediting the driver (``credited_member``);
- one we recorded as paid that it does not list: ``missing_at_provider``;
- one it lists for a fen more than we recorded: ``amount_mismatch``;

and one that matches. Intents are created and paid through the payments service (the sandbox's
signed notifications); the service stamps them paid now, so the demo moves their ``paid_at`` to
yesterday, when the story says they were paid. The statement goes in through
``reconciliation.service.import_statement`` and the day through the ``reconcile`` job.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.config import Settings
from forecourt.db.session import Database
from forecourt.jobs.registry import run_job
from forecourt.kit.actor import Actor
from forecourt.kit.clock import chain_zone, utcnow
from forecourt.ledger.chain import Signer
from forecourt.members.models import Member
from forecourt.payments import service as payments
from forecourt.payments.config import DEVELOPMENT_SANDBOX_SECRET, Payments
from forecourt.payments.models import PaymentIntent
from forecourt.payments.providers.sandbox import Sandbox
from forecourt.reconciliation import service as reconciliation

PROVIDER = "sandbox"
TOP_UPS = (
    # (amount in fen, paid as we know it, on the provider's bill, the bill's amount, Beijing time)
    (50_000, True, True, 50_000, time(8, 12, 5)),  # matched
    (30_000, True, False, 0, time(12, 40, 11)),  # missing at the provider
    (20_000, True, True, 20_001, time(18, 3, 47)),  # amount mismatch
    (100_000, False, True, 100_000, time(21, 55, 30)),  # missing in ours: the notification was lost
)
WECHAT_HEADER = (
    "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,"
    "货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,"
    "商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"
)


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def wechat_bill(rows: list[tuple[datetime, str, str, int]]) -> bytes:
    """A trade bill in WeChat Pay's layout: (Beijing time, out_trade_no, transaction id, fen) per payment."""
    lines = [WECHAT_HEADER]
    for at, out_trade_no, txn_id, fen in rows:
        fields = [at.strftime("%Y-%m-%d %H:%M:%S"), "wxdemo", "1900000109", "0", "", txn_id, out_trade_no]
        fields += ["oDemo", "JSAPI", "SUCCESS", "CMB_CREDIT", "CNY", _yuan(fen), "0.00", "0", "0", "0.00"]
        fields += ["0.00", "", "", "会员钱包充值", "", "0.00000", "0.60%", _yuan(fen), "0.00", ""]
        lines.append(",".join("`" + value for value in fields))
    total = sum(fen for *_, fen in rows)
    lines.append(
        "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"
    )
    lines.append(f"`{len(rows)},`{_yuan(total)},`0.00,`0.00,`0.00000,`{_yuan(total)},`0.00")
    return ("\n".join(lines) + "\n").encode()


def load_reconciliation_day(
    database: Database, settings: Settings, signer: Signer, actor: Actor
) -> dict[str, Any]:
    """Yesterday's top-ups, the sandbox's bill for them, and the ``reconcile`` job's report."""
    sandbox = Payments(providers={PROVIDER: Sandbox(DEVELOPMENT_SANDBOX_SECRET)})
    now = utcnow()
    yesterday: date = now.astimezone(chain_zone()).date() - timedelta(days=1)

    def drivers(session: Session) -> list[uuid.UUID]:
        return list(
            session.scalars(select(Member.id).order_by(Member.created_at, Member.id).limit(len(TOP_UPS)))
        )

    members = database.run(drivers, write=False)
    rows: list[tuple[datetime, str, str, int]] = []
    for n, ((amount, paid, listed, billed, clock), member_id) in enumerate(
        zip(TOP_UPS, members, strict=False)
    ):
        paid_at = datetime.combine(yesterday, clock, tzinfo=chain_zone())

        def top_up(
            session: Session, member_id: uuid.UUID = member_id, amount: int = amount, paid: bool = paid
        ) -> str:
            intent, _ = payments.create_top_up_intent(session, sandbox, member_id, amount, PROVIDER)
            if paid:
                headers, body = payments.simulate_sandbox_payment(session, sandbox, member_id, intent.id)
                payments.receive_notification(session, signer, sandbox, PROVIDER, headers, body)
            return intent.out_trade_no

        out_trade_no = database.run(top_up)

        def backdate(session: Session, out_trade_no: str = out_trade_no, paid_at: datetime = paid_at) -> None:
            intent = session.scalars(
                select(PaymentIntent).where(PaymentIntent.out_trade_no == out_trade_no)
            ).one()
            intent.created_at = paid_at - timedelta(seconds=40)
            if intent.paid_at is not None:
                intent.paid_at = paid_at

        database.run(backdate)
        if listed:
            rows.append(
                (paid_at + timedelta(seconds=1), out_trade_no, f"SB{yesterday:%Y%m%d}{n:014d}", billed)
            )
    bill = wechat_bill(rows)
    database.run(
        lambda session: reconciliation.import_statement(
            session,
            actor,
            provider=PROVIDER,
            business_date=yesterday,
            file_name=f"sandbox_trade_bill_{yesterday.isoformat()}.csv",
            data=bill,
        )
    )
    return run_job(database, settings, "reconcile", at=now)
