"""Receipt text for the POS printer or a cloud printer (S5): 32 columns, one line per fact."""

from __future__ import annotations

from forecourt.kit.clock import to_chain_time
from forecourt.pos.schemas import Quote

WIDTH = 32


def yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}¥{abs(fen) // 100}.{abs(fen) % 100:02d}"


def _display_width(text: str) -> int:
    return sum(2 if ord(char) > 0x2E7F else 1 for char in text)


def _row(left: str, right: str) -> str:
    gap = max(1, WIDTH - _display_width(left) - _display_width(right))
    return f"{left}{' ' * gap}{right}"


def receipt_text(
    quote: Quote,
    *,
    brand: str,
    station_name: str,
    pos_txn_id: str,
    card_no: str | None,
    points_after: int | None,
    tier_name: str | None,
) -> str:
    local = to_chain_time(quote.occurred_at)
    rows = [
        brand,
        station_name,
        _row("单号", pos_txn_id),
        _row("时间", local.strftime("%Y-%m-%d %H:%M")),
        "-" * WIDTH,
    ]
    for line in quote.lines:
        if line.kind == "fuel":
            rows.append(_row(f"{line.grade}# {line.liters}L", yuan(line.gross_fen)))
            rows.append(f"  单价 {yuan(line.unit_price_fen)}/L")
        else:
            rows.append(_row(f"{line.sku} ×{line.quantity}", yuan(line.gross_fen)))
    rows.append("-" * WIDTH)
    rows.append(_row("合计", yuan(quote.gross_fen)))
    for discount in quote.discounts:
        rows.append(_row(discount.label, yuan(-discount.amount_fen)))
    if quote.wallet_fen:
        rows.append(_row("储值支付", yuan(quote.wallet_fen)))
    rows.append(_row("应付", yuan(quote.due_fen)))
    if card_no is not None:
        rows.append("-" * WIDTH)
        rows.append(_row("会员卡", f"****{card_no[-4:]}"))
        if tier_name:
            rows.append(_row("等级", tier_name))
        rows.append(_row("本次积分", f"+{quote.points_earned.total}"))
        if quote.points_redeemed:
            rows.append(_row("积分抵扣", f"-{quote.points_redeemed}"))
        if points_after is not None:
            rows.append(_row("积分余额", str(points_after)))
    rows.append("-" * WIDTH)
    rows.append("谢谢惠顾，一路平安")
    return "\n".join(rows)
