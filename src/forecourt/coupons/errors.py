from __future__ import annotations

from forecourt.errors import Conflict, InvalidRequest, NotFound, PermissionDenied


class CouponNotFound(NotFound):
    code = "coupon_not_found"
    default_message = "No coupon of this member has that id or code."


class CouponExpired(Conflict):
    code = "coupon_expired"
    default_message = "The coupon has expired."


class CouponNotApplicable(Conflict):
    """``details.reason``: not_yet_valid, wrong_day, wrong_time, wrong_station, wrong_tier,
    wrong_grade, wrong_category, below_threshold, nothing_to_discount, exclusive_conflict,
    too_many_coupons, partner_only (a partner's voucher: the partner verifies it)."""

    code = "coupon_not_applicable"
    default_message = "The coupon cannot be used on this sale."


class CouponAlreadyUsed(Conflict):
    code = "coupon_already_used"
    default_message = "The coupon has already been used."


class CouponTemplateNotFound(NotFound):
    code = "coupon_template_not_found"
    default_message = "No coupon template has that code."


class CouponTemplateExists(Conflict):
    code = "coupon_template_exists"
    default_message = "A coupon template with that code exists."


class InvalidCouponTemplate(InvalidRequest):
    code = "invalid_coupon_template"
    default_message = "The coupon template is not valid."


class CouponPackNotFound(NotFound):
    code = "coupon_pack_not_found"
    default_message = "No coupon pack has that code."


class CouponBatchNotFound(NotFound):
    code = "coupon_batch_not_found"
    default_message = "No coupon batch has that id."


class CouponOutOfStock(Conflict):
    code = "coupon_out_of_stock"
    default_message = "All coupons of this template have been issued."


class CouponLimitReached(Conflict):
    code = "coupon_limit_reached"
    default_message = "The member already holds as many of these coupons as one member may."


class CouponNotClaimable(Conflict):
    """``details.reason``: not_claimable, retired, not_open_yet, closed, not_member_day."""

    code = "coupon_not_claimable"
    default_message = "This coupon cannot be claimed now."


class CouponNotExchangeable(Conflict):
    code = "coupon_not_exchangeable"
    default_message = "This coupon cannot be bought with points."


class CouponCodeTaken(Conflict):
    code = "coupon_code_claimed"
    default_message = "That coupon code has already been claimed."


class CouponNotVerifiable(Conflict):
    """``details.reason``: wrong_station (outside the coupon's stations and regions), not_partner
    (another partner's coupon, or not a partner coupon), needs_sale (it discounts a sale: use it at
    the pump), not_yet_valid."""

    code = "coupon_not_verifiable"
    default_message = "This coupon cannot be verified here."


class PartnerAccountRequired(PermissionDenied):
    code = "partner_account_required"
    default_message = "Only a partner account bound to a partner may verify partner coupons."
