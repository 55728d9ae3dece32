"""Top-up intents (members), provider notifications (public, verified by signature), refunds and
the staff's view of payments."""

from __future__ import annotations

import uuid
from typing import Annotated

import structlog
from fastapi import BackgroundTasks, Depends, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from forecourt.auth.dependencies import PUBLIC, client_ip, require
from forecourt.auth.permissions import Permission
from forecourt.db.idempotency import Idempotent, idempotency
from forecourt.db.session import Database, api_router, get_session
from forecourt.kit.actor import Actor
from forecourt.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, decode_time_cursor, time_page
from forecourt.ledger.chain import Signer
from forecourt.members.dependencies import CurrentMember
from forecourt.payments import config, service, step_up
from forecourt.payments.models import PaymentIntent, PaymentRefund
from forecourt.payments.schemas import (
    IntentRead,
    ProviderName,
    RefundCreate,
    RefundRead,
    SandboxPayRead,
    TopUpIntentCreate,
    TopUpIntentRead,
)
from forecourt.payments.step_up import DeviceVerified, DeviceVerify, StepUpRequest, StepUpSent
from forecourt.stations import service as stations

log = structlog.get_logger(__name__)

router = api_router(prefix="/api/v1", tags=["payments"])

SessionDep = Annotated[Session, Depends(get_session)]


def payments_of(request: Request) -> config.Payments:
    """The providers on offer: ``app.state.payments`` if set (tests), else the environment's."""
    found = getattr(request.app.state, "payments", None)
    return found if isinstance(found, config.Payments) else config.configured()


PaymentsDep = Annotated[config.Payments, Depends(payments_of)]


def _intent(intent: PaymentIntent) -> IntentRead:
    return IntentRead(
        id=intent.id,
        out_trade_no=intent.out_trade_no,
        member_id=intent.member_id,
        purpose=intent.purpose,
        provider=intent.provider,
        amount_fen=intent.amount_fen,
        refunded_fen=intent.refunded_fen,
        status=intent.status,
        created_at=intent.created_at,
        paid_at=intent.paid_at,
        closed_at=intent.closed_at,
    )


def _top_up_intent(intent: PaymentIntent) -> TopUpIntentRead:
    return TopUpIntentRead(**_intent(intent).model_dump(), checkout=dict(intent.details.get("checkout", {})))


def _refund(refund: PaymentRefund) -> RefundRead:
    return RefundRead(
        id=refund.id,
        intent_id=refund.intent_id,
        out_refund_no=refund.out_refund_no,
        amount_fen=refund.amount_fen,
        status=refund.status,
        reason=refund.reason,
        created_at=refund.created_at,
        completed_at=refund.completed_at,
    )


DeviceId = Annotated[
    str,
    Header(
        alias="X-Device-Id",
        min_length=1,
        max_length=64,
        pattern=step_up.DEVICE_ID,
        description="The member app's installation id (stable per device; letters, digits, . _ : -).",
    ),
]


@router.post("/me/wallet/top-up-intents", response_model=TopUpIntentRead, status_code=201)
def create_top_up_intent(
    body: TopUpIntentCreate,
    member: CurrentMember,
    session: SessionDep,
    payments: PaymentsDep,
    device_id: DeviceId,
) -> TopUpIntentRead:
    """Start a top-up: the intent and what the app needs to pay it; the wallet is credited when
    the provider's notification says it was paid.

    The app sends its device id in ``X-Device-Id`` (required: leaving it out must not skip the
    check). The risk rules apply first: on a device the member never verified the answer is
    ``risk_step_up_required`` (409) — ask for a code with ``POST /api/v1/me/devices/step-up``,
    send it to ``POST /api/v1/me/devices/verify``, then try again; past a limit, ``risk_rejected``."""
    intent, _ = service.create_top_up_intent(
        session, payments, member.id, body.amount_fen, body.provider, device_id=device_id
    )
    return _top_up_intent(intent)


@router.post("/me/devices/step-up", response_model=StepUpSent, status_code=202)
def send_step_up_code(
    body: StepUpRequest, request: Request, member: CurrentMember, session: SessionDep
) -> StepUpSent:
    """Text a 6-digit code for this device to the member's own phone (5 minutes, 5 tries, a new
    one at most every 60 s)."""
    state = request.app.state
    resend_after = step_up.send_device_code(
        session,
        state.pii,
        state.sms_provider,
        state.sms_limits,
        member,
        body.device_id,
        ip=client_ip(request),
        brand=stations.brand_name(session),
    )
    return StepUpSent(device_id=body.device_id, resend_after=resend_after)


@router.post("/me/devices/verify", response_model=DeviceVerified)
def verify_device(
    body: DeviceVerify, request: Request, member: CurrentMember, session: SessionDep
) -> DeviceVerified:
    """The code texted for this device: when right, payments from the device pass the step-up."""
    step_up.verify_device(session, request.app.state.pii, member, body.device_id, body.code)
    return DeviceVerified(device_id=body.device_id, verified=True)


@router.get("/me/wallet/top-up-intents/{intent_id}", response_model=TopUpIntentRead)
def my_top_up_intent(intent_id: uuid.UUID, member: CurrentMember, session: SessionDep) -> TopUpIntentRead:
    return _top_up_intent(service.get_intent(session, intent_id, member_id=member.id))


def _deliver(
    database: Database, signer: Signer, payments: config.Payments, headers: dict[str, str], body: bytes
) -> None:
    """The sandbox's asynchronous notification, handled exactly as one arriving over HTTP."""
    receipt = database.run(
        lambda session: service.receive_notification(session, signer, payments, "sandbox", headers, body)
    )
    log.info("sandbox_notification_delivered", outcome=receipt.outcome)


@router.post(
    "/me/wallet/top-up-intents/{intent_id}/sandbox-pay", response_model=SandboxPayRead, status_code=202
)
def sandbox_pay(
    intent_id: uuid.UUID,
    request: Request,
    background: BackgroundTasks,
    member: CurrentMember,
    session: SessionDep,
    payments: PaymentsDep,
) -> SandboxPayRead:
    """Play the member paying a sandbox intent: the sandbox's signed notification is delivered to
    our notify handler after this answer (asynchronously, in its own transaction)."""
    headers, body = service.simulate_sandbox_payment(session, payments, member.id, intent_id)
    background.add_task(
        _deliver, request.app.state.database, request.app.state.ledger_signer, payments, headers, body
    )
    return SandboxPayRead(intent_id=intent_id, notification="sent")


@router.post("/payments/notify/{provider}", dependencies=[PUBLIC], response_class=Response)
async def notify(
    provider: ProviderName, request: Request, session: SessionDep, payments: PaymentsDep
) -> Response:
    """A provider's asynchronous notification. Public: trusted only if its signature verifies.
    Answered in the provider's format (WeChat Pay 204 / FAIL JSON, Alipay ``success`` / ``fail`` …)."""
    body = await request.body()
    receipt = await run_in_threadpool(
        service.receive_notification,
        session,
        request.app.state.ledger_signer,
        payments,
        provider,
        dict(request.headers),
        body,
    )
    log.info("payment_notification", provider=provider, outcome=receipt.outcome, duplicate=receipt.duplicate)
    answer = payments.provider(provider).answer(receipt.accepted)
    return Response(answer.body, status_code=answer.status, media_type=answer.media_type)


def _staff_scope(request: Request) -> str:
    actor: Actor = request.state.actor
    return f"staff:{actor.id}"


@router.post("/payments/intents/{intent_id}/refund", response_model=RefundRead, status_code=201)
def refund_intent(
    intent_id: uuid.UUID,
    body: RefundCreate,
    request: Request,
    session: SessionDep,
    payments: PaymentsDep,
    actor: Annotated[Actor, require(Permission.PAYMENTS_REFUND)],
    idempotent: Annotated[Idempotent, Depends(idempotency(_staff_scope))],
) -> JSONResponse:
    """Refund (part of) a paid top-up through its provider (``Idempotency-Key`` required): the
    principal leaves the wallet (refused if spent), the bonus in proportion as far as it is left."""
    if idempotent.replay is not None:
        return idempotent.replay
    refund = service.refund_top_up(
        session,
        request.app.state.ledger_signer,
        payments,
        actor,
        intent_id,
        amount_fen=body.amount_fen,
        reason=body.reason,
        request_key=f"{_staff_scope(request)}:{request.headers.get('idempotency-key')}",
    )
    return idempotent.complete(session, _refund(refund), status=201)


@router.get("/payments/intents", response_model=Page[IntentRead])
def list_intents(
    session: SessionDep,
    _: Annotated[Actor, require(Permission.PAYMENTS_READ)],
    member_id: uuid.UUID | None = None,
    status: str | None = Query(default=None, max_length=16),
    provider: str | None = Query(default=None, max_length=16),
    cursor: str | None = None,
    limit: int = Query(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
) -> Page[IntentRead]:
    rows = service.list_intents(
        session,
        member_id=member_id,
        status=status,
        provider=provider,
        after=decode_time_cursor(cursor),
        limit=limit,
    )
    items, next_cursor = time_page(rows, limit, lambda row: (row.created_at, row.id))
    return Page[IntentRead](items=[_intent(row) for row in items], next_cursor=next_cursor)
