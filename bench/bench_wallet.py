"""Wallet figures (SPEC W1): top-ups through ``wallet.service.top_up`` (one balanced posting of four
legs, principal and bonus, plus the top-up row) with 1 and 4 writers, and wallet-paid sales
through ``pos.service.commit`` in-process (``"wallet": true``: the wallet stage, the wallet posting
next to the points postings, the sale and its payment rows), commits/s and latency.

Each wallet-paid sale is a different member's (as at a real station), so the risk rules in force
are evaluated on every commit but none refuses. Timings are reported, never asserted.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from bench.bench_members import _load_members
from bench.harness import Figure, benchmark, latency_figures, timed
from forecourt.config import Settings
from forecourt.db.session import Database
from forecourt.devices import service as devices
from forecourt.devices.service import DeviceIdentity
from forecourt.kit.actor import SYSTEM
from forecourt.kit.clock import utcnow
from forecourt.kit.crypto import keyring_for
from forecourt.ledger.chain import signer_for
from forecourt.members.models import Member
from forecourt.members.pii import Pii
from forecourt.pos import service as pos
from forecourt.pos.schemas import CommitRequest, FuelLine, MemberIdentifier, Redeem
from forecourt.stations import service as stations
from forecourt.wallet import service as wallet

MEMBERS = int(os.environ.get("FORECOURT_BENCH_WALLET_MEMBERS", "2000"))
TOP_UPS = int(os.environ.get("FORECOURT_BENCH_WALLET_TOP_UPS", "2000"))
COMMITS = int(os.environ.get("FORECOURT_BENCH_WALLET_COMMITS", "1000"))
WRITERS = 4
STATION = "W001"
PRICE = 750


def _members(database: Database, settings: Settings) -> tuple[Pii, list[uuid.UUID]]:
    pii = Pii(keyring_for(settings.encryption_keys), settings.secret_key)
    _load_members(database, pii, 0, MEMBERS)
    ids = database.run(
        lambda session: list(session.scalars(select(Member.id).order_by(Member.id))), write=False
    )
    return pii, ids


@benchmark("wallet top-ups")
def wallet_top_ups(database: Database, settings: Settings) -> list[Figure]:
    _, members = _members(database, settings)
    signer = signer_for(settings.ledger_signing_key)

    def top_up(session: Session, n: int) -> None:
        amount = 50_000 if n % 3 == 0 else 10_000 + n % 7 * 1_000  # a third reach the ¥50 bonus
        wallet.top_up(
            session,
            signer,
            SYSTEM,
            members[n % len(members)],
            amount,
            method="cash",
            idempotency_key=f"bench:{n}",
            station=None,
        )

    started = time.perf_counter()
    for n in range(TOP_UPS):
        database.run(lambda session, n=n: top_up(session, n))
    single = TOP_UPS / (time.perf_counter() - started)

    errors: list[BaseException] = []

    def writer(offset: int) -> None:
        try:
            for n in range(offset, TOP_UPS, WRITERS):
                database.run(lambda session, n=n: top_up(session, TOP_UPS + n))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(offset,)) for offset in range(WRITERS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    concurrent = TOP_UPS / (time.perf_counter() - started)
    if errors:
        raise errors[0]
    return [
        Figure(
            "top-ups/s, 1 writer", single, "top-ups/s", f"{TOP_UPS:,} top-ups over {len(members):,} members"
        ),
        Figure(f"top-ups/s, {WRITERS} writers", concurrent, "top-ups/s", "4 ledger legs + a top-up row each"),
    ]


@benchmark("wallet-paid commits")
def wallet_paid_commits(database: Database, settings: Settings) -> list[Figure]:
    pii, members = _members(database, settings)
    signer = signer_for(settings.ledger_signing_key)
    keyring = keyring_for(settings.encryption_keys)

    def setup(session: Session) -> DeviceIdentity:
        station = stations.create_station(session, SYSTEM, code=STATION, name="储值压测站")
        stations.set_price(
            session, SYSTEM, STATION, grade="92", price_fen=PRICE, effective_from=utcnow() - timedelta(days=1)
        )
        issued = devices.create_device(session, SYSTEM, keyring, station=STATION, name="bench")
        for n, member_id in enumerate(members[:COMMITS]):
            wallet.top_up(
                session, signer, SYSTEM, member_id, 50_000, method="cash", idempotency_key=f"seed:{n}"
            )
        return DeviceIdentity(device_id=issued.device.id, station_id=station.id)

    device = database.run(setup)
    samples: list[float] = []
    run = timed(samples)
    started = time.perf_counter()
    for n, member_id in enumerate(members[:COMMITS]):
        # 40 L of 92# (¥300) from a ¥550 wallet: principal pays, nothing is due
        body = CommitRequest(
            station=STATION,
            member=MemberIdentifier(type="member_id", value=str(member_id)),
            lines=[FuelLine(line_id="1", kind="fuel", grade="92", liters=Decimal("40.00"))],
            redeem=Redeem(wallet=True),
            pos_txn_id=f"W-{n}",
            payments=[],
        )
        run(lambda body=body: database.run(lambda session: pos.commit(session, pii, signer, device, body)))
    rate = len(samples) / (time.perf_counter() - started)
    held = database.run(
        lambda session: sum(wallet.balances(session, m).total_fen for m in members[:COMMITS]), write=False
    )
    return [
        Figure(
            "commits/s", rate, "commits/s", f"{COMMITS:,} sales paid from the wallet, 1 thread, in-process"
        ),
        *latency_figures("commit", samples),
        Figure("left in wallets", held / 100, "yuan", f"{COMMITS:,} × (¥550 − ¥300)"),
    ]
