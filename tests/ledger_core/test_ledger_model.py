"""A Hypothesis state machine drives the real ledger and a plain in-memory model of one member's
points through earn, spend, pending, post, void, expire and reverse, and checks they agree."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from forecourt.kit.actor import SYSTEM
from forecourt.ledger import points
from forecourt.ledger.errors import InsufficientPoints
from forecourt.ledger.models import Entry, LedgerAccount, Lot
from tests.members.support import make_member

START = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class ModelLot:
    remaining: int
    expires: datetime | None
    order: int


@dataclass
class Model:
    lots: list[ModelLot] = field(default_factory=list)
    pending: dict[int, int] = field(default_factory=dict)

    @property
    def available(self) -> int:
        return sum(lot.remaining for lot in self.lots)

    def take(self, amount: int, prefer: ModelLot | None = None) -> list[tuple[ModelLot, int]]:
        order = sorted(self.lots, key=lambda lot: (lot.expires is None, lot.expires or START, lot.order))
        if prefer is not None:
            order = [prefer] + [lot for lot in order if lot is not prefer]
        taken = []
        for lot in order:
            part = min(lot.remaining, amount)
            if part:
                lot.remaining -= part
                taken.append((lot, part))
                amount -= part
        return taken


def test_the_ledger_agrees_with_a_simple_model(database, member_pii, signer):
    class LedgerMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.session = database.session()
            self.outer = self.session.begin_nested()
            self.member = make_member(self.session, member_pii)
            self.model = Model()
            self.now = START
            self.count = 0
            self.earned: dict[str, ModelLot] = {}
            self.earned_amounts: dict[str, int] = {}
            self.spent: dict[str, list[tuple[ModelLot, int]]] = {}
            self.pending_postings: dict[int, object] = {}
            self.reversed: set[str] = set()

        def key(self) -> str:
            self.count += 1
            return f"k{self.count}"

        @rule(amount=st.integers(1, 500), days=st.one_of(st.none(), st.integers(1, 60)))
        def earn(self, amount: int, days: int | None) -> None:
            key = self.key()
            expires = self.now + timedelta(days=days) if days else None
            result = points.earn(
                self.session,
                signer,
                SYSTEM,
                self.member.id,
                amount,
                reason="earn",
                idempotency_key=key,
                occurred_at=self.now,
                expires_at=expires,
            )
            lot = ModelLot(amount, expires, self.count)
            self.model.lots.append(lot)
            self.earned[str(result.posting.id)] = lot
            self.earned_amounts[str(result.posting.id)] = amount

        @rule(amount=st.integers(1, 800))
        def spend(self, amount: int) -> None:
            try:
                result = points.spend(
                    self.session,
                    signer,
                    SYSTEM,
                    self.member.id,
                    amount,
                    reason="spend",
                    idempotency_key=self.key(),
                    occurred_at=self.now,
                )
            except InsufficientPoints:
                assert amount > self.model.available
                return
            assert amount <= self.model.available
            self.spent[str(result.posting.id)] = self.model.take(amount)

        @rule(amount=st.integers(1, 300))
        def earn_pending(self, amount: int) -> None:
            result = points.earn_pending(
                self.session,
                signer,
                SYSTEM,
                self.member.id,
                amount,
                reason="referral",
                idempotency_key=self.key(),
                occurred_at=self.now,
            )
            self.model.pending[self.count] = amount
            self.pending_postings[self.count] = result.posting.id

        @precondition(lambda self: bool(self.model.pending))
        @rule(data=st.data(), post=st.booleans())
        def settle(self, data: st.DataObject, post: bool) -> None:
            index = data.draw(st.sampled_from(sorted(self.model.pending)))
            amount = self.model.pending.pop(index)
            points.settle_pending(
                self.session,
                signer,
                SYSTEM,
                self.pending_postings[index],  # type: ignore[arg-type]
                outcome="post" if post else "void",
                occurred_at=self.now,
                expires_at=None,
            )
            if post:
                self.count += 1
                self.model.lots.append(ModelLot(amount, None, self.count))

        @rule(days=st.integers(1, 40))
        def expire(self, days: int) -> None:
            self.now += timedelta(days=days)
            points.expire_due(self.session, signer, SYSTEM, self.now)
            for lot in self.model.lots:
                if lot.expires is not None and lot.expires <= self.now:
                    lot.remaining = 0

        @precondition(lambda self: bool(set(self.spent) - self.reversed))
        @rule(data=st.data())
        def reverse_a_spend(self, data: st.DataObject) -> None:
            posting_id = data.draw(st.sampled_from(sorted(set(self.spent) - self.reversed)))
            points.reverse(
                self.session,
                signer,
                SYSTEM,
                uuid.UUID(posting_id),
                reason="refund",
                idempotency_key=self.key(),
                occurred_at=self.now,
            )
            self.reversed.add(posting_id)
            for lot, part in self.spent[posting_id]:
                lot.remaining += part

        @precondition(lambda self: bool(set(self.earned) - self.reversed))
        @rule(data=st.data())
        def reverse_an_earn(self, data: st.DataObject) -> None:
            posting_id = data.draw(st.sampled_from(sorted(set(self.earned) - self.reversed)))
            lot = self.earned[posting_id]
            amount = self.earned_amounts[posting_id]
            try:
                points.reverse(
                    self.session,
                    signer,
                    SYSTEM,
                    uuid.UUID(posting_id),
                    reason="refund",
                    idempotency_key=self.key(),
                    occurred_at=self.now,
                )
            except InsufficientPoints:
                assert amount > self.model.available
                return
            assert amount <= self.model.available
            self.reversed.add(posting_id)
            self.model.take(amount, prefer=lot)

        @invariant()
        def balances_agree(self) -> None:
            balances = points.balances(self.session, self.member.id)
            assert balances.available == self.model.available
            assert balances.pending == sum(self.model.pending.values())
            lots = self.session.scalars(
                select(Lot.remaining)
                .join(LedgerAccount, LedgerAccount.id == Lot.account_id)
                .where(LedgerAccount.member_id == self.member.id)
                .order_by(Lot.created_at, Lot.id)
            ).all()
            assert list(lots) == [lot.remaining for lot in sorted(self.model.lots, key=lambda lot: lot.order)]
            assert sum(lots) == balances.available
            assert self.session.scalar(select(func.coalesce(func.sum(Entry.amount), 0))) == 0

        def teardown(self) -> None:
            self.outer.rollback()
            self.session.close()

    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=25,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
