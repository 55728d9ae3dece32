"""Foundation figures: the price in force at a moment, and authenticating a signed POS request."""

from __future__ import annotations

import random
import time
from datetime import timedelta

from bench.harness import Figure, benchmark, latency_figures, timed
from forecourt.config import Settings
from forecourt.db.session import Database
from forecourt.devices import service as devices
from forecourt.devices.signing import signed_headers
from forecourt.kit.actor import SYSTEM
from forecourt.kit.clock import utcnow
from forecourt.kit.crypto import keyring_for
from forecourt.stations import service as stations

STATIONS = 200
PRICE_CHANGES = 50  # per station and grade: about two years of adjustment windows
GRADES = ("92", "95", "98", "0", "lng", "cng", "ev")
LOOKUPS = 5_000
SIGNED_REQUESTS = 2_000


@benchmark("price lookup")
def price_lookup(database: Database, settings: Settings) -> list[Figure]:
    now = utcnow()
    rng = random.Random(7)
    codes = [f"B{n:04d}" for n in range(STATIONS)]
    for code in codes:
        with database.transaction() as session:
            stations.create_station(session, SYSTEM, code=code, name=code)
            station = stations.get_station(session, code)
            for grade in GRADES:
                for change in range(PRICE_CHANGES):
                    session.add(
                        stations.StationPrice(
                            station_id=station.id,
                            grade_code=grade,
                            price_fen=700 + rng.randrange(100) if grade != "ev" else 120,
                            effective_from=now - timedelta(days=14 * (PRICE_CHANGES - change)),
                            recorded_at=now,
                            recorded_by="bench",
                            source="station",
                        )
                    )
    station_ids = database.run(lambda s: [stations.get_station(s, c).id for c in codes], write=False)
    samples: list[float] = []
    measure = timed(samples)
    session = database.session(write=False)
    try:
        for _ in range(LOOKUPS):
            station_id, grade = rng.choice(station_ids), rng.choice(GRADES)
            moment = now - timedelta(days=rng.randrange(700))
            measure(lambda s=station_id, g=grade, m=moment: stations.price_in_force(session, s, g, m))
    finally:
        session.close()
    rows = STATIONS * len(GRADES) * PRICE_CHANGES
    return [Figure("price rows", rows, "rows"), *latency_figures("price_in_force", samples)]


@benchmark("signed request")
def signed_request(database: Database, settings: Settings) -> list[Figure]:
    keyring = keyring_for(settings.encryption_keys)
    with database.transaction() as session:
        stations.create_station(session, SYSTEM, code="D001", name="bench")
        issued = devices.create_device(session, SYSTEM, keyring, station="D001")
        device_id, secret = issued.device.id, issued.secret
    body = b'{"station": "D001"}'
    samples: list[float] = []
    measure = timed(samples)
    started = time.perf_counter()
    for n in range(SIGNED_REQUESTS):
        headers = signed_headers(
            device_id,
            secret,
            "POST",
            "/api/v1/pos/quote",
            body,
            timestamp=int(time.time()),
            nonce=f"nonce-{n:08d}",
        )

        def verify(h: dict[str, str] = headers) -> object:
            return database.run(
                lambda s: devices.authenticate_request(
                    s,
                    keyring,
                    device_id=h["X-Device-Id"],
                    timestamp=h["X-Timestamp"],
                    nonce=h["X-Nonce"],
                    signature=h["X-Signature"],
                    method="POST",
                    path="/api/v1/pos/quote",
                    body=body,
                    max_skew_seconds=300,
                )
            )

        measure(verify)
    elapsed = time.perf_counter() - started
    return [
        Figure(
            "device auth (lookup + HMAC + nonce insert)", SIGNED_REQUESTS / elapsed, "req/s", "one thread"
        ),
        *latency_figures("device auth", samples),
    ]
