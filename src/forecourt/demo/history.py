"""Ninety days of fueling for the demo chain, committed through the POS service exactly as each
station's terminal would have committed them at the time: prices in force then, tier discounts,
earning rules, points redeemed and earned, tier upgrades, events.

Drivers follow personas: commuters (92#, weekday rush hours, their home station), ride-hailing
drivers (every day or two, all over the city), diesel trucks (big fills at the outer stations),
weekend drivers (premium grades, a car wash now and then), EV drivers, occasional visitors, and a
few who stop coming half-way. Price-minded personas let the terminal pick their coupons
(``"coupons": "auto"``), so the coupons of ``forecourt.demo.coupons`` are used by the same checkout;
wallet users (``forecourt.demo.wallet``) pay from their stored value (``"wallet": true``) and top
up when it runs low.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.db.outbox import dispatch_due
from forecourt.db.session import Database
from forecourt.demo import coupons as demo_coupons
from forecourt.demo import wallet as demo_wallet
from forecourt.devices.service import DeviceIdentity
from forecourt.kit.actor import Actor
from forecourt.kit.clock import chain_zone, utcnow
from forecourt.ledger.chain import Signer
from forecourt.members.models import Member, Vehicle
from forecourt.members.pii import Pii
from forecourt.pos import service as pos
from forecourt.pos.schemas import CommitRequest, FuelLine, GoodsLine, MemberIdentifier, Payment, Redeem
from forecourt.stations import service as stations

CITY = ("S001", "S002", "S003")
OUTER = ("S004", "S005", "S006")
METHODS = ("wechat",) * 5 + ("alipay",) * 3 + ("cash", "bank_card")
SHOP = (("WASH-STD", "car_wash", 3000), ("WATER-550", "shop", 200), ("OIL-5W30", "lubricant", 26800))


@dataclass(frozen=True)
class Persona:
    name: str
    share: float
    every_days: tuple[float, float]
    liters: tuple[int, int]
    stations: tuple[str, ...]
    hours: tuple[int, ...]
    weekends_only: bool = False
    stops_after_days: tuple[int, int] | None = None


PERSONAS = (
    Persona("commuter", 0.34, (5, 9), (30, 45), CITY, (7, 8, 17, 18, 19)),
    Persona("ride_hailing", 0.08, (1, 2.5), (35, 50), (*CITY, "S004"), tuple(range(6, 22))),
    Persona("weekend", 0.18, (6, 14), (40, 55), CITY + OUTER, tuple(range(9, 18)), weekends_only=True),
    Persona("occasional", 0.25, (20, 45), (20, 45), CITY + OUTER, tuple(range(8, 20))),
    Persona("lapsed", 0.07, (5, 10), (30, 45), CITY, (8, 12, 18), stops_after_days=(25, 50)),
)
TRUCK = Persona("diesel_truck", 0.0, (3, 6), (150, 320), OUTER, tuple(range(7, 19)))
EV = Persona("ev", 0.0, (3, 6), (25, 55), CITY, tuple(range(7, 22)))
COUPON_SHARE = {"ride_hailing": 0.8, "commuter": 0.5, "diesel_truck": 0.5, "weekend": 0.3, "occasional": 0.2}
"""How often a persona's sales ask the terminal for the best coupons (``"coupons": "auto"``)."""


@dataclass(frozen=True)
class PlannedSale:
    at: datetime
    member_id: uuid.UUID
    station: str
    grade: str
    liters: Decimal
    goods: tuple[tuple[str, str, int], ...]
    redeem_points: bool
    method: str
    persona: str = ""
    use_coupons: bool = False
    use_wallet: bool = False


def _persona(rng: random.Random, fuel: str | None) -> Persona:
    if fuel == "0":
        return TRUCK
    if fuel == "ev":
        return EV
    pick = rng.random() * sum(p.share for p in PERSONAS)
    for persona in PERSONAS:
        pick -= persona.share
        if pick <= 0:
            return persona
    return PERSONAS[0]


def plan(
    rng: random.Random, drivers: Sequence[tuple[uuid.UUID, str | None]], start: datetime, end: datetime
) -> list[PlannedSale]:
    """Every sale of the period, in time order."""
    planned: list[PlannedSale] = []
    days = (end - start).days
    for member_id, fuel in drivers:
        persona = _persona(rng, fuel)
        home = rng.choice(persona.stations)
        grade = (
            fuel
            if fuel in ("0", "ev")
            else ("95" if persona.name == "weekend" and rng.random() < 0.6 else "92")
        )
        stop = rng.randint(*persona.stops_after_days) if persona.stops_after_days else days + 1
        day = rng.uniform(0, persona.every_days[1])
        while day < min(days, stop):
            date = (start + timedelta(days=day)).astimezone(chain_zone()).date()
            if persona.weekends_only and date.isoweekday() < 6:
                date += timedelta(days=6 - date.isoweekday())
            at = datetime.combine(
                date, time(rng.choice(persona.hours), rng.randrange(60)), tzinfo=chain_zone()
            )
            if start <= at < end:
                goods = tuple(
                    item for item in SHOP if rng.random() < (0.12 if item[1] == "car_wash" else 0.05)
                )
                planned.append(
                    PlannedSale(
                        at=at,
                        member_id=member_id,
                        station=home if rng.random() < 0.75 else rng.choice(persona.stations),
                        grade=grade,
                        liters=Decimal(rng.randint(persona.liters[0] * 100, persona.liters[1] * 100)) / 100,
                        goods=goods,
                        redeem_points=rng.random() < 0.08,
                        method=rng.choice(METHODS),
                        persona=persona.name,
                    )
                )
            day += rng.uniform(*persona.every_days)
    return sorted(planned, key=lambda sale: (sale.at, sale.member_id))


def _drivers(session: Session, limit: int) -> list[tuple[uuid.UUID, str | None]]:
    """Members with the fuel their vehicle takes (None when they registered no vehicle). The demo
    reads them back directly: it is a loader, not a context."""
    fuels = {
        row.member_id: row.fuel_preference
        for row in session.execute(select(Vehicle.member_id, Vehicle.fuel_preference))
    }
    ids = session.scalars(select(Member.id).where(Member.status == "active").order_by(Member.id).limit(limit))
    return [(member_id, fuels.get(member_id)) for member_id in ids]


def load_history(
    database: Database,
    pii: Pii,
    signer: Signer,
    actor: Actor,
    *,
    days: int = 90,
    members: int = 2000,
    step: Callable[[str], None] | None = None,
    steps: int = 20,
) -> int:
    """Commit the planned sales of the last ``days`` for up to ``members`` drivers; returns how
    many. Their coupons are issued first, then the members' own events (welcome points, the
    new-member pack of the others) are handled. ``step`` is called ``steps`` times along the way
    (for a progress bar)."""
    rng = random.Random(20261125)  # noqa: S311 - demo data, not security
    coupon_rng = random.Random(20261108)  # noqa: S311 - a stream of its own: the plan stays the same
    end = utcnow() - timedelta(minutes=5)
    start = end - timedelta(days=days)
    drivers = database.run(lambda session: _drivers(session, members), write=False)
    wallet_rng = random.Random(20261201)  # noqa: S311 - a stream of its own as well
    planned = [
        replace(sale, use_coupons=coupon_rng.random() < COUPON_SHARE.get(sale.persona, 0.0))
        for sale in plan(rng, drivers, start, end)
    ]
    payers = demo_wallet.wallet_payers(wallet_rng, {sale.member_id: sale.persona for sale in planned})
    planned = [replace(sale, use_wallet=sale.member_id in payers) for sale in planned]
    demo_coupons.before_history(
        database, actor, [member_id for member_id, _ in drivers], start, end, coupon_rng
    )
    demo_wallet.holders(
        database, signer, actor, wallet_rng, [member_id for member_id, _ in drivers], payers, start, end
    )
    dispatch_due(database)

    def devices(session: Session) -> dict[str, DeviceIdentity]:
        return {
            code: DeviceIdentity(
                device_id=f"demo-pos-{code}", station_id=stations.get_station(session, code).id
            )
            for code in CITY + OUTER
        }

    terminals = database.run(devices, write=False)
    report_every = max(1, len(planned) // steps)
    for n, sale in enumerate(planned, start=1):
        body = _request(sale, n)

        def commit(
            session: Session, sale: PlannedSale = sale, body: CommitRequest = body, n: int = n
        ) -> None:
            now = sale.at + timedelta(minutes=3)
            if not sale.use_wallet:
                pos.commit(
                    session,
                    pii,
                    signer,
                    terminals[sale.station],
                    body,
                    pay_due_with=sale.method,  # type: ignore[arg-type]
                    now=now,
                )
                return
            demo_wallet.top_up_if_low(
                session, signer, actor, wallet_rng, sale.member_id, sale.at, sale.station, f"sale:{n}"
            )
            # the terminal quotes first: the wallet pays what it can, the rest is due
            station = stations.get_station(session, sale.station)
            due = pos.price_basket(session, pii, station, body, now).checkout.due_fen
            payments = [Payment(method=sale.method, amount_fen=due)] if due else []  # type: ignore[arg-type]
            pos.commit(
                session,
                pii,
                signer,
                terminals[sale.station],
                body.model_copy(update={"payments": payments}),
                now=now,
            )

        database.run(commit)
        if step is not None and n % report_every == 0 and n // report_every <= steps:
            step(f"fueling history {n:,}/{len(planned):,}")
    demo_coupons.after_history(database, actor)
    return len(planned)


def _request(sale: PlannedSale, n: int) -> CommitRequest:
    lines: list[FuelLine | GoodsLine] = [
        FuelLine(line_id="1", kind="fuel", grade=sale.grade, liters=sale.liters)
    ]
    for index, (sku, category, price) in enumerate(sale.goods, start=2):
        lines.append(
            GoodsLine(
                line_id=str(index),
                kind="goods",
                sku=sku,
                category=category,
                quantity=1 if category != "shop" else 2,
                unit_price_fen=price,
            )
        )
    return CommitRequest(
        station=sale.station,
        member=MemberIdentifier(type="member_id", value=str(sale.member_id)),
        occurred_at=sale.at,
        lines=lines,
        redeem=Redeem(
            coupons="auto" if sale.use_coupons else [],
            points="auto" if sale.redeem_points else 0,
            wallet=sale.use_wallet,
        ),
        pos_txn_id=f"H{sale.at:%Y%m%d}{n:07d}",
        payments=[],
    )
