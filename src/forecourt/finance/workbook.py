"""The funds-flow report as an Excel workbook (openpyxl): one sheet per view (detail, by day, by
method), a header row, a totals row, amounts in yuan as numbers with two decimals."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from io import BytesIO
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from forecourt.finance.domain import FIGURES
from forecourt.finance.schemas import FlowFigures, FundsFlowRead

YUAN_FORMAT = "#,##0.00"
HEADINGS = {
    "top_ups_fen": "充值 Top-ups",
    "top_up_refunds_fen": "充值退款 Top-up refunds",
    "bonus_given_fen": "赠送金 Bonus given",
    "bonus_taken_back_fen": "赠送金收回 Bonus taken back",
    "wallet_spent_fen": "钱包消费 Wallet spent",
    "bonus_spent_fen": "赠送金消费 Bonus spent",
    "wallet_refunds_fen": "钱包退款 Wallet refunds",
    "bonus_refunded_fen": "赠送金退回 Bonus refunded",
    "expired_fen": "过期 Expired",
    "other_fen": "其他 Other",
    "external_paid_fen": "外部支付 External paid",
    "external_refunded_fen": "外部退款 External refunded",
}


def yuan(fen: int) -> Decimal:
    return Decimal(fen) / 100


def _sheet(
    sheet: Worksheet,
    keys: Sequence[str],
    rows: Sequence[tuple[Sequence[Any], FlowFigures]],
    totals: FlowFigures,
) -> None:
    sheet.append([*keys, *(HEADINGS[name] for name in FIGURES)])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for key_values, figures in rows:
        sheet.append([*key_values, *(yuan(getattr(figures, name)) for name in FIGURES)])
    sheet.append(
        ["合计 Total", *([""] * (len(keys) - 1)), *(yuan(getattr(totals, name)) for name in FIGURES)]
    )
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    for row in sheet.iter_rows(min_row=2, min_col=len(keys) + 1):
        for cell in row:
            cell.number_format = YUAN_FORMAT
    sheet.freeze_panes = f"{get_column_letter(len(keys) + 1)}2"


def workbook_bytes(report: FundsFlowRead) -> bytes:
    book = Workbook()
    detail = book.create_sheet("Detail")
    book.remove(book.worksheets[0])
    _sheet(
        detail,
        ("Day", "Station", "Method"),
        [((row.day.isoformat(), row.station or "", row.method), row) for row in report.rows],
        report.totals,
    )
    _sheet(
        book.create_sheet("By day"),
        ("Day",),
        [((row.day.isoformat(),), row) for row in report.by_day],
        report.totals,
    )
    _sheet(
        book.create_sheet("By method"),
        ("Method",),
        [((row.method,), row) for row in report.by_method],
        report.totals,
    )
    out = BytesIO()
    book.save(out)
    return out.getvalue()
