"""Reconciliation (SPEC W5): providers' bill files imported, compared with our payments each day,
differences queued for finance.

Invariants:

- A file is imported once: its SHA-256 is unique, so importing the same file again returns the
  statement already there and changes nothing.
- A business day is the chain's day (Asia/Shanghai): an intent belongs to the day its ``paid_at``
  falls in there, a refund to the day it completed (or was asked for, while not yet completed).
- Reconciling a provider's day compares the lines of that day's statements (a later file's line
  replaces an earlier one's with the same reference) with our paid intents and refunds. Each
  difference is one item, unique per provider, day, kind and reference. Re-running updates the
  open ones, opens new ones, closes (``resolution = "matched"``) an open one whose difference has
  gone, and never touches a resolved one. The run's summary is replaced.
- A resolution is a bookkeeping decision and moves no money, except ``credited_member`` on a
  top-up the provider collected and we never saw paid: the intent is marked paid as the provider
  says (at the statement's time) and the member's wallet is credited through ``wallet.top_up``
  keyed ``recon:{item.id}``. Every resolution is audited.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from forecourt.audit import service as audit
from forecourt.kit.actor import Actor
from forecourt.kit.clock import chain_zone, utcnow
from forecourt.kit.ids import new_id
from forecourt.ledger.chain import Signer
from forecourt.payments import repository as payments_repository
from forecourt.pos import service as pos
from forecourt.reconciliation import domain, repository
from forecourt.reconciliation.errors import (
    InvalidStatement,
    ItemAlreadyResolved,
    ReconciliationItemNotFound,
    ResolutionNotAllowed,
)
from forecourt.reconciliation.models import (
    ProviderStatement,
    ReconciliationItem,
    ReconciliationRun,
    StatementLine,
)
from forecourt.wallet import service as wallet

RECONCILER = "reconcile"


@dataclass(frozen=True)
class Imported:
    statement: ProviderStatement
    duplicate: bool


def import_statement(
    session: Session,
    actor: Actor,
    *,
    provider: str,
    business_date: date,
    file_name: str,
    data: bytes,
) -> Imported:
    """Store a provider's bill file and its lines (once per file content)."""
    digest = hashlib.sha256(data).hexdigest()
    existing = repository.statement_by_digest(session, digest)
    if existing is not None:
        return Imported(existing, duplicate=True)
    try:
        parsed = domain.parse(provider, data, chain_zone())
    except domain.StatementFormatError as exc:
        raise InvalidStatement(str(exc), provider=provider, line=exc.line) from exc
    statement = ProviderStatement(
        id=new_id(),
        provider=provider,
        business_date=business_date,
        file_name=file_name[:200],
        digest=digest,
        lines=len(parsed),
        total_fen=sum(
            line.amount_fen if line.kind == domain.PAYMENT else -line.amount_fen for line in parsed
        ),
        imported_at=utcnow(),
        imported_by=actor.label[:140],
    )
    session.add(statement)
    session.flush()
    session.add_all(
        StatementLine(
            id=new_id(),
            statement_id=statement.id,
            provider=provider,
            kind=line.kind,
            out_trade_no=line.out_trade_no[:64],
            provider_txn_id=(line.provider_txn_id or "")[:64] or None,
            out_refund_no=(line.out_refund_no or "")[:64] or None,
            amount_fen=line.amount_fen,
            occurred_at=line.occurred_at,
            raw=line.raw,
        )
        for line in parsed
    )
    session.flush()
    audit.record(
        session,
        actor,
        "reconciliation.import",
        "provider_statements",
        statement.id,
        after={
            "provider": provider,
            "business_date": business_date.isoformat(),
            "file_name": statement.file_name,
            "lines": statement.lines,
            "total_fen": statement.total_fen,
        },
    )
    return Imported(statement, duplicate=False)


def _reference(line: StatementLine) -> str:
    return (line.out_refund_no or line.out_trade_no) if line.kind == domain.REFUND else line.out_trade_no


def provider_lines(session: Session, provider: str, day: date) -> dict[tuple[str, str], StatementLine]:
    """The day's lines by (kind, reference); a later statement's line replaces an earlier one's."""
    found: dict[tuple[str, str], StatementLine] = {}
    for statement in repository.statements_of_day(session, provider, day):
        for line in repository.lines_of(session, statement.id):
            found[(line.kind, _reference(line))] = line
    return found


def provider_amounts(session: Session, provider: str, day: date) -> dict[tuple[str, str], int]:
    """The day's amounts by (kind, reference): summed within a statement (a reference listed twice
    counts twice), a later statement's replacing an earlier one's."""
    found: dict[tuple[str, str], int] = {}
    for statement in repository.statements_of_day(session, provider, day):
        this: dict[tuple[str, str], int] = {}
        for line in repository.lines_of(session, statement.id):
            key = (line.kind, _reference(line))
            this[key] = this.get(key, 0) + line.amount_fen
        found.update(this)
    return found


def reconcile(session: Session, provider: str, day: date) -> ReconciliationRun:
    """Compare a provider's day with ours and record the differences (see the module's invariants)."""
    now = utcnow()
    start, end = domain.day_bounds(day, chain_zone())
    theirs = [
        domain.Entry(kind, reference, amount)
        for (kind, reference), amount in provider_amounts(session, provider, day).items()
    ]
    ours = (
        [
            domain.Entry(domain.PAYMENT, intent.out_trade_no, intent.amount_fen)
            for intent in repository.paid_intents(session, provider, start, end)
        ]
        + [
            domain.Entry(domain.PAYMENT, reference, amount)  # paid at the pump by QR code or card
            for reference, amount in pos.external_payments_between(session, provider, start, end)
        ]
        + [
            domain.Entry(domain.REFUND, refund.out_refund_no, refund.amount_fen)
            for refund in repository.refunds(session, provider, start, end)
        ]
    )
    outcomes = domain.compare(ours, theirs)
    items = {(item.kind, item.reference): item for item in repository.items_of_day(session, provider, day)}
    opened = updated = closed = 0
    for outcome in outcomes:
        item = items.pop((outcome.kind, outcome.reference), None)
        if outcome.classification == domain.MATCHED:
            if item is not None and item.status == "open":
                _close_as_matched(item, now)
                closed += 1
            continue
        if item is None:
            session.add(
                ReconciliationItem(
                    id=new_id(),
                    business_date=day,
                    provider=provider,
                    kind=outcome.kind,
                    classification=outcome.classification,
                    reference=outcome.reference[:64],
                    ours_fen=outcome.ours_fen,
                    theirs_fen=outcome.theirs_fen,
                    status="open",
                    found_at=now,
                )
            )
            opened += 1
        elif item.status == "open" and (
            item.classification,
            item.ours_fen,
            item.theirs_fen,
        ) != (outcome.classification, outcome.ours_fen, outcome.theirs_fen):
            item.classification = outcome.classification
            item.ours_fen, item.theirs_fen = outcome.ours_fen, outcome.theirs_fen
            updated += 1
    for item in items.values():  # neither side has it any more (a statement was replaced)
        if item.status == "open":
            _close_as_matched(item, now)
            closed += 1
    summary = domain.summarise(outcomes)
    summary["items"] = {"opened": opened, "updated": updated, "closed": closed}
    run = session.get(ReconciliationRun, (provider, day))
    if run is None:
        run = ReconciliationRun(provider=provider, business_date=day, summary=summary, ran_at=now)
        session.add(run)
    else:
        run.summary, run.ran_at = summary, now
    session.flush()
    return run


def _close_as_matched(item: ReconciliationItem, now: datetime) -> None:
    item.status, item.resolution, item.resolved_by, item.resolved_at = "resolved", "matched", RECONCILER, now
    item.note = "Matched when reconciled again."


def providers_to_reconcile(session: Session, day: date) -> list[str]:
    return repository.providers_with_statements(session, day)


# --- review --------------------------------------------------------------------------------------


def list_items(
    session: Session,
    *,
    status: str | None = None,
    provider: str | None = None,
    business_date: date | None = None,
    classification: str | None = None,
    after: tuple[datetime, uuid.UUID] | None = None,
    limit: int = 50,
) -> list[ReconciliationItem]:
    return repository.list_items(
        session,
        status=status,
        provider=provider,
        business_date=business_date,
        classification=classification,
        after=after,
        limit=limit,
    )


def _state(item: ReconciliationItem) -> dict[str, Any]:
    return {"status": item.status, "resolution": item.resolution, "note": item.note}


def resolve(
    session: Session,
    signer: Signer,
    actor: Actor,
    item_id: uuid.UUID,
    *,
    resolution: str,
    note: str,
) -> ReconciliationItem:
    """Finance's decision on a difference (see the module's invariants)."""
    item = repository.item_for_update(session, item_id)
    if item is None:
        raise ReconciliationItemNotFound(item_id=str(item_id))
    if item.status != "open":
        raise ItemAlreadyResolved(item_id=str(item.id), resolution=item.resolution)
    if resolution not in domain.RESOLUTIONS:
        raise ResolutionNotAllowed(resolution=resolution, allowed=list(domain.RESOLUTIONS))
    before = _state(item)
    credited: dict[str, Any] = {}
    if resolution == "credited_member":
        credited = _credit_member(session, signer, actor, item)
    now = utcnow()
    item.status, item.resolution, item.note = "resolved", resolution, note[:500]
    item.resolved_by, item.resolved_at = actor.label[:140], now
    session.flush()
    audit.record(
        session,
        actor,
        "reconciliation.resolve",
        "reconciliation_items",
        item.id,
        before=before,
        after={**_state(item), **credited},
    )
    return item


def _credit_member(
    session: Session, signer: Signer, actor: Actor, item: ReconciliationItem
) -> dict[str, Any]:
    """The provider collected a top-up we never saw paid: pay the intent as it says and credit the wallet."""
    if item.classification != domain.MISSING_IN_OURS or item.kind != domain.PAYMENT or not item.theirs_fen:
        raise ResolutionNotAllowed(
            "Only a top-up the provider collected and we have not recorded can be credited.",
            classification=item.classification,
            kind=item.kind,
        )
    intent = payments_repository.intent_by_trade_no_for_update(session, item.reference)
    if intent is None or intent.purpose != "top_up" or intent.member_id is None:
        raise ResolutionNotAllowed("No top-up of a member has this order number.", reference=item.reference)
    if intent.provider != item.provider or intent.status not in ("created", "closed", "failed"):
        raise ResolutionNotAllowed(status=intent.status, provider=intent.provider)
    if intent.amount_fen != item.theirs_fen:
        raise ResolutionNotAllowed(
            "The provider's amount differs from the top-up's.",
            ours_fen=intent.amount_fen,
            theirs_fen=item.theirs_fen,
        )
    importers = {
        s.imported_by for s in repository.statements_of_day(session, item.provider, item.business_date)
    }
    if actor.label in importers:  # four eyes: the statement is a file one person uploaded
        raise ResolutionNotAllowed(
            "Whoever imported the statement cannot credit a member from it; ask a colleague.",
            imported_by=sorted(importers),
        )
    line = provider_lines(session, item.provider, item.business_date).get((item.kind, item.reference))
    paid_at = line.occurred_at if line is not None else utcnow()
    top_up = wallet.top_up(
        session,
        signer,
        actor,
        intent.member_id,
        intent.amount_fen,
        method=intent.provider,
        idempotency_key=f"recon:{item.id}",
        reference=intent.out_trade_no,
        station=intent.station,
        occurred_at=paid_at,
    )
    intent.status, intent.paid_at = "paid", paid_at
    intent.provider_txn_id = line.provider_txn_id if line is not None else intent.provider_txn_id
    intent.details = {
        **intent.details,
        "top_up_id": str(top_up.id),
        "bonus_fen": top_up.bonus_fen,
        "paid_by": f"recon:{item.id}",
    }
    session.flush()
    return {"intent_id": str(intent.id), "top_up_id": str(top_up.id), "credited_fen": intent.amount_fen}


def summary(session: Session, day: date, provider: str | None = None) -> list[ReconciliationRun]:
    return repository.runs(session, day, provider)


def open_count(session: Session, day: date, provider: str | None = None) -> int:
    return repository.count_open(session, day, provider)
