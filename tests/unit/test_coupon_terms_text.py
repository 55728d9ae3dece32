"""The line a member reads under a coupon's title: round amounts read as people write them."""

from __future__ import annotations

from forecourt.coupons.models import CouponTemplate
from forecourt.coupons.templates import describe


def _template(kind: str, **terms: object) -> CouponTemplate:
    return CouponTemplate(kind=kind, terms=terms)


def test_round_yuan_amounts_are_written_without_exponents() -> None:
    assert describe(_template("amount_off", threshold_fen=10000, amount_off_fen=1000)).startswith(
        "满100元减10元"
    )
    assert describe(_template("amount_off", amount_off_fen=2000)).startswith("立减20元")


def test_percent_and_per_litre_terms_read_naturally() -> None:
    assert describe(_template("percent_off", percent_off_bp=1000, cap_fen=5000)).startswith("9折,最多减50元")
    assert describe(_template("per_liter", per_liter_fen=50, max_liters="100")).startswith(
        "每升立减0.5元,最多100升"
    )
