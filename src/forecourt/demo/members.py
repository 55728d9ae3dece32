"""Demo members of a Kunming chain: drivers with plates, vehicles and profiles, made through the same
registration service the API uses. Deterministic (seeded), so every demo looks the same."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy.orm import Session

from forecourt.kit.actor import Actor
from forecourt.kit.clock import utcnow
from forecourt.members import service as members
from forecourt.members import tags, vehicles
from forecourt.members.errors import PlateTaken
from forecourt.members.pii import Pii

MEMBER_COUNT = 2000
BATCH = 200

SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗段普字杨李者和鲁"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红云海燕斌鑫宇浩然子轩梓涵雨欣思远嘉怡俊杰"
MOBILE_PREFIXES = (
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "157",
    "158",
    "159",
    "182",
    "183",
    "187",
    "188",
    "130",
    "131",
    "132",
    "155",
    "156",
    "185",
    "186",
    "133",
    "153",
    "180",
    "181",
    "189",
    "191",
    "199",
    "177",
)
# Kunming is 云A; drivers from Qujing (云D), Yuxi (云F), Chuxiong (云E), Honghe (云G) fill up here too.
PLATE_PREFIXES = ("云A",) * 14 + ("云D", "云F", "云E", "云G", "川A", "贵A")
SERIAL = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
OCCUPATIONS = (
    "网约车司机",
    "出租车司机",
    "货车司机",
    "企业职员",
    "教师",
    "医生",
    "公务员",
    "个体经营",
    "销售",
    "工程师",
    "学生",
    "退休",
    "物流配送",
)
# model, displacement cc, preferred grade
CARS = (
    ("大众 朗逸", 1498, "92"),
    ("丰田 卡罗拉", 1987, "92"),
    ("日产 轩逸", 1598, "92"),
    ("本田 雅阁", 1498, "92"),
    ("吉利 星越L", 1969, "95"),
    ("长安 CS75 PLUS", 1494, "92"),
    ("哈弗 H6", 1497, "92"),
    ("别克 GL8", 1998, "95"),
    ("奥迪 A4L", 1984, "95"),
    ("宝马 3系", 1998, "95"),
    ("奔驰 C级", 1496, "98"),
    ("丰田 普拉多", 3456, "95"),
    ("比亚迪 秦PLUS DM-i", 1498, "92"),
)
TRUCKS = (("解放 J6P", 11050, "0"), ("东风 天龙", 11120, "0"), ("江淮 骏铃", 2771, "0"))
ELECTRIC = (("比亚迪 海豚", None, "ev"), ("五菱 宏光MINI EV", None, "ev"), ("特斯拉 Model 3", None, "ev"))
MANUAL_TAGS = (
    ("ride_hailing", "网约车", "Drives for a ride-hailing platform."),
    ("fleet_prospect", "车队潜客", "Could bring a company fleet."),
    ("complained", "有投诉", "Complained recently; handle with care."),
)


@dataclass
class DemoDriver:
    phone: str
    name: str


def _plate(rng: random.Random, electric: bool) -> str:
    prefix = rng.choice(PLATE_PREFIXES)
    if electric:
        return f"{prefix}{rng.choice('DF')}{rng.choice(SERIAL)}{rng.randrange(10000):04d}"
    return prefix + "".join(rng.choice(SERIAL) for _ in range(5))


def _profile(rng: random.Random) -> tuple[str, str, date, str]:
    gender = rng.choice(("male", "male", "male", "female"))
    name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))
    birthday = date(1960, 1, 1) + timedelta(days=rng.randrange(365 * 44))
    return name, gender, birthday, rng.choice(OCCUPATIONS)


def load_members(
    run: Callable[[Callable[[Session], None]], None], pii: Pii, actor: Actor, step: Callable[[str], None]
) -> list[DemoDriver]:
    """Register MEMBER_COUNT members in batches; returns a few drivers to show in the demo guide."""
    rng = random.Random(20261123)  # noqa: S311 - demo data, not security
    phones: set[str] = set()
    shown: list[DemoDriver] = []
    now = utcnow()

    def make_tags(session: Session) -> None:
        for code, name, description in MANUAL_TAGS:
            tags.create_tag(session, actor, code=code, name=name, description=description)

    run(make_tags)
    for start in range(0, MEMBER_COUNT, BATCH):

        def batch(session: Session, start: int = start) -> None:
            made = 0
            while made < min(BATCH, MEMBER_COUNT - start):
                phone = rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"
                if phone in phones:
                    continue
                phones.add(phone)
                name, gender, birthday, occupation = _profile(rng)
                kind = rng.random()
                car = rng.choice(ELECTRIC if kind < 0.15 else TRUCKS if kind < 0.27 else CARS)
                complete = rng.random() < 0.55
                plate = _plate(rng, car[2] == "ev")
                try:
                    member = members.register(
                        session,
                        actor,
                        pii,
                        members.Registration(
                            phone=phone,
                            name=name,
                            gender=gender,
                            birthday=birthday if complete or rng.random() < 0.5 else None,
                            occupation=occupation if complete else None,
                            plates=[plate],
                            marketing_consent=rng.random() < 0.6,
                            home_station=f"S00{rng.randint(1, 6)}"
                            if complete or rng.random() < 0.3
                            else None,
                        ),
                        source=rng.choice(("staff", "staff", "sms", "sms", "import")),
                    )
                except PlateTaken:
                    continue
                if complete or rng.random() < 0.3:
                    vehicles.add_vehicle(
                        session,
                        actor,
                        member,
                        model=car[0],
                        plate=plate,
                        displacement_cc=car[1],
                        fuel_preference=car[2],
                        yearly_mileage_km=rng.randrange(6, 60) * 1000
                        if car[2] != "0"
                        else rng.randrange(60, 150) * 1000,
                    )
                if occupation == "网约车司机" and rng.random() < 0.7:
                    tags.assign(session, actor, member, "ride_hailing")
                joined = now - timedelta(days=rng.randrange(730), minutes=rng.randrange(1440))
                member.created_at = member.updated_at = joined
                made += 1
                if len(shown) < 3:
                    shown.append(DemoDriver(phone=phone, name=name))

        run(batch)
        step(f"members {min(start + BATCH, MEMBER_COUNT)}/{MEMBER_COUNT}")
    return shown


STEPS = MEMBER_COUNT // BATCH
