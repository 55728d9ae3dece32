"""POS figures (SPEC §6): rule evaluation in-process, the statements of one commit, and the running
server under an open-loop load (requests leave at a fixed arrival rate whatever the server does,
and latency is measured from when each request was due to leave, so a slow server cannot hide its
queue: no coordinated omission).

- ``rule evaluation``: baskets/s through the default program on one core (target ≥ 20,000).
- ``pos load``: a ``forecourt serve`` process on the benchmark database; p50/p95/p99 at 167 and
  300 requests/s of a mix of identify, quote and commit (target p99 ≤ 50 ms at 300/s); then commits
  alone at rising offered rates: the sustained rate is the highest the server keeps up with (≥ 95%
  completed within the phase, p99 under a second; target ≥ 1,000/s).

The load generator runs in this process (httpx, asyncio) on the same two cores as the server and
the database, and every request is signed beforehand so signing does not slow the generator.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import event, select

from bench.bench_members import _load_members
from bench.harness import Figure, benchmark, percentile
from forecourt.config import Settings
from forecourt.db.session import Database
from forecourt.devices import service as devices
from forecourt.devices.service import DeviceIdentity
from forecourt.devices.signing import signed_headers
from forecourt.kit.actor import SYSTEM
from forecourt.kit.clock import chain_zone, utcnow
from forecourt.kit.crypto import keyring_for
from forecourt.ledger.chain import signer_for
from forecourt.members.models import MemberPlate
from forecourt.members.pii import Pii
from forecourt.pos import service as pos
from forecourt.pos.schemas import CommitRequest, FuelLine, MemberIdentifier, Redeem
from forecourt.rules import service as rules
from forecourt.rules.domain import BasketFacts, LineFacts
from forecourt.stations import service as stations

MEMBERS = int(os.environ.get("FORECOURT_BENCH_POS_MEMBERS", "20000"))
BASKETS = 50_000
MIX_SECONDS = float(os.environ.get("FORECOURT_BENCH_POS_SECONDS", "15"))
STEP_SECONDS = 8.0
CONNECTIONS = 64
"""Like a load tool with a fixed set of keep-alive connections (wrk2 style)."""
COMMIT_RATES = (100, 200, 300, 400, 600, 800, 1000, 1200)
PRICE = 750
STATION = "B001"


@benchmark("rule evaluation")
def rule_evaluation(database: Database, settings: Settings) -> list[Figure]:
    """The default program over random baskets, one thread (the database only supplies the rules)."""
    if database.engine.dialect.name != "sqlite":
        return []  # in-process figure: once is enough
    with database.transaction(write=False) as session:
        rule_set = rules.rule_set(session)
    rng = random.Random(5)
    now = utcnow()
    baskets = []
    for n in range(1_000):
        local = (now - timedelta(hours=rng.randrange(24 * 14))).astimezone(chain_zone())
        facts = BasketFacts(
            station=STATION,
            region="KM-CITY",
            occurred_at=local,
            local_time=local,
            is_holiday=False,
            is_workday=local.isoweekday() < 6,
            tier=rng.choice(("regular", "silver", "gold", "diamond")),
            tier_multiplier_milli=rng.choice((1000, 1200, 1500, 2000)),
            birthday_week=n % 50 == 0,
        )
        lines = [
            LineFacts(
                line_id="1",
                kind="fuel",
                category="fuel",
                grade=rng.choice(("92", "95", "98", "0")),
                liters=Decimal(rng.randrange(1000, 6000)) / 100,
                paid_fen=rng.randrange(10_000, 50_000),
                gross_fen=50_000,
            )
        ]
        if n % 5 == 0:
            lines.append(LineFacts("2", "goods", "car_wash", 3000, 3000, sku="WASH-STD", quantity=1))
        baskets.append((facts, lines))
    started = time.perf_counter()
    total = 0
    for n in range(BASKETS):
        facts, lines = baskets[n % len(baskets)]
        total += rule_set.earn(facts, lines).total
    seconds = time.perf_counter() - started
    return [
        Figure("baskets/s", BASKETS / seconds, "baskets/s", "default program, 1 thread; target ≥ 20,000"),
        Figure("per basket", seconds / BASKETS * 1e6, "µs", f"{total:,} points awarded in all"),
    ]


@dataclass(frozen=True)
class Prepared:
    kind: str
    path: str
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class Outcome:
    kind: str
    status: int
    latency: float


class LoadWorld:
    """A station with a price, a device credential and members with plates, as the server sees them."""

    def __init__(self, database: Database, settings: Settings) -> None:
        keyring = keyring_for(settings.encryption_keys)
        self.pii = Pii(keyring, settings.secret_key)
        _load_members(database, self.pii, 0, MEMBERS)

        def setup(session: Any) -> tuple[str, str, uuid.UUID]:
            station = stations.create_station(session, SYSTEM, code=STATION, name="压测站")
            stations.set_price(
                session,
                SYSTEM,
                STATION,
                grade="92",
                price_fen=PRICE,
                effective_from=utcnow() - timedelta(days=1),
            )
            issued = devices.create_device(session, SYSTEM, keyring, station=STATION, name="bench")
            return issued.device.id, issued.secret, station.id

        self.device_id, self.secret, self.station_id = database.run(setup)
        rows = database.run(
            lambda session: session.execute(select(MemberPlate.member_id, MemberPlate.plate)).all(),
            write=False,
        )
        self.members = [(row.member_id, row.plate) for row in rows]
        random.Random(3).shuffle(self.members)
        self.next_member = 0
        self.sequence = 0

    def member(self) -> tuple[uuid.UUID, str]:
        member = self.members[self.next_member % len(self.members)]
        self.next_member += 1
        return member

    def request(self, kind: str) -> Prepared:
        """A signed request; a commit pays exactly what it costs (members stay in the entry tier:
        each commits at most a few times, far from ¥2,000)."""
        member_id, plate = self.member()
        liters = Decimal(random.randrange(2000, 4000)) / 100
        if kind == "identify":
            path = "/api/v1/pos/identify"
            document: dict[str, Any] = {"station": STATION, "identifier": {"type": "plate", "value": plate}}
        else:
            document = {
                "station": STATION,
                "member": {"type": "member_id", "value": str(member_id)},
                "lines": [{"line_id": "1", "kind": "fuel", "grade": "92", "liters": str(liters)}],
                "redeem": {"coupons": [], "points": 0, "wallet": False},
            }
            path = "/api/v1/pos/quote"
            if kind == "commit":
                self.sequence += 1
                path = "/api/v1/pos/transactions"
                document["pos_txn_id"] = f"L{self.sequence:09d}"
                due = int((liters * PRICE).quantize(Decimal(1), rounding="ROUND_HALF_UP"))
                document["payments"] = [{"method": "wechat", "amount_fen": due}]
        body = json.dumps(document).encode()
        headers = signed_headers(
            self.device_id,
            self.secret,
            "POST",
            path,
            body,
            timestamp=int(time.time()),
            nonce=uuid.uuid4().hex,
        )
        headers["Content-Type"] = "application/json"
        if kind == "commit":
            headers["Idempotency-Key"] = str(uuid.uuid4())
        return Prepared(kind, path, body, headers)


async def _open_loop(base: str, requests: list[Prepared], rate: float) -> tuple[list[Outcome], float]:
    """Send ``requests`` at ``rate`` per second; returns outcomes and the seconds until the last one."""
    outcomes: list[Outcome] = []
    limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    # Requests wait for a connection here, not in httpx's pool (whose queue costs O(n) per request
    # and would make the generator, not the server, the bottleneck); their latency still counts
    # from when they were due.
    connections = asyncio.Semaphore(CONNECTIONS)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        started = time.perf_counter()

        async def send(prepared: Prepared, due: float) -> None:
            async with connections:
                try:
                    response = await client.post(
                        prepared.path, content=prepared.body, headers=prepared.headers
                    )
                    status = response.status_code
                except httpx.HTTPError:
                    status = 0
            outcomes.append(Outcome(prepared.kind, status, time.perf_counter() - due))

        tasks = []
        for n, prepared in enumerate(requests):
            due = started + n / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(send(prepared, due)))
        await asyncio.gather(*tasks)
        return outcomes, time.perf_counter() - started


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start_server(settings: Settings, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {
        **os.environ,
        "FORECOURT_DATABASE_URL": settings.database_url,
        "FORECOURT_LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen(  # noqa: S603 - our own CLI
        [
            sys.executable,
            "-c",
            "from forecourt.cli import main; main()",
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return server, base
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.kill()
    raise RuntimeError("the server did not start")


def _latencies(outcomes: list[Outcome], label: str, note: str = "") -> list[Figure]:
    seconds = [o.latency for o in outcomes]
    return [
        Figure(f"{label} p50", percentile(seconds, 0.50) * 1000, "ms", note),
        Figure(f"{label} p95", percentile(seconds, 0.95) * 1000, "ms"),
        Figure(f"{label} p99", percentile(seconds, 0.99) * 1000, "ms"),
    ]


def _commit_statements(database: Database, settings: Settings, world: LoadWorld) -> int:
    """SQL statements one member sale sends (BEGIN and COMMIT included), counted at the driver."""
    statements: list[str] = []

    def count(*_args: Any) -> None:
        statements.append("x")

    signer = signer_for(settings.ledger_signing_key)
    device = DeviceIdentity(device_id=world.device_id, station_id=world.station_id)
    member_id, _ = world.member()
    body = CommitRequest(
        station=STATION,
        member=MemberIdentifier(type="member_id", value=str(member_id)),
        lines=[FuelLine(line_id="1", kind="fuel", grade="92", liters=Decimal("30.00"))],
        redeem=Redeem(),
        pos_txn_id="COUNT-0",
        payments=[],
    )
    database.run(lambda session: pos.commit(session, world.pii, signer, device, body, pay_due_with="cash"))
    body = body.model_copy(update={"pos_txn_id": "COUNT-1"})
    event.listen(database.engine, "before_cursor_execute", count)
    try:
        database.run(
            lambda session: pos.commit(session, world.pii, signer, device, body, pay_due_with="cash")
        )
    finally:
        event.remove(database.engine, "before_cursor_execute", count)
    return len(statements) + 1  # COMMIT is not a cursor execution


@benchmark("pos load")
def pos_load(database: Database, settings: Settings) -> list[Figure]:
    world = LoadWorld(database, settings)
    figures = [
        Figure(
            "commit statements",
            _commit_statements(database, settings, world),
            "statements",
            "one member sale: look-ups, postings, tier, sale, event",
        )
    ]
    workers = 1 if database.engine.dialect.name == "sqlite" else 2
    server, base = _start_server(settings, workers)
    try:
        warm = [world.request(("identify", "quote", "commit")[n % 3]) for n in range(150)]
        asyncio.run(_open_loop(base, warm, 50))
        for rate in (167, 300):
            requests = [
                world.request(("identify", "quote", "commit")[n % 3]) for n in range(int(rate * MIX_SECONDS))
            ]
            outcomes, _ = asyncio.run(_open_loop(base, requests, rate))
            failed = Counter(o.status for o in outcomes if o.status not in (200, 201))
            figures += _latencies(
                outcomes,
                f"mix at {rate}/s",
                f"{workers} worker(s), {len(outcomes):,} requests, {sum(failed.values())} failed"
                + "".join(f", {count} × status {status}" for status, count in sorted(failed.items())),
            )
            for kind in ("identify", "quote", "commit"):
                figures += _latencies([o for o in outcomes if o.kind == kind], f"  {kind} at {rate}/s")[2:]
        sustained = 0
        for rate in COMMIT_RATES:
            requests = [world.request("commit") for _ in range(int(rate * STEP_SECONDS))]
            outcomes, took = asyncio.run(_open_loop(base, requests, rate))
            ok = [o for o in outcomes if o.status == 201]
            p99 = percentile([o.latency for o in outcomes], 0.99)
            kept_up = len(ok) >= 0.95 * len(requests) and p99 < 1.0 and took < STEP_SECONDS * 1.2
            figures.append(
                Figure(
                    f"commits offered {rate}/s",
                    len(ok) / took,
                    "commits/s",
                    f"p99 {p99 * 1000:,.0f} ms, {len(requests) - len(ok)} not 201"
                    + ("" if kept_up else ", fell behind"),
                )
            )
            if not kept_up:
                break
            sustained = rate
        figures.append(
            Figure(
                "sustained commits",
                sustained,
                "commits/s",
                "highest offered rate kept up with; target ≥ 1,000",
            )
        )
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    return figures
