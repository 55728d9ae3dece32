"""Station console: identify a member, build the basket, quote, commit, print the receipt.

The console is a till of its station (``till.ConsoleTill``): it quotes and commits through the POS
service exactly as a terminal does, with the signed-in staff member as the actor. The quote gives
the sale its ``pos_txn_id`` (a hidden field of the commit form), so a second submit of the same form
is refused as a duplicate by the service instead of selling twice.

The member's wallet pays only when the member showed their rotating member code (the POS rule): the
console remembers, in its cookie session, which member was last identified by a member code.
"""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import Depends, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from forecourt.auth.permissions import Permission
from forecourt.coupons import redemption as coupons
from forecourt.db.session import get_session, reads_only
from forecourt.errors import InvalidRequest
from forecourt.kit.actor import Actor
from forecourt.kit.clock import utcnow
from forecourt.members import identify as members_identify
from forecourt.members import service as members
from forecourt.members.facts import facts_of
from forecourt.members.member_code import split_code
from forecourt.members.models import Member
from forecourt.pos import service as pos
from forecourt.pos.errors import DuplicatePosTransaction, WalletNeedsMemberCode
from forecourt.pos.schemas import CommitRequest, Quote, QuoteRequest
from forecourt.stations import service as stations
from forecourt.stations.models import Station
from forecourt.web.access import staff_page
from forecourt.web.forms import BAD_NUMBER, fen_or_none, positive_decimal
from forecourt.web.i18n import N_, gettext
from forecourt.web.routing import web_router
from forecourt.web.station.till import own_station, station_context, till_of
from forecourt.web.templating import render

router = web_router(prefix="/station")

SessionDep = Annotated[Session, Depends(get_session)]
Seller = Annotated[Actor, staff_page(Permission.POS_SELL, console="station")]

WALLET_CONSENT = "station_wallet_member"
"""Session key: who showed their member code to whom, and when (see ``_consent_for``)."""
WALLET_CONSENT_SECONDS = 120
"""How long a shown member code lets the wallet pay: about the code's own validity (SPEC M4)."""


def _give_consent(request: Request, actor: Actor, member: Member) -> None:
    request.session[WALLET_CONSENT] = {
        "member": str(member.id),
        "staff": actor.id,
        "at": int(utcnow().timestamp()),
    }


def _consent_for(request: Request, actor: Actor, member_id: str | None) -> bool:
    """The wallet may pay for ``member_id`` only if that member showed their member code to this
    staff member within the last two minutes (the API asks for the code in the sale itself)."""
    consent = request.session.get(WALLET_CONSENT)
    if not isinstance(consent, dict) or member_id is None:
        return False
    fresh = int(utcnow().timestamp()) - int(consent.get("at", 0)) <= WALLET_CONSENT_SECONDS
    return fresh and consent.get("member") == member_id and consent.get("staff") == actor.id


IDENTIFIER_KINDS: dict[str, str] = {
    "auto": N_("Detect"),
    "plate": N_("Plate"),
    "phone": N_("Phone"),
    "member_code": N_("Member code"),
    "card_no": N_("Card number"),
}
PAYMENT_METHODS: dict[str, str] = {
    "cash": N_("Cash"),
    "wechat": N_("WeChat Pay"),
    "alipay": N_("Alipay"),
    "unionpay": N_("UnionPay"),
    "bank_card": N_("Bank card"),
}
GOODS_CATEGORIES: dict[str, str] = {
    "shop": N_("Shop"),
    "car_wash": N_("Car wash"),
    "lubricant": N_("Lubricant"),
}
GOODS_ROWS = 3
NOTHING_TO_SELL = N_("Add fuel (litres or an amount) or a shop item to the basket.")
ALREADY_SOLD = N_("This sale is already recorded: the form was sent twice. Start the next sale.")
BAD_BASKET = N_("The basket is not valid: check the litres, quantities and prices.")


def guess_kind(value: str) -> Literal["phone", "plate", "member_code", "card_no"]:
    """What the attendant typed or the scanner read: a phone number, a plate (it starts with the
    province's character), the member code of the member's app, a card number (digits)."""
    text = value.strip().replace(" ", "").replace("-", "")
    if text.startswith("+86"):
        text = text[3:]
    if len(text) == 11 and text.isdigit() and text.startswith("1"):
        return "phone"
    if text and not text[0].isascii():
        return "plate"
    if split_code(text) is not None:
        return "member_code"
    if text.isdigit():
        return "card_no"
    return "member_code"


def _page(request: Request, session: Session, actor: Actor) -> Response:
    context = station_context(request, session, actor)
    station = context["station"]
    return render(
        request,
        "station/sell.html",
        {
            **context,
            "section": "/station",
            "station_open": stations.is_open_now(station) if station else False,
            "grades": stations.list_grades(session),
            "kinds": IDENTIFIER_KINDS,
            "categories": GOODS_CATEGORIES,
            "goods_rows": range(1, GOODS_ROWS + 1),
        },
    )


@router.get("")
def sell_page(request: Request, session: SessionDep, actor: Seller) -> Response:
    return _page(request, session, actor)


def _member_panel(
    request: Request, session: Session, actor: Actor, station: Station, member: Member | None
) -> Response:
    wallet_ok = member is not None and _consent_for(request, actor, str(member.id))
    context: dict[str, Any] = {"member_row": member, "wallet_ok": wallet_ok}
    if member is not None:
        now = utcnow()
        facts = facts_of(session, member)
        here = coupons.occasion(now, station.code, stations.region_code_of(session, station), facts.tier_code)
        context.update(
            name=members.personal(request.app.state.pii, member, reveal=False).name,
            facts=facts,
            coupons=coupons.usable_now(session, member.id, here),
        )
    return render(request, "station/_member_panel.html", context)


@router.post("/identify")
@reads_only
def identify(
    request: Request,
    session: SessionDep,
    actor: Seller,
    identifier: Annotated[str, Form()] = "",
    kind: Annotated[str, Form()] = "auto",
    walk_in: Annotated[str, Form()] = "",
) -> Response:
    """The member panel: the member a phone, plate, card number or scanned member code names (or
    nobody, for a sale to a non-member)."""
    station = own_station(request, session, actor)
    request.session.pop(WALLET_CONSENT, None)
    if walk_in or not identifier.strip():
        return _member_panel(request, session, actor, station, None)
    chosen = guess_kind(identifier) if kind not in IDENTIFIER_KINDS or kind == "auto" else kind
    member = members_identify.identify(
        session,
        request.app.state.pii,
        chosen,  # type: ignore[arg-type]
        identifier,
        utcnow(),
    )
    if chosen == "member_code":
        _give_consent(request, actor, member)
    return _member_panel(request, session, actor, station, member)


def _basket(
    session: Session,
    station: Station,
    *,
    member_id: str,
    grade: str,
    liters: str,
    amount: str,
    nozzle: str,
    sku: list[str],
    category: list[str],
    quantity: list[str],
    unit_price: list[str],
    coupon_mode: str,
    coupon: list[str],
    points_mode: str,
    points_amount: str,
    wallet: bool,
) -> QuoteRequest:
    lines: list[dict[str, Any]] = []
    litres = positive_decimal(liters)
    amount_fen = fen_or_none(amount)
    if grade and (litres is not None or amount_fen):
        if litres is None and amount_fen:
            litres = stations.volume_for_amount(
                session, station.id, stations.get_grade(session, grade).code, amount_fen, utcnow()
            )
        fuel: dict[str, Any] = {"line_id": "1", "kind": "fuel", "grade": grade, "liters": str(litres)}
        if nozzle.strip():
            fuel["nozzle"] = nozzle.strip()
        lines.append(fuel)
    for index, code in enumerate(sku):
        if not code.strip():
            continue
        count = positive_decimal(quantity[index] if index < len(quantity) else "") or Decimal(1)
        price = fen_or_none(unit_price[index] if index < len(unit_price) else "")
        if count != count.to_integral_value() or price is None:
            raise InvalidRequest(gettext(BAD_NUMBER))
        lines.append(
            {
                "line_id": str(len(lines) + 2),
                "kind": "goods",
                "sku": code.strip().upper(),
                "category": category[index] if index < len(category) else "shop",
                "quantity": int(count),
                "unit_price_fen": price,
            }
        )
    if not lines:
        raise InvalidRequest(gettext(NOTHING_TO_SELL))
    chosen: Literal["auto"] | list[str] = "auto"
    if coupon:
        chosen = coupon
    elif coupon_mode == "none":
        chosen = []
    points: Literal["auto"] | int = 0
    if points_mode == "max":
        points = "auto"
    elif points_mode == "amount":
        points = int(positive_decimal(points_amount) or 0)
    document = {
        "station": station.code,
        "member": {"type": "member_id", "value": member_id} if member_id else None,
        "lines": lines,
        "redeem": {
            "coupons": chosen if member_id else [],
            "points": points if member_id else 0,
            "wallet": wallet and bool(member_id),
        },
    }
    try:
        return QuoteRequest.model_validate(document)
    except ValidationError:
        raise InvalidRequest(gettext(BAD_BASKET)) from None


def _check_wallet(request: Request, actor: Actor, body: QuoteRequest) -> None:
    """The POS rule: the wallet pays only for the member who showed their member code."""
    if not body.redeem.wallet:
        return
    member_id = body.member.value if body.member else None
    if not _consent_for(request, actor, member_id):
        raise WalletNeedsMemberCode(identified_by=body.member.type if body.member else None)


def _discount(quote: Quote, source: str) -> int:
    return sum(d.amount_fen for d in quote.discounts if d.source == source)


@router.post("/quote")
@reads_only
def quote(
    request: Request,
    session: SessionDep,
    actor: Seller,
    member_id: Annotated[str, Form()] = "",
    grade: Annotated[str, Form()] = "",
    liters: Annotated[str, Form()] = "",
    amount: Annotated[str, Form()] = "",
    nozzle: Annotated[str, Form()] = "",
    sku: Annotated[list[str] | None, Form()] = None,
    category: Annotated[list[str] | None, Form()] = None,
    quantity: Annotated[list[str] | None, Form()] = None,
    unit_price: Annotated[list[str] | None, Form()] = None,
    coupon_mode: Annotated[str, Form()] = "auto",
    coupon: Annotated[list[str] | None, Form()] = None,
    points_mode: Annotated[str, Form()] = "none",
    points_amount: Annotated[str, Form()] = "",
    wallet: Annotated[str, Form()] = "",
) -> Response:
    """Price the basket with the POS service (changes nothing) and offer the commit form."""
    station = own_station(request, session, actor)
    body = _basket(
        session,
        station,
        member_id=member_id.strip(),
        grade=grade,
        liters=liters,
        amount=amount,
        nozzle=nozzle,
        sku=sku or [],
        category=category or [],
        quantity=quantity or [],
        unit_price=unit_price or [],
        coupon_mode=coupon_mode,
        coupon=coupon or [],
        points_mode=points_mode,
        points_amount=points_amount,
        wallet=bool(wallet),
    )
    _check_wallet(request, actor, body)
    quoted = pos.quote(session, request.app.state.pii, till_of(actor, station), body)
    return render(
        request,
        "station/_quote.html",
        {
            "quote": quoted,
            "tier_discount_fen": _discount(quoted, "tier"),
            "coupon_discount_fen": _discount(quoted, "coupon"),
            "coupon_labels": [d.label for d in quoted.discounts if d.source == "coupon"],
            "basket_json": body.model_dump_json(exclude_none=True),
            "pos_txn_id": f"C{uuid.uuid4().hex[:20].upper()}",
            "methods": PAYMENT_METHODS,
        },
    )


@router.post("/commit")
def commit(
    request: Request,
    session: SessionDep,
    actor: Seller,
    basket: Annotated[str, Form()] = "",
    pos_txn_id: Annotated[str, Form()] = "",
    method: Annotated[list[str] | None, Form()] = None,
    paid: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Commit the quoted basket with the payments taken; the receipt and the member's new balance."""
    station = own_station(request, session, actor)
    payments = []
    for index, name in enumerate(method or []):
        amount = fen_or_none((paid or [])[index] if index < len(paid or []) else "")
        if amount:
            payments.append({"method": name, "amount_fen": amount})
    try:
        document = json.loads(basket)
        body = CommitRequest.model_validate({**document, "pos_txn_id": pos_txn_id, "payments": payments})
    except (ValueError, TypeError, ValidationError):
        raise InvalidRequest(gettext(BAD_BASKET)) from None
    _check_wallet(request, actor, body)
    state = request.app.state
    try:
        sale = pos.commit(session, state.pii, state.ledger_signer, till_of(actor, station), body)
    except DuplicatePosTransaction as exc:
        raise DuplicatePosTransaction(gettext(ALREADY_SOLD), **exc.details) from None
    if body.redeem.wallet:
        request.session.pop(WALLET_CONSENT, None)  # one shown code, one sale
    return render(request, "station/_sale_done.html", {"sale": sale, "methods": PAYMENT_METHODS})
