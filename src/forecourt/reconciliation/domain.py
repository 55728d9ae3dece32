"""Reconciliation rules, pure: the providers' bill files read into lines, and lines compared with ours.

Bill layouts (as the providers publish them):

- WeChat Pay trade bill (交易账单, ``bill_type=ALL``): a header row, then one row per trade or refund
  whose every field starts with a backtick (`` ` ``) so spreadsheets keep long numbers as text; then
  a summary: a header row starting ``总交易单数`` and one row of totals. A ``SUCCESS`` row is a
  payment of ``应结订单金额`` (or ``订单金额``); a ``REFUND`` row is a refund of ``退款金额`` whose
  ``商户退款单号`` is our refund number.
- Alipay bill (业务明细 / 账务明细): comment lines starting with ``#`` before and after a header row
  and one row per entry; ``业务类型`` ``交易`` is a payment, ``退款`` a refund. The amount is the
  ``收入金额`` / ``支出金额`` of the account bill, else ``商家实收`` / ``订单金额`` of the trade bill
  (a refund's is negative there). Alipay exports are often GBK: the file is read as UTF-8 and,
  failing that, as GB18030.

Amounts are yuan with at most two decimals, turned into fen exactly (``Decimal``, never a float).
Times are the chain's wall-clock time (Beijing) without an offset.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

PAYMENT = "payment"
REFUND = "refund"

MATCHED = "matched"
MISSING_IN_OURS = "missing_in_ours"
MISSING_AT_PROVIDER = "missing_at_provider"
AMOUNT_MISMATCH = "amount_mismatch"
DIFFERENCES = (MISSING_IN_OURS, MISSING_AT_PROVIDER, AMOUNT_MISMATCH)
CLASSES = (MATCHED, *DIFFERENCES)

RESOLUTIONS = ("accepted_provider", "accepted_ours", "written_off", "credited_member")

LAYOUTS = {"wechat": "wechat", "sandbox": "wechat", "alipay": "alipay"}
"""The bill layout each provider's files follow (the sandbox writes WeChat Pay's)."""


class StatementFormatError(ValueError):
    """The file is not a bill of the layout expected; ``line`` is 1-based."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message if line is None else f"line {line}: {message}")
        self.line = line


@dataclass(frozen=True)
class ParsedLine:
    kind: str
    out_trade_no: str
    provider_txn_id: str | None
    out_refund_no: str | None
    amount_fen: int
    occurred_at: datetime
    raw: dict[str, str] = field(compare=False)

    @property
    def reference(self) -> str:
        return self.out_refund_no or self.out_trade_no if self.kind == REFUND else self.out_trade_no


def yuan_to_fen(text: str, line: int | None = None) -> int:
    """``"500.00"`` → 50000; ``"¥-1,234.5"`` → -123450. More than two decimals is an error."""
    cleaned = text.strip().lstrip("`").replace(",", "").replace("¥", "").replace("￥", "").strip()
    try:
        value = Decimal(cleaned)
    except InvalidOperation as exc:
        raise StatementFormatError(f"not an amount: {text!r}", line) from exc
    fen = value * 100
    if not value.is_finite() or fen != fen.to_integral_value():
        raise StatementFormatError(f"not an amount in yuan and fen: {text!r}", line)
    return int(fen)


def decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return data.decode("gb18030")
        except UnicodeDecodeError as exc:
            raise StatementFormatError("the file is neither UTF-8 nor GBK text") from exc


def _local(text: str, zone: ZoneInfo, line: int) -> datetime:
    try:
        return datetime.strptime(text.strip().lstrip("`"), "%Y-%m-%d %H:%M:%S").replace(tzinfo=zone)
    except ValueError as exc:
        raise StatementFormatError(f"not a time: {text!r}", line) from exc


def _normalise(header: str) -> str:
    name = header.strip().lstrip("\ufeff").lstrip("`")
    for suffix in ("（+元）", "（-元）", "（元）", "(+元)", "(-元)", "(元)"):
        name = name.removesuffix(suffix)
    return name.strip()


def _rows(text: str) -> list[tuple[int, list[str]]]:
    return [(n, row) for n, row in enumerate(csv.reader(io.StringIO(text)), start=1) if any(row)]


def _field(record: Mapping[str, str], *names: str) -> str:
    for name in names:
        value = record.get(name, "").strip()
        if value:
            return value
    return ""


def parse_wechat(text: str, zone: ZoneInfo) -> list[ParsedLine]:
    """A WeChat Pay trade bill (see the module's layouts)."""
    rows = _rows(text)
    if not rows:
        raise StatementFormatError("the file is empty")
    first, header_row = rows[0]
    header = [_normalise(name) for name in header_row]
    for needed in ("交易时间", "商户订单号", "交易状态"):
        if needed not in header:
            raise StatementFormatError(f"no {needed} column: not a WeChat Pay trade bill", first)
    lines: list[ParsedLine] = []
    for number, row in rows[1:]:
        if _normalise(row[0]) == "总交易单数":
            break
        if len(row) != len(header):
            raise StatementFormatError(f"{len(row)} fields where the header has {len(header)}", number)
        record = {name: value.strip().lstrip("`").strip() for name, value in zip(header, row, strict=True)}
        state = record["交易状态"]
        at = _local(record["交易时间"], zone, number)
        txn = record.get("微信订单号") or None
        if state == "SUCCESS":
            amount = _field(record, "应结订单金额", "订单金额")
            lines.append(
                ParsedLine(PAYMENT, record["商户订单号"], txn, None, yuan_to_fen(amount, number), at, record)
            )
        elif state == "REFUND":
            refund_no = record.get("商户退款单号") or None
            amount = _field(record, "退款金额", "申请退款金额")
            lines.append(
                ParsedLine(
                    REFUND, record["商户订单号"], txn, refund_no, yuan_to_fen(amount, number), at, record
                )
            )
        else:
            raise StatementFormatError(f"unknown 交易状态 {state!r}", number)
        if not record["商户订单号"]:
            raise StatementFormatError("no 商户订单号", number)
    return lines


def parse_alipay(text: str, zone: ZoneInfo) -> list[ParsedLine]:
    """An Alipay bill (see the module's layouts)."""
    rows = [(n, row) for n, row in _rows(text) if not row[0].lstrip("\ufeff").startswith("#")]
    if not rows:
        raise StatementFormatError("the file has no header row")
    first, header_row = rows[0]
    header = [_normalise(name) for name in header_row]
    for needed in ("支付宝交易号", "商户订单号", "业务类型"):
        if needed not in header:
            raise StatementFormatError(f"no {needed} column: not an Alipay bill", first)
    lines: list[ParsedLine] = []
    for number, row in rows[1:]:
        if len(row) < len(header):
            row = row + [""] * (len(header) - len(row))
        record = {name: value.strip().lstrip("`").strip() for name, value in zip(header, row, strict=False)}
        kind = {"交易": PAYMENT, "退款": REFUND}.get(record["业务类型"])
        if kind is None:
            continue  # 转账, 提现, 收费 …: account movements that are not our trades
        amount = _field(record, "收入金额", "支出金额", "商家实收", "订单金额")
        if not amount:
            raise StatementFormatError("no amount", number)
        moment = _field(record, "完成时间", "入账时间", "发生时间", "创建时间")
        if not record["商户订单号"]:
            raise StatementFormatError("no 商户订单号", number)
        lines.append(
            ParsedLine(
                kind,
                record["商户订单号"],
                record["支付宝交易号"] or None,
                _field(record, "退款批次号/请求号", "商户退款单号") or None if kind == REFUND else None,
                abs(yuan_to_fen(amount, number)),
                _local(moment, zone, number),
                record,
            )
        )
    return lines


def parse(provider: str, data: bytes, zone: ZoneInfo) -> list[ParsedLine]:
    layout = LAYOUTS.get(provider)
    if layout is None:
        raise StatementFormatError(f"no bill layout is known for {provider!r}")
    text = decode(data)
    return parse_wechat(text, zone) if layout == "wechat" else parse_alipay(text, zone)


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The business day ``day`` in the chain's zone: [start, end) as aware datetimes."""
    start = datetime.combine(day, time(0), tzinfo=zone)
    return start, datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)


@dataclass(frozen=True)
class Entry:
    """One payment or refund, ours or the provider's, by its reference (out_trade_no / out_refund_no)."""

    kind: str
    reference: str
    amount_fen: int


@dataclass(frozen=True)
class Outcome:
    kind: str
    reference: str
    classification: str
    ours_fen: int | None
    theirs_fen: int | None


def compare(ours: Iterable[Entry], theirs: Iterable[Entry]) -> list[Outcome]:
    """Every reference on either side, classified; sorted by kind and reference."""
    mine: dict[tuple[str, str], int] = {}
    provider: dict[tuple[str, str], int] = {}
    for side, entries in ((mine, ours), (provider, theirs)):
        for e in entries:  # a reference listed twice counts twice: the sum must still match
            side[(e.kind, e.reference)] = side.get((e.kind, e.reference), 0) + e.amount_fen
    outcomes = []
    for key in sorted(mine.keys() | provider.keys()):
        ours_fen, theirs_fen = mine.get(key), provider.get(key)
        if ours_fen is None:
            classification = MISSING_IN_OURS
        elif theirs_fen is None:
            classification = MISSING_AT_PROVIDER
        elif ours_fen != theirs_fen:
            classification = AMOUNT_MISMATCH
        else:
            classification = MATCHED
        outcomes.append(Outcome(key[0], key[1], classification, ours_fen, theirs_fen))
    return outcomes


def summarise(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """Counts and amounts per class (ours and the provider's, in fen)."""
    summary: dict[str, Any] = {name: {"count": 0, "ours_fen": 0, "theirs_fen": 0} for name in CLASSES}
    for outcome in outcomes:
        bucket = summary[outcome.classification]
        bucket["count"] += 1
        bucket["ours_fen"] += outcome.ours_fen or 0
        bucket["theirs_fen"] += outcome.theirs_fen or 0
    return summary
