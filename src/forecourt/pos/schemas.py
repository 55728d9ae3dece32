"""POS API v1 bodies (SPEC §7: a published contract, change only by adding)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from forecourt.members.schemas import TierRef


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PosStatus(BaseModel):
    device_id: str
    station: str
    station_name: str
    station_open: bool
    server_time: datetime
    server_timestamp: int


class MemberIdentifier(Strict):
    """How the POS names the member: as at identify, or by the ``id`` identify returned (a scanned
    member code is only valid for a minute; the id is what a commit should carry)."""

    type: Literal["phone", "plate", "member_code", "card_no", "member_id"]
    value: str = Field(min_length=1, max_length=64)


class FuelLine(Strict):
    line_id: str = Field(min_length=1, max_length=32)
    kind: Literal["fuel"]
    grade: str = Field(min_length=1, max_length=8)
    liters: Decimal = Field(gt=0, le=2000, max_digits=7, decimal_places=2)
    """Litres (kg for gas, kWh for charging), two decimals."""
    nozzle: str | None = Field(default=None, max_length=8)


class GoodsLine(Strict):
    line_id: str = Field(min_length=1, max_length=32)
    kind: Literal["goods"]
    sku: str = Field(min_length=1, max_length=64)
    category: str = Field(min_length=1, max_length=32)
    quantity: int = Field(gt=0, le=1000)
    unit_price_fen: int = Field(ge=0, le=10_000_000)
    name: str | None = Field(default=None, max_length=100)


Line = Annotated[FuelLine | GoodsLine, Field(discriminator="kind")]


class Redeem(Strict):
    coupons: Literal["auto"] | list[uuid.UUID] = Field(default_factory=list)
    points: Literal["auto"] | int = 0
    wallet: bool = False


class QuoteRequest(Strict):
    station: str = Field(min_length=1, max_length=32)
    member: MemberIdentifier | None = None
    occurred_at: AwareDatetime | None = None
    """When the sale happened, with its offset (offline replay: up to 7 days back)."""
    lines: list[Line] = Field(min_length=1, max_length=50)
    redeem: Redeem = Field(default_factory=Redeem)

    @model_validator(mode="after")
    def _distinct_line_ids(self) -> QuoteRequest:
        ids = [line.line_id for line in self.lines]
        if len(set(ids)) != len(ids):
            raise ValueError("line_id values must be distinct")
        return self


PaymentMethod = Literal["cash", "bank_card", "wechat", "alipay", "unionpay", "fleet_card", "other"]


class Payment(Strict):
    method: PaymentMethod
    amount_fen: int = Field(ge=0, le=100_000_000)
    reference: str | None = Field(default=None, min_length=1, max_length=64)
    """The order number the POS gave the provider (商户订单号), so the provider's bill can be matched."""


class CommitRequest(QuoteRequest):
    pos_txn_id: str = Field(min_length=1, max_length=64)
    payments: list[Payment] = Field(default_factory=list, max_length=10)


class LineResult(BaseModel):
    line_id: str
    kind: str
    grade: str | None = None
    sku: str | None = None
    category: str
    liters: Decimal | None = None
    quantity: int | None = None
    unit_price_fen: int
    gross_fen: int
    discount_fen: int
    net_fen: int


class DiscountResult(BaseModel):
    source: Literal["tier", "coupon", "points"]
    ref: str | None
    line_id: str
    amount_fen: int
    label: str


class RuleAward(BaseModel):
    rule: str
    name: str
    points: int


class PointsEarned(BaseModel):
    total: int
    breakdown: list[RuleAward]


class QuoteMember(BaseModel):
    id: uuid.UUID
    card_no: str | None
    tier: TierRef
    points_available: int


class Quote(BaseModel):
    station: str
    occurred_at: datetime
    member: QuoteMember | None
    lines: list[LineResult]
    gross_fen: int
    discount_fen: int
    discounts: list[DiscountResult]
    points_redeemed: int
    points_value_fen: int
    wallet_fen: int
    """Everything the wallet pays: fuel credit, principal and bonus."""
    fuel_credit_fen: int = 0
    """The fuel credit (加油金) part of ``wallet_fen``: fuel lines only."""
    due_fen: int
    points_earned: PointsEarned


class MemberAfter(BaseModel):
    points_available: int
    points_pending: int
    wallet_balance_fen: int
    """Principal and bonus (fuel credit is not in it: it pays fuel only; see ``GET .../fuel-credit``)."""
    tier: TierRef


class PaymentResult(BaseModel):
    method: str
    amount_fen: int
    refunded_fen: int = 0


class RefundedLine(BaseModel):
    line_id: str
    liters: Decimal | None = None
    quantity: int | None = None
    amount_fen: int


class ReturnedCoupon(BaseModel):
    coupon_id: uuid.UUID
    status: str


class RefundSummary(BaseModel):
    id: uuid.UUID
    created_at: datetime
    reason: str
    full: bool
    refunded_fen: int
    points_clawed_back: int
    points_returned: int
    lines: list[RefundedLine]
    payments: list[PaymentResult]
    coupons: list[ReturnedCoupon] = Field(default_factory=list)
    """Coupons the sale used, when it is refunded in full: ``available`` again or ``refunded_expired``."""


class Transaction(Quote):
    id: uuid.UUID
    pos_txn_id: str
    status: str
    recorded_at: datetime
    payments: list[PaymentResult]
    member_after: MemberAfter | None
    receipt: str
    refunds: list[RefundSummary] = Field(default_factory=list)


class RefundLineRequest(Strict):
    line_id: str = Field(min_length=1, max_length=32)
    liters: Decimal | None = Field(default=None, gt=0, max_digits=7, decimal_places=2)
    quantity: int | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _one_measure(self) -> RefundLineRequest:
        if (self.liters is None) == (self.quantity is None):
            raise ValueError("give liters (fuel) or quantity (goods)")
        return self


class RefundRequest(Strict):
    reason: str = Field(min_length=1, max_length=200)
    lines: list[RefundLineRequest] | None = Field(default=None, min_length=1, max_length=50)


class RefundResult(BaseModel):
    refund: RefundSummary
    transaction: Transaction
    member_after: MemberAfter | None


class AuthorizationRequest(Strict):
    station: str = Field(min_length=1, max_length=32)
    member: MemberIdentifier | None = None
    grade: str = Field(min_length=1, max_length=8)
    nozzle: str | None = Field(default=None, max_length=8)
    amount_fen: int = Field(gt=0, le=10_000_000)
    """What the driver prepays; the pump stops at this amount."""
    payment_method: PaymentMethod
    redeem: Redeem = Field(default_factory=Redeem)


class AuthorizationRead(BaseModel):
    id: uuid.UUID
    station: str
    status: str
    grade: str
    nozzle: str | None
    member_id: uuid.UUID | None
    unit_price_fen: int
    fuel_discount_bp: int
    amount_fen: int
    max_liters: Decimal
    """The most the prepaid amount buys at the fixed price and discounts."""
    payment_method: str
    created_at: datetime
    expires_at: datetime
    sale_id: uuid.UUID | None


class CompleteRequest(Strict):
    pos_txn_id: str = Field(min_length=1, max_length=64)
    liters: Decimal = Field(gt=0, le=2000, max_digits=7, decimal_places=2)
    """Dispensed, as the pump reports it."""


class CompletedAuthorization(BaseModel):
    authorization: AuthorizationRead
    transaction: Transaction
    change_fen: int
    """Prepaid minus due: what goes back to the driver's payment method."""


class CancelRequest(Strict):
    reason: str = Field(default="", max_length=200)
