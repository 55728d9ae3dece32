"""What a basket would earn for a kind of member (the admin console's rule preview, R6).

The API's preview (``trials.preview``) names a real member; head office asks about a kind of member
instead: "a silver member buying 40 L of 95# at S001 next Saturday". The basket is priced as a
commit would price it for a member of that tier (the tier's fuel discount applies; no coupons,
points or wallet in play, no birthday, no tags) at any moment, past or future, with the prices in
force then, and the purchase rules in force now (plus ``drafts``) say what it earns, rule by rule.
Caps and budgets are not applied: they depend on a member's usage.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from sqlalchemy.orm import Session

from forecourt.pos import checkout
from forecourt.pos.checkout import Checkout, Redemption, Shopper
from forecourt.pos.schemas import Line, Quote, QuoteRequest
from forecourt.pos.service import Priced, _basket_facts, _price_lines, line_facts, quote_of
from forecourt.rules import service as rules
from forecourt.rules.schemas import RuleDocument
from forecourt.stations import service as stations
from forecourt.tiers import service as tiers

NOBODY = uuid.UUID(int=0)
"""The member id of the imagined shopper (nothing is read or written for it)."""


def preview_for_tier(
    session: Session,
    *,
    station: str,
    lines: Sequence[Line],
    tier: str,
    at: datetime,
    drafts: Sequence[RuleDocument] = (),
) -> Quote:
    station_row = stations.get_station(session, station)
    level = tiers.level(session, tier)
    shopper = Shopper(
        member_id=NOBODY,
        tier_code=level.code,
        tier_name=level.name,
        fuel_discount_bp=level.fuel_discount_bp,
        points_available=0,
    )
    body = QuoteRequest(station=station_row.code, lines=list(lines))
    basket = checkout.run(
        Checkout(
            lines=_price_lines(session, station_row, body, at, None), shopper=shopper, redeem=Redemption()
        )
    )
    rule_set = rules.draft_rule_set(session, drafts) if drafts else rules.rule_set(session)
    region = stations.region_code_of(session, station_row)
    facts = replace(_basket_facts(session, station_row, region, None, level, at, rule_set), member=True)
    earning = rule_set.earn(facts, line_facts(basket))
    return quote_of(Priced(station_row, at, None, level, basket, rule_set, earning), earning)
