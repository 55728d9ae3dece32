"""Helpers: our payments as the payments context leaves them, and bill files in WeChat Pay's layout."""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from forecourt.kit.ids import new_id
from forecourt.payments.models import PaymentIntent, PaymentRefund

FIXTURES = Path(__file__).parent / "fixtures"

WECHAT_HEADER = (
    "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,"
    "货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,"
    "商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"
)


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def paid_intent(
    session: Session,
    out_trade_no: str,
    amount_fen: int,
    paid_at: datetime | None,
    *,
    provider: str = "wechat",
    status: str = "paid",
    member_id: uuid.UUID | None = None,
) -> PaymentIntent:
    intent = PaymentIntent(
        id=new_id(),
        out_trade_no=out_trade_no,
        member_id=member_id,
        purpose="top_up",
        provider=provider,
        amount_fen=amount_fen,
        refunded_fen=0,
        status=status,
        provider_txn_id=None,
        created_at=paid_at or datetime.fromisoformat("2026-11-24T00:00:00+08:00"),
        paid_at=paid_at,
        details={},
    )
    session.add(intent)
    session.flush()
    return intent


def refund(
    session: Session, intent: PaymentIntent, out_refund_no: str, amount_fen: int, at: datetime
) -> None:
    session.add(
        PaymentRefund(
            id=new_id(),
            intent_id=intent.id,
            out_refund_no=out_refund_no,
            amount_fen=amount_fen,
            status="succeeded",
            reason="test",
            created_at=at,
            completed_at=at,
        )
    )
    session.flush()


def wechat_bill(*rows: tuple[str, str, str, str] | tuple[str, str, str, str, str]) -> bytes:
    """Rows of (time, out_trade_no, SUCCESS|REFUND, yuan[, out_refund_no]) in WeChat Pay's layout."""
    lines = [WECHAT_HEADER]
    total = 0
    for n, row in enumerate(rows):
        at, trade_no, state, yuan = row[:4]
        refund_no = row[4] if len(row) == 5 else "0"
        paid = yuan if state == "SUCCESS" else "0.00"
        refunded = yuan if state == "REFUND" else "0.00"
        fields = [at, "wx8888", "1900000109", "0", "", f"42000{n:020d}", trade_no, "oUser", "JSAPI", state]
        fields += [
            "CMB_CREDIT",
            "CNY",
            paid,
            "0.00",
            "0",
            refund_no,
            refunded,
            "0.00",
            "",
            "",
            "会员钱包充值",
        ]
        fields += ["", "0.00000", "0.60%", yuan, refunded, ""]
        lines.append(",".join("`" + value for value in fields))
        total += 1
    lines.append(
        "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"
    )
    lines.append(f"`{total},`0.00,`0.00,`0.00,`0.00000,`0.00,`0.00")
    return ("\n".join(lines) + "\n").encode()
