"""Loads the demo chain through the same service functions the API uses (no raw inserts).

A brand, two regions, six stations around Kunming with pumps and prices for every grade (a past
price adjustment and one scheduled for the next adjustment window), staff of every role, and one
POS device credential; then 2,000 members with plates, vehicles and profiles; then (``load_history``)
their fueling over the last 90 days, with coupons issued, claimed and used (``forecourt.demo.coupons``).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from sqlalchemy.orm import Session

from forecourt.auth import service as auth
from forecourt.auth.errors import StaffNotFound
from forecourt.auth.permissions import Role
from forecourt.config import Settings
from forecourt.db.session import Database
from forecourt.demo import history
from forecourt.demo import members as demo_members
from forecourt.demo import recharge_cards as demo_recharge_cards
from forecourt.demo import reconciliation as demo_reconciliation
from forecourt.devices import service as devices
from forecourt.kit.actor import Actor
from forecourt.kit.clock import chain_zone, utcnow
from forecourt.kit.crypto import KeyRing
from forecourt.ledger.chain import signer_for
from forecourt.members.pii import Pii
from forecourt.stations import service as stations

DEMO_ACTOR = Actor(kind="system", id=None, label="demo-loader")
HISTORY_DAYS = 90
DEMO_PASSWORD = "forecourt-demo"  # noqa: S105 - printed to the demo user on purpose
BRAND_NAME = "滇池石油"

REGIONS = (("KM-CITY", "昆明主城区"), ("KM-OUTER", "昆明周边"))

# code, name, region, address, GCJ-02 lat, lng, opening hours (None = 24h)
STATIONS: tuple[tuple[str, str, str, str, float, float, tuple[time, time] | None], ...] = (
    ("S001", "北京路站", "KM-CITY", "盘龙区北京路 868 号", 25.062310, 102.722530, None),
    ("S002", "滇池路站", "KM-CITY", "西山区滇池路 569 号", 24.998870, 102.682130, None),
    ("S003", "二环北路站", "KM-CITY", "五华区二环北路 288 号", 25.075420, 102.701860, (time(6), time(23))),
    ("S004", "呈贡大学城站", "KM-OUTER", "呈贡区景明南路 1 号", 24.838650, 102.853270, None),
    (
        "S005",
        "安宁连然站",
        "KM-OUTER",
        "安宁市连然街道昆安路 66 号",
        24.919410,
        102.478820,
        (time(6), time(22)),
    ),
    ("S006", "嵩明杨林站", "KM-OUTER", "嵩明县杨林镇 320 国道旁", 25.263580, 103.032190, (time(7), time(21))),
)

# Yunnan guide prices (fen per unit) over the last adjustment windows.
PRICES_EARLIER = {"92": 801, "95": 858, "98": 958, "0": 763, "lng": 530, "cng": 455, "ev": 125}
PRICES_BEFORE = {"92": 788, "95": 844, "98": 944, "0": 751, "lng": 520, "cng": 450, "ev": 125}
PRICES_NOW = {"92": 795, "95": 852, "98": 952, "0": 758, "lng": 525, "cng": 450, "ev": 125}
NEXT_ADJUSTMENT = {"92": -12, "95": -13, "98": -13, "0": -12}

STAFF: tuple[tuple[str, Role, str | None, str], ...] = (
    ("admin", Role.ADMIN, None, "系统管理员"),
    ("marketing", Role.MARKETING, None, "市场部 王芳"),
    ("finance", Role.FINANCE, None, "财务部 李强"),
    ("service", Role.SERVICE, None, "客服 张丽"),
    ("manager", Role.STATION_MANAGER, "S001", "北京路站 站长 赵勇"),
    ("attendant", Role.ATTENDANT, "S001", "北京路站 加油员 陈明"),
    ("agent", Role.AGENT, None, "代理商 刘军"),
    ("partner", Role.PARTNER, None, "合作商户 洁丽洗车"),
)


@dataclass
class DemoSummary:
    staff: list[tuple[str, str, str]] = field(default_factory=list)
    device_id: str = ""
    device_secret: str = ""
    stations: int = 0
    drivers: list[demo_members.DemoDriver] = field(default_factory=list)
    sales: int = 0


def is_loaded(database: Database) -> bool:
    def check(session: Session) -> bool:
        try:
            auth.get_user_by_username(session, "admin")
        except StaffNotFound:
            return False
        return True

    return database.run(check, write=False)


def _station_prices(rng: random.Random, base: dict[str, int]) -> dict[str, int]:
    return {
        grade: price + rng.choice((-3, 0, 0, 2, 5)) if grade != "ev" else price
        for grade, price in base.items()
    }


def load(
    database: Database, keyring: KeyRing, secret_key: str, advance: Callable[[str], None] | None = None
) -> DemoSummary:
    """Create the demo chain; ``advance`` is called once per step (for a progress bar)."""
    step = advance or (lambda _label: None)
    rng = random.Random(20261122)  # noqa: S311 - demo data, not security
    summary = DemoSummary()
    now = utcnow()
    local_midnight = datetime.combine(now.astimezone(chain_zone()).date(), time(0), tzinfo=chain_zone())
    last_adjustment = local_midnight - timedelta(days=9)
    previous_adjustment = local_midnight - timedelta(days=23)
    earlier_adjustment = local_midnight - timedelta(days=HISTORY_DAYS + 10)
    next_adjustment = local_midnight + timedelta(days=5)

    with database.transaction() as session:
        stations.rename_brand(session, DEMO_ACTOR, BRAND_NAME)
        for code, name in REGIONS:
            stations.create_region(session, DEMO_ACTOR, code=code, name=name)
    step("regions")

    for code, name, region, address, lat, lng, hours in STATIONS:
        with database.transaction() as session:
            stations.create_station(
                session,
                DEMO_ACTOR,
                code=code,
                name=name,
                region=region,
                address=address,
                lat=lat,
                lng=lng,
                opens_at=hours[0] if hours else None,
                closes_at=hours[1] if hours else None,
            )
            earlier = _station_prices(rng, PRICES_EARLIER)
            before, current = _station_prices(rng, PRICES_BEFORE), _station_prices(rng, PRICES_NOW)
            for grade in PRICES_NOW:
                stations.set_price(
                    session,
                    DEMO_ACTOR,
                    code,
                    grade=grade,
                    price_fen=earlier[grade],
                    effective_from=earlier_adjustment,
                )
                stations.set_price(
                    session,
                    DEMO_ACTOR,
                    code,
                    grade=grade,
                    price_fen=before[grade],
                    effective_from=previous_adjustment,
                )
                stations.set_price(
                    session,
                    DEMO_ACTOR,
                    code,
                    grade=grade,
                    price_fen=current[grade],
                    effective_from=last_adjustment,
                )
            pumps = []
            nozzle = 1
            for number in range(1, 5):
                grades = ("92", "95", "98") if number <= 2 else ("92", "95", "0")
                pumps.append(
                    stations.PumpSpec(
                        number, tuple(stations.NozzleSpec(nozzle + i, g) for i, g in enumerate(grades))
                    )
                )
                nozzle += len(grades)
            stations.set_pump_layout(session, DEMO_ACTOR, code, pumps)
        summary.stations += 1
        step(f"station {code}")

    with database.transaction() as session:
        for grade, delta in NEXT_ADJUSTMENT.items():
            stations.set_region_price(
                session,
                DEMO_ACTOR,
                "KM-CITY",
                grade=grade,
                price_fen=PRICES_NOW[grade] + delta,
                effective_from=next_adjustment,
            )
    step("scheduled price adjustment")

    with database.transaction() as session:
        for username, role, station_code, display in STAFF:
            station_id = stations.get_station(session, station_code).id if station_code else None
            auth.create_user(
                session,
                DEMO_ACTOR,
                username=username,
                password=DEMO_PASSWORD,
                role=role,
                station_id=station_id,
                display_name=display,
            )
            summary.staff.append(
                (username, DEMO_PASSWORD, role.value + (f" @ {station_code}" if station_code else ""))
            )
            step(f"staff {username}")

    with database.transaction() as session:
        issued = devices.create_device(session, DEMO_ACTOR, keyring, station="S001", name="1号收银台")
        summary.device_id, summary.device_secret = issued.device.id, issued.secret
    step("POS device")
    summary.drivers = demo_members.load_members(
        lambda work: database.run(work), Pii(keyring, secret_key), DEMO_ACTOR, step
    )
    return summary


STEPS = 1 + len(STATIONS) + 1 + len(STAFF) + 1 + demo_members.STEPS


def load_history(
    database: Database,
    keyring: KeyRing,
    settings: Settings,
    *,
    days: int,
    members: int,
    step: Callable[[str], None] | None = None,
    steps: int = 20,
) -> int:
    """The fueling history with its coupons (``forecourt.demo.history``), then yesterday's
    reconciliation of online top-ups (``forecourt.demo.reconciliation``) and a batch of recharge
    cards, some sold and redeemed (``forecourt.demo.recharge_cards``)."""
    signer = signer_for(settings.ledger_signing_key)
    sales = history.load_history(
        database,
        Pii(keyring, settings.secret_key),
        signer,
        DEMO_ACTOR,
        days=days,
        members=members,
        step=step,
        steps=steps,
    )
    demo_reconciliation.load_reconciliation_day(database, settings, signer, DEMO_ACTOR)
    cards_rng = random.Random(20261208)  # noqa: S311 - demo data, not security
    demo_recharge_cards.load_recharge_cards(database, settings, signer, DEMO_ACTOR, cards_rng)
    return sales
