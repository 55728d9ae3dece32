"""The providers' bill files read into lines: exact fen, Beijing times, payments and refunds."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from forecourt.reconciliation import domain
from tests.reconciliation.support import fixture, wechat_bill

BEIJING = ZoneInfo("Asia/Shanghai")


def test_a_wechat_pay_trade_bill_gives_its_payments_and_refunds_in_exact_fen():
    lines = domain.parse("wechat", fixture("wechat_trade_bill_2026-11-24.csv"), BEIJING)

    assert [(line.kind, line.reference, line.amount_fen) for line in lines] == [
        ("payment", "FCaaaa0000000000000000000000001", 50_000),
        ("payment", "FCaaaa0000000000000000000000002", 100_001),
        ("refund", "RFaaaa000000000000000000000001", 20_050),
    ]
    assert lines[0].provider_txn_id == "4200002024112400000001"
    assert lines[2].out_trade_no == "FCaaaa0000000000000000000000003"
    assert lines[0].occurred_at.astimezone(UTC) == datetime(2026, 11, 23, 16, 0, 3, tzinfo=UTC)
    assert lines[0].raw["交易状态"] == "SUCCESS", "the backticks are stripped from every field"


def test_an_alipay_bill_in_gbk_skips_its_comment_lines_and_reads_refunds_as_positive_fen():
    lines = domain.parse("alipay", fixture("alipay_trade_bill_2026-11-24.csv"), BEIJING)

    assert [(line.kind, line.reference, line.amount_fen) for line in lines] == [
        ("payment", "FCbbbb0000000000000000000000001", 30_000),
        ("payment", "FCbbbb0000000000000000000000002", 8_888),
        ("refund", "RFbbbb000000000000000000000001", 10_000),
    ]
    assert lines[0].provider_txn_id == "2026112422001400001000000001"
    assert lines[2].occurred_at == datetime(2026, 11, 24, 21, 0, tzinfo=BEIJING), "完成时间 counts"


def test_an_alipay_account_bill_uses_its_income_and_expense_columns():
    text = (
        "#支付宝账务明细查询\n"
        "#账号：[20881234567890120156]\n"
        "账务流水号,业务流水号,商户订单号,商品名称,发生时间,对方账号,收入金额（+元）,支出金额（-元）,"
        "账户余额（元）,交易渠道,业务类型,备注\n"
        "3000001,2026112422001400001000000009,FCcccc01,充值,2026-11-24 10:00:00,138****,1234.56,,9999.00,"
        "快捷,交易,\n"
        "3000002,2026112422001400001000000010,FCcccc02,提现,2026-11-24 11:00:00,,,-5000.00,4999.00,,提现,\n"
        "#账务明细列表结束\n"
    )
    text = text.replace("账务流水号,业务流水号", "账务流水号,支付宝交易号")
    lines = domain.parse("alipay", text.encode(), BEIJING)

    assert [(line.kind, line.reference, line.amount_fen) for line in lines] == [
        ("payment", "FCcccc01", 123_456)
    ]


def test_the_sandbox_writes_its_bills_in_wechat_pays_layout():
    bill = wechat_bill(("2026-11-24 10:00:00", "FC1", "SUCCESS", "0.01"))
    assert [line.amount_fen for line in domain.parse("sandbox", bill, BEIJING)] == [1]


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("500.00", 50_000),
        ("0.01", 1),
        ("1,234.50", 123_450),
        ("-100.00", -10_000),
        ("¥88.8", 8_880),
        ("7", 700),
    ],
)
def test_yuan_become_fen_exactly(text, fen):
    assert domain.yuan_to_fen(text) == fen


@pytest.mark.parametrize("text", ["0.001", "abc", "", "NaN"])
def test_an_amount_that_is_not_yuan_and_fen_is_refused(text):
    with pytest.raises(domain.StatementFormatError):
        domain.yuan_to_fen(text)


def test_a_file_without_the_wechat_columns_is_not_a_wechat_bill():
    with pytest.raises(domain.StatementFormatError, match="商户订单号"):
        domain.parse("wechat", "交易时间,交易状态\n`2026-11-24 10:00:00,`SUCCESS\n".encode(), BEIJING)


def test_a_wechat_row_with_an_unknown_state_names_its_line():
    bill = wechat_bill(("2026-11-24 10:00:00", "FC1", "NOTPAY", "1.00"))
    with pytest.raises(domain.StatementFormatError, match="line 2"):
        domain.parse("wechat", bill, BEIJING)


def test_unionpay_has_no_bill_layout_here():
    with pytest.raises(domain.StatementFormatError):
        domain.parse("unionpay", b"x", BEIJING)


def test_every_reference_on_either_side_is_classified():
    ours = [
        domain.Entry("payment", "A", 100),
        domain.Entry("payment", "B", 200),
        domain.Entry("payment", "C", 300),
    ]
    theirs = [
        domain.Entry("payment", "A", 100),
        domain.Entry("payment", "C", 301),
        domain.Entry("payment", "D", 5),
    ]
    outcomes = domain.compare(ours, theirs)

    assert [(o.reference, o.classification) for o in outcomes] == [
        ("A", "matched"),
        ("B", "missing_at_provider"),
        ("C", "amount_mismatch"),
        ("D", "missing_in_ours"),
    ]
    summary = domain.summarise(outcomes)
    assert summary["amount_mismatch"] == {"count": 1, "ours_fen": 300, "theirs_fen": 301}
    assert summary["missing_in_ours"] == {"count": 1, "ours_fen": 0, "theirs_fen": 5}
