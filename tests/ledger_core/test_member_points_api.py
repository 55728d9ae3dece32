"""A member's points as staff and the member see them: balances, open lots, what expires next, and
the ledger history page by page (newest first, no posting twice or missed, even when many share a
timestamp)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import time_machine

from forecourt.kit.actor import SYSTEM
from forecourt.ledger import points
from tests.members.support import make_member, member_login, unique_phone

EARNED_AT = datetime(2026, 6, 1, 4, 0, tzinfo=UTC)
SOON = EARNED_AT + timedelta(days=40)
LATER = EARNED_AT + timedelta(days=400)


def _earn(session, signer, member, amount, key, expires_at):
    return points.earn(
        session,
        signer,
        SYSTEM,
        member.id,
        amount,
        reason="fuel",
        idempotency_key=key,
        occurred_at=EARNED_AT,
        expires_at=expires_at,
    )


def _wallet_of_points(session, signer, member):
    """300 + 200 expiring soon, 100 later, 50 never; 120 spent (from the first lot); 70 pending."""
    _earn(session, signer, member, 300, f"{member.id}-a", SOON)
    _earn(session, signer, member, 200, f"{member.id}-b", SOON)
    _earn(session, signer, member, 100, f"{member.id}-c", LATER)
    _earn(session, signer, member, 50, f"{member.id}-d", None)
    points.spend(
        session,
        signer,
        SYSTEM,
        member.id,
        120,
        reason="redeem",
        idempotency_key=f"{member.id}-s",
        occurred_at=EARNED_AT,
    )
    points.earn_pending(
        session,
        signer,
        SYSTEM,
        member.id,
        70,
        reason="referral",
        idempotency_key=f"{member.id}-p",
        occurred_at=EARNED_AT,
    )
    session.flush()


def test_staff_see_the_open_lots_soonest_first_and_what_expires_next(
    client, session, signer, member_pii, staff
):
    member = make_member(session, member_pii)
    _wallet_of_points(session, signer, member)
    body = client.get(f"/api/v1/members/{member.id}/points", headers=staff("service").headers).json()
    assert (body["available"], body["pending"]) == (530, 70)
    assert [
        (lot["amount"], lot["remaining"], lot["expires_at"] and datetime.fromisoformat(lot["expires_at"]))
        for lot in body["lots"]
    ] == [(300, 180, SOON), (200, 200, SOON), (100, 100, LATER), (50, 50, None)]
    assert body["next_expiry"]["points"] == 380
    assert datetime.fromisoformat(body["next_expiry"]["expires_at"]) == SOON


def test_a_member_without_points_has_nothing_expiring(client, session, member_pii, staff):
    member = make_member(session, member_pii)
    body = client.get(f"/api/v1/members/{member.id}/points", headers=staff("service").headers).json()
    assert body == {"available": 0, "pending": 0, "lots": [], "next_expiry": None}


def _many_postings(session, signer, member):
    """Twelve postings; eight of them recorded in the very same microsecond."""
    with time_machine.travel(datetime(2026, 6, 2, 4, 0, tzinfo=UTC), tick=False):
        for n in range(8):
            _earn(session, signer, member, 10 + n, f"{member.id}-same-{n}", SOON)
    with time_machine.travel(datetime(2026, 6, 3, 4, 0, tzinfo=UTC), tick=True):
        for n in range(4):
            _earn(session, signer, member, 100 + n, f"{member.id}-later-{n}", SOON)
    session.flush()


def _all_pages(client, url, headers, limit):
    pages, cursor = [], None
    while True:
        params = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        response = client.get(url, params=params, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        pages.append(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return pages


def test_the_ledger_pages_newest_first_without_duplicates_or_gaps(client, session, signer, member_pii, staff):
    member = make_member(session, member_pii)
    _many_postings(session, signer, member)
    url, headers = f"/api/v1/members/{member.id}/ledger", staff("service").headers
    everything = client.get(url, params={"limit": 100}, headers=headers).json()
    assert everything["next_cursor"] is None
    assert len(everything["items"]) == 12
    keys = [
        (datetime.fromisoformat(line["recorded_at"]), uuid.UUID(line["posting_id"]))
        for line in everything["items"]
    ]
    assert keys == sorted(keys, reverse=True)
    assert [line["available"] for line in everything["items"][:4]] == [103, 102, 101, 100]

    pages = _all_pages(client, url, headers, limit=5)
    assert [len(page) for page in pages] == [5, 5, 2]
    assert [line for page in pages for line in page] == everything["items"]
    assert client.get(url, params={"cursor": "not-a-cursor"}, headers=headers).json()["error"]["code"] == (
        "invalid_cursor"
    )


def test_a_member_sees_their_own_points_ledger_and_tier(client, session, signer, member_pii, staff):
    phone = unique_phone()
    member = make_member(session, member_pii, phone=phone)
    _wallet_of_points(session, signer, member)
    _many_postings(session, signer, member)
    other = make_member(session, member_pii)
    _earn(session, signer, other, 999, "someone-else", SOON)
    session.flush()
    me = member_login(client, session, member_pii, phone).headers
    service = staff("service").headers

    mine = client.get("/api/v1/me/points", headers=me).json()
    assert mine == client.get(f"/api/v1/members/{member.id}/points", headers=service).json()
    assert (mine["available"], mine["pending"]) == (530 + sum(range(10, 18)) + sum(range(100, 104)), 70)

    pages = _all_pages(client, "/api/v1/me/ledger", me, limit=4)
    assert [len(page) for page in pages] == [4, 4, 4, 4, 2]
    lines = [line for page in pages for line in page]
    assert len({line["posting_id"] for line in lines}) == 18
    assert (
        lines
        == client.get(f"/api/v1/members/{member.id}/ledger", params={"limit": 100}, headers=service).json()[
            "items"
        ]
    )
    assert ("referral", 0, 70) in [(line["reason"], line["available"], line["pending"]) for line in lines]

    tier = client.get("/api/v1/me/tier", headers=me).json()
    assert (tier["tier"]["code"], tier["value"], tier["next_tier"]["code"]) == ("regular", 0, "silver")
    assert client.get("/api/v1/me/points").status_code == 401
