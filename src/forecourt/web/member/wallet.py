"""Member H5 wallet: balances (principal, bonus, fuel credit), the latest movements, and top-up.

A top-up is the member API's: ``payments.service.create_top_up_intent`` (risk rules first; this
browser is the member's device, kept in the cookie session) with the SANDBOX provider, whose pay step
(``simulate_sandbox_payment``) hands back the signed notification the sandbox sends; it is delivered
to the same ``receive_notification`` handler after the answer, in its own transaction, exactly as the
API's ``…/sandbox-pay`` does. The payment page polls until the notification has credited the wallet.

A browser the member never verified meets the SMS step-up when the risk rule is on: a code to the
member's own phone (``payments.step_up``), then the top-up again.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import BackgroundTasks, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from forecourt.db.session import Database, get_session
from forecourt.kit.clock import utcnow
from forecourt.ledger.chain import Signer
from forecourt.payments import config, service, step_up
from forecourt.payments.providers.sandbox import Sandbox
from forecourt.risk.errors import RiskStepUpRequired
from forecourt.stations import service as stations
from forecourt.wallet import fuel_credit, statement
from forecourt.wallet import service as wallet
from forecourt.wallet.domain import bonus_for
from forecourt.web.access import CurrentWebMember, client_ip
from forecourt.web.i18n import N_
from forecourt.web.member.kit import device_id, go, in_member_words, page, pii_of
from forecourt.web.routing import web_router
from forecourt.web.templating import render

router = web_router(prefix="/m")

SessionDep = Annotated[Session, Depends(get_session)]
PROVIDER = "sandbox"
CHOICES_FEN = (10_000, 20_000, 50_000, 100_000)
REASONS = {
    "wallet.top_up": N_("Top-up"),
    "wallet.sale": N_("Paid at the pump"),
    "wallet.refund": N_("Refund"),
    "wallet.top_up_refund": N_("Top-up refunded"),
    "wallet.fuel_credit.grant": N_("Fuel credit received"),
    "wallet.fuel_credit.sale": N_("Fuel credit used"),
    "wallet.fuel_credit.refund": N_("Fuel credit refunded"),
    "wallet.fuel_credit.expiry": N_("Fuel credit expired"),
    "wallet.recharge_card": N_("Recharge card"),
}


def payments_of(request: Request) -> config.Payments:
    """The providers on offer, as the payments API finds them (``app.state.payments`` in tests)."""
    found = getattr(request.app.state, "payments", None)
    return found if isinstance(found, config.Payments) else config.configured()


def _sandbox_offered(payments: config.Payments) -> bool:
    return isinstance(payments.providers.get(PROVIDER), Sandbox)


@router.get("/wallet")
def my_wallet(request: Request, session: SessionDep, member: CurrentWebMember) -> Response:
    """Balances, the latest movements and the top-up choices with their bonus."""
    tiers = wallet.bonus_tiers(session)
    return render(
        request,
        "member/wallet.html",
        {
            "section": "/m/wallet",
            "purse": wallet.balances(session, member.id),
            "credit_lots": fuel_credit.usable_lots(session, member.id, utcnow()),
            "entries": statement.recent_entries(session, member.id, limit=20),
            "reasons": REASONS,
            "choices": [(amount, bonus_for(tiers, amount)) for amount in CHOICES_FEN],
            "bonus_tiers": tiers,
            "top_up_open": _sandbox_offered(payments_of(request)),
        },
    )


@router.post("/wallet/top-up")
def top_up(
    request: Request,
    session: SessionDep,
    member: CurrentWebMember,
    amount_fen: Annotated[int, Form(ge=0, le=service.MAX_TOP_UP_FEN)] = 0,
) -> Response:
    """Start a sandbox top-up and go to its payment step (or the device step-up first)."""
    try:
        with in_member_words():
            intent, _ = service.create_top_up_intent(
                session, payments_of(request), member.id, amount_fen, PROVIDER, device_id=device_id(request)
            )
    except RiskStepUpRequired:
        # The refusal is logged (it keeps its changes); the driver proves it is them by SMS.
        return go(request, "/m/wallet/device")
    return go(request, f"/m/wallet/pay/{intent.id}")


@router.get("/wallet/pay/{intent_id}")
def payment(
    request: Request, intent_id: uuid.UUID, session: SessionDep, member: CurrentWebMember
) -> Response:
    """The sandbox cashier: the amount and a pay button; once paid, the credited wallet."""
    with in_member_words():
        intent = service.get_intent(session, intent_id, member_id=member.id)
    tiers = wallet.bonus_tiers(session)
    context = {
        "section": "/m/wallet",
        "intent": intent,
        "bonus_fen": bonus_for(tiers, intent.amount_fen),
        "purse": wallet.balances(session, member.id),
    }
    return page(request, "member/pay.html", context, fragment="member/_pay_status.html")


def _deliver(
    database: Database, signer: Signer, payments: config.Payments, headers: dict[str, str], body: bytes
) -> None:
    """The sandbox's notification, handled exactly as one arriving over HTTP (own transaction)."""
    database.run(
        lambda session: service.receive_notification(session, signer, payments, PROVIDER, headers, body)
    )


@router.post("/wallet/pay/{intent_id}")
def pay(
    request: Request,
    intent_id: uuid.UUID,
    background: BackgroundTasks,
    session: SessionDep,
    member: CurrentWebMember,
) -> Response:
    """Pay in the sandbox: its signed notification is delivered after this answer."""
    payments = payments_of(request)
    with in_member_words():
        headers, body = service.simulate_sandbox_payment(session, payments, member.id, intent_id)
    state = request.app.state
    background.add_task(_deliver, state.database, state.ledger_signer, payments, headers, body)
    return go(request, f"/m/wallet/pay/{intent_id}?poll=1")


@router.get("/wallet/device")
def device_step_up(request: Request, member: CurrentWebMember, sent: bool = False) -> Response:
    """This browser is new for payments: confirm with a code texted to the member's phone."""
    return render(request, "member/device.html", {"section": "/m/wallet", "sent": sent})


@router.post("/wallet/device/code")
def send_device_code(request: Request, session: SessionDep, member: CurrentWebMember) -> Response:
    state = request.app.state
    with in_member_words():
        step_up.send_device_code(
            session,
            state.pii,
            state.sms_provider,
            state.sms_limits,
            member,
            device_id(request),
            ip=client_ip(request),
            brand=stations.brand_name(session),
        )
    return go(request, "/m/wallet/device?sent=true")


@router.post("/wallet/device/verify")
def verify_device(
    request: Request,
    session: SessionDep,
    member: CurrentWebMember,
    code: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    with in_member_words():
        step_up.verify_device(session, pii_of(request), member, device_id(request), code.strip())
    return go(request, "/m/wallet?device=verified")
