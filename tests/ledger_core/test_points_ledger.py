"""The points ledger: lots, pending, reversals, expiry, idempotency, and that it never overdraws,
loses or invents a point — also under real concurrency — and that tampering is detected."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select, text, update

from forecourt.jobs.registry import run_job
from forecourt.kit.actor import SYSTEM
from forecourt.ledger import engine, points, verify
from forecourt.ledger.chain import signer_for
from forecourt.ledger.errors import (
    AlreadyReversed,
    IdempotencyKeyConflict,
    InsufficientBalance,
    InsufficientPoints,
    InvalidAmount,
    PendingAlreadySettled,
)
from forecourt.ledger.models import Digest, Entry, LedgerAccount, Lot, LotMovement, Posting
from tests.members.support import make_member

NOW = datetime(2026, 6, 1, 4, 0, tzinfo=UTC)


def _earn(session, signer, member, amount, key, days=700, expires=True):
    return points.earn(
        session,
        signer,
        SYSTEM,
        member.id,
        amount,
        reason="test.earn",
        idempotency_key=key,
        occurred_at=NOW,
        expires_at=NOW + timedelta(days=days) if expires else None,
    )


def _spend(session, signer, member, amount, key):
    return points.spend(
        session, signer, SYSTEM, member.id, amount, reason="test.spend", idempotency_key=key, occurred_at=NOW
    )


def _lots(session, member):
    return [
        (lot.remaining, lot.expires_at)
        for lot in session.scalars(
            select(Lot)
            .join(LedgerAccount, LedgerAccount.id == Lot.account_id)
            .where(LedgerAccount.member_id == member.id)
            .order_by(Lot.created_at)
            .execution_options(populate_existing=True)
        )
    ]


def _assert_sound(session, signer):
    total = session.scalar(select(func.coalesce(func.sum(Entry.amount), 0)))
    assert total == 0
    report = verify.verify(session, verify.public_keys(signer, ""))
    assert report.intact, report.problems


def test_spending_takes_the_earliest_expiring_lots_first(session, signer, member_pii):
    member = make_member(session, member_pii)
    _earn(session, signer, member, 500, "e1", days=300)
    _earn(session, signer, member, 300, "e2", days=30)
    _earn(session, signer, member, 200, "e3", expires=False)
    _spend(session, signer, member, 600, "s1")
    assert [remaining for remaining, _ in _lots(session, member)] == [200, 0, 200]
    assert points.balances(session, member.id).available == 400
    _assert_sound(session, signer)


def test_an_overdraft_is_refused_and_changes_nothing(session, signer, member_pii):
    member = make_member(session, member_pii)
    _earn(session, signer, member, 100, "e1")
    postings = session.scalar(select(func.count()).select_from(Posting))
    with pytest.raises(InsufficientPoints):
        _spend(session, signer, member, 101, "s1")
    assert session.scalar(select(func.count()).select_from(Posting)) == postings
    assert points.balances(session, member.id).available == 100


@pytest.mark.parametrize("amount", [0, -5, True])
def test_amounts_must_be_positive_whole_points(session, signer, member_pii, amount):
    member = make_member(session, member_pii)
    with pytest.raises(InvalidAmount):
        _earn(session, signer, member, amount, f"bad{amount}")


def test_a_retried_key_replays_and_a_different_request_under_it_conflicts(session, signer, member_pii):
    member = make_member(session, member_pii)
    first = _earn(session, signer, member, 100, "same")
    again = _earn(session, signer, member, 100, "same")
    assert again.replayed
    assert again.posting.id == first.posting.id
    assert points.balances(session, member.id).available == 100
    with pytest.raises(IdempotencyKeyConflict):
        _earn(session, signer, member, 101, "same")


def test_pending_points_are_posted_or_voided_once(session, signer, member_pii):
    member = make_member(session, member_pii)
    pending = points.earn_pending(
        session, signer, SYSTEM, member.id, 1000, reason="referral", idempotency_key="p1", occurred_at=NOW
    )
    assert points.balances(session, member.id) == points.Balances(available=0, pending=1000)
    with pytest.raises(InsufficientPoints):
        _spend(session, signer, member, 1, "s1")
    points.settle_pending(
        session, signer, SYSTEM, pending.posting.id, outcome="post", occurred_at=NOW, expires_at=None
    )
    assert points.balances(session, member.id) == points.Balances(available=1000, pending=0)
    with pytest.raises(PendingAlreadySettled):
        points.settle_pending(session, signer, SYSTEM, pending.posting.id, outcome="void", occurred_at=NOW)
    voided = points.earn_pending(
        session, signer, SYSTEM, member.id, 50, reason="referral", idempotency_key="p2", occurred_at=NOW
    )
    points.settle_pending(session, signer, SYSTEM, voided.posting.id, outcome="void", occurred_at=NOW)
    assert points.balances(session, member.id) == points.Balances(available=1000, pending=0)
    _assert_sound(session, signer)


def test_a_reversed_spend_returns_points_to_their_own_lots(session, signer, member_pii):
    member = make_member(session, member_pii)
    _earn(session, signer, member, 100, "e1", days=10)
    _earn(session, signer, member, 100, "e2", days=20)
    spent = _spend(session, signer, member, 150, "s1")
    assert [r for r, _ in _lots(session, member)] == [0, 50]
    points.reverse(
        session, signer, SYSTEM, spent.posting.id, reason="refund", idempotency_key="r1", occurred_at=NOW
    )
    assert [r for r, _ in _lots(session, member)] == [100, 100]
    with pytest.raises(AlreadyReversed):
        points.reverse(
            session, signer, SYSTEM, spent.posting.id, reason="refund", idempotency_key="r2", occurred_at=NOW
        )
    earned = _earn(session, signer, member, 30, "e3")
    _spend(session, signer, member, 230, "s2")
    with pytest.raises(InsufficientPoints):
        points.reverse(
            session, signer, SYSTEM, earned.posting.id, reason="refund", idempotency_key="r3", occurred_at=NOW
        )
    _assert_sound(session, signer)


def test_expiry_takes_only_due_lots_and_runs_once(session, signer, member_pii):
    member = make_member(session, member_pii)
    _earn(session, signer, member, 100, "e1", days=10)
    _earn(session, signer, member, 70, "e2", days=40)
    _spend(session, signer, member, 30, "s1")
    at = NOW + timedelta(days=11)
    first = points.expire_due(session, signer, SYSTEM, at, limit=10)
    assert (first.lots, first.points) == (1, 70)
    assert points.expire_due(session, signer, SYSTEM, at).points == 0
    assert points.balances(session, member.id).available == 70
    assert points.program_balance(session, "expiry") >= 70
    _assert_sound(session, signer)


# --- tamper evidence -----------------------------------------------------------------------------


def _small_ledger(session, signer, member_pii):
    members = [make_member(session, member_pii) for _ in range(3)]
    for n, member in enumerate(members):
        _earn(session, signer, member, 100 + n, f"t-e{n}")
        _spend(session, signer, member, 10, f"t-s{n}")
    session.flush()
    return members


def _problems(session, signer):
    session.expire_all()
    return verify.verify(session, verify.public_keys(signer, "")).problems


@pytest.mark.parametrize(
    "tamper",
    [
        "UPDATE ledger_postings SET reason = 'test.earm' WHERE idempotency_key = 't-e1'",
        "UPDATE ledger_entries SET amount = amount + 1 WHERE seq IS NOT NULL AND posting_id = "
        "(SELECT id FROM ledger_postings WHERE idempotency_key = 't-s2')",
        "DELETE FROM ledger_entries WHERE seq IS NULL AND posting_id = "
        "(SELECT id FROM ledger_postings WHERE idempotency_key = 't-s0')",
        "UPDATE ledger_accounts SET balance = balance + 5 "
        "WHERE member_id IS NOT NULL AND head_seq = 2 AND balance = 91",
        "UPDATE ledger_postings SET signature = "
        "(SELECT signature FROM ledger_postings WHERE idempotency_key = 't-e0') "
        "WHERE idempotency_key = 't-e2'",
    ],
    ids=["byte-flipped", "amount-edited", "row-deleted", "balance-edited", "signature-swapped"],
)
def test_verify_finds_each_kind_of_tampering(session, signer, member_pii, tamper):
    _small_ledger(session, signer, member_pii)
    assert _problems(session, signer) == []
    session.execute(text(tamper))
    assert _problems(session, signer)


def test_verify_finds_reordered_chain_entries(session, signer, member_pii):
    member = _small_ledger(session, signer, member_pii)[0]
    account = engine.member_account(session, points.ASSET, member.id, "available")
    rows = session.execute(
        select(Entry.id, Entry.seq).where(Entry.account_id == account.id).order_by(Entry.seq)
    ).all()
    (first_id, first_seq), (second_id, second_seq) = rows[0], rows[1]
    session.execute(update(Entry).where(Entry.id == first_id).values(seq=-1))
    session.execute(update(Entry).where(Entry.id == second_id).values(seq=first_seq))
    session.execute(update(Entry).where(Entry.id == first_id).values(seq=second_seq))
    assert _problems(session, signer)


def test_a_posting_signed_by_another_key_is_detected(session, signer, member_pii):
    member = make_member(session, member_pii)
    rogue = signer_for("rogue:" + "A" * 43)
    points.earn(
        session,
        rogue,
        SYSTEM,
        member.id,
        10,
        reason="x",
        idempotency_key="rogue",
        occurred_at=NOW,
        expires_at=None,
    )
    assert any("signature" in problem for problem in _problems(session, signer))


def _posting_id(session, key):
    return session.scalar(select(Posting.id).where(Posting.idempotency_key == key))


def _delete_posting(session, posting_id):
    """What someone with database access would do to make a posting disappear."""
    for statement in (
        delete(LotMovement).where(LotMovement.posting_id == posting_id),
        delete(Entry).where(Entry.posting_id == posting_id),
        delete(Posting).where(Posting.id == posting_id),
    ):
        session.execute(statement.execution_options(synchronize_session=False))


def test_verify_names_the_posting_whose_chained_member_entry_was_deleted(session, signer, member_pii):
    _small_ledger(session, signer, member_pii)
    spend = _posting_id(session, "t-s1")
    session.execute(
        delete(Entry)
        .where(Entry.posting_id == spend, Entry.seq.is_not(None))
        .execution_options(synchronize_session=False)
    )
    problems = _problems(session, signer)
    assert len(problems) == 1
    assert problems[0].startswith(f"posting {spend}:")


def test_verify_names_where_a_deleted_posting_leaves_a_gap_in_the_chain(session, signer, member_pii):
    member = make_member(session, member_pii)
    _earn(session, signer, member, 100, "g-e1")
    _spend(session, signer, member, 30, "g-s1")
    _earn(session, signer, member, 50, "g-e2")
    session.flush()
    code = engine.member_account(session, points.ASSET, member.id, "available").code
    _delete_posting(session, _posting_id(session, "g-s1"))
    assert _problems(session, signer) == [
        f"posting {_posting_id(session, 'g-e2')}: chain of {code} broken at 2 (row missing or moved)"
    ]


def test_verify_names_the_account_whose_latest_posting_was_deleted(session, signer, member_pii):
    member = make_member(session, member_pii)
    _earn(session, signer, member, 100, "h-e1")
    _spend(session, signer, member, 30, "h-s1")
    session.flush()
    code = engine.member_account(session, points.ASSET, member.id, "available").code
    _delete_posting(session, _posting_id(session, "h-s1"))
    assert _problems(session, signer) == [f"account {code}: chain head does not match its last entry"]


# --- periodic digests of all chain heads -------------------------------------------------------------


def _digest(database, test_settings):
    return run_job(database, test_settings, "ledger-digest", datetime.now(UTC))


def test_a_digest_of_every_chain_head_is_signed_chained_and_checked_by_verify(
    session, signer, member_pii, database, test_settings
):
    members = _small_ledger(session, signer, member_pii)
    first = _digest(database, test_settings)
    assert first["accounts"] == len(members)
    _earn(session, signer, members[0], 5, "after-digest")
    session.flush()
    second = _digest(database, test_settings)
    assert second["digest"] != first["digest"]
    digests = session.scalars(select(Digest).order_by(Digest.taken_at)).all()
    assert [digest.digest_hash for digest in digests] == [first["digest"], second["digest"]]
    assert digests[1].prev_hash == digests[0].digest_hash
    assert verify.verify_digests(session, verify.public_keys(signer, "")) == []
    assert _problems(session, signer) == []


@pytest.mark.parametrize(
    ("tamper", "problem"),
    [
        ("UPDATE ledger_digests SET accounts = accounts + 1", "content does not match its hash"),
        (
            "UPDATE ledger_digests SET heads_hash = '" + "0" * 64 + "'",
            "content does not match its hash",
        ),
        (
            "UPDATE ledger_digests SET signature = (SELECT signature FROM ledger_postings "
            "WHERE idempotency_key = 't-e0')",
            "signature invalid",
        ),
    ],
    ids=["count-edited", "heads-edited", "signature-swapped"],
)
def test_a_tampered_digest_is_detected(session, signer, member_pii, database, test_settings, tamper, problem):
    _small_ledger(session, signer, member_pii)
    _digest(database, test_settings)
    digest_id = session.scalar(select(Digest.id))
    session.execute(text(tamper))
    assert _problems(session, signer) == [f"digest {digest_id}: {problem}"]


def test_a_chain_cut_short_after_a_digest_is_caught_by_the_digest(
    session, signer, member_pii, database, test_settings
):
    """Removing an account's latest posting and rewinding its head leaves a consistent chain that
    only the digest taken before the cut can contradict."""
    member = make_member(session, member_pii)
    _earn(session, signer, member, 100, "cut-e1")
    _spend(session, signer, member, 30, "cut-s1")
    session.flush()
    _digest(database, test_settings)
    account = engine.member_account(session, points.ASSET, member.id, "available")
    first_entry = session.scalar(select(Entry.hash).where(Entry.account_id == account.id, Entry.seq == 1))
    _delete_posting(session, _posting_id(session, "cut-s1"))
    session.execute(
        update(LedgerAccount)
        .where(LedgerAccount.id == account.id)
        .values(balance=100, head_seq=1, head_hash=first_entry)
        .execution_options(synchronize_session=False)
    )
    [digest] = session.scalars(select(Digest)).all()
    assert _problems(session, signer) == [
        f"digest {digest.id}: chain heads at {digest.taken_at.isoformat()} differ from the digest"
    ]


# --- real concurrency ------------------------------------------------------------------------------


def _run_threads(count, work):
    barrier = threading.Barrier(count, timeout=30)
    results: list[object] = [None] * count

    def run(index):
        barrier.wait()
        try:
            results[index] = work(index)
        except Exception as exc:
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


@pytest.mark.committed
def test_concurrent_spends_never_overdraw(committed_database, test_settings, member_pii):
    signer = signer_for(test_settings.ledger_signing_key)
    with committed_database.transaction() as session:
        member = make_member(session, member_pii)
        _earn(session, signer, member, 1000, "c-earn")
    results = _run_threads(
        20, lambda i: committed_database.run(lambda s: _spend(s, signer, member, 100, f"c-spend-{i}"))
    )
    assert sum(1 for r in results if isinstance(r, points.PostingResult)) == 10
    assert all(isinstance(r, points.PostingResult | InsufficientBalance) for r in results), results
    with committed_database.transaction(write=False) as session:
        assert points.balances(session, member.id).available == 0
        assert sum(lot.remaining for lot in session.scalars(select(Lot))) == 0
        _assert_sound(session, signer)


@pytest.mark.committed
def test_one_key_posted_by_twenty_threads_takes_effect_once(committed_database, test_settings, member_pii):
    signer = signer_for(test_settings.ledger_signing_key)
    with committed_database.transaction() as session:
        member = make_member(session, member_pii)
    results = _run_threads(
        20, lambda i: committed_database.run(lambda s: _earn(s, signer, member, 77, "one-key"))
    )
    assert all(isinstance(r, points.PostingResult) for r in results), results
    assert len({r.posting.id for r in results}) == 1
    with committed_database.transaction(write=False) as session:
        assert points.balances(session, member.id).available == 77
        assert session.scalar(select(func.count()).select_from(Posting)) == 1


@pytest.mark.committed
def test_random_concurrent_transfers_conserve_every_point(committed_database, test_settings, member_pii):
    signer = signer_for(test_settings.ledger_signing_key)
    with committed_database.transaction() as session:
        members = [make_member(session, member_pii) for _ in range(1000)]
        for n, member in enumerate(members):
            _earn(session, signer, member, 1000, f"bank-{n}")
    accounts = [engine.member_account(None, points.ASSET, m.id, "available") for m in members]  # type: ignore[arg-type]

    def transfers(thread: int) -> int:
        rng = random.Random(thread)
        moved = 0
        for step in range(40):
            source, target = rng.sample(accounts, 2)
            amount = rng.randint(1, 1500)
            legs = [(source, -amount), (target, amount)]

            def move(session, key=f"x-{thread}-{step}", legs=legs):
                return engine.post(
                    session,
                    signer,
                    asset=points.ASSET,
                    reason="transfer",
                    idempotency_key=key,
                    actor=SYSTEM,
                    legs=legs,
                    occurred_at=NOW,
                )

            try:
                committed_database.run(move)
                moved += 1
            except InsufficientBalance:
                pass
        return moved

    results = _run_threads(8, transfers)
    assert all(isinstance(r, int) for r in results), results
    with committed_database.transaction(write=False) as session:
        balances = session.scalars(
            select(LedgerAccount.balance).where(LedgerAccount.member_id.is_not(None))
        ).all()
        assert min(balances) >= 0
        assert sum(balances) == 1000 * 1000
        _assert_sound(session, signer)
