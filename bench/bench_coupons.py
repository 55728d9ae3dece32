"""Coupon figures (SPEC C3, C5): a claim burst on a template with little stock, and the best-combination
search the checkout runs for ``"coupons": "auto"``.

- ``coupon claims``: 20,000 distinct members claim a template with stock 1,000 from 16 threads, each
  claim in its own transaction through ``coupons.issuance.claim`` (as the endpoint does). Exactly
  1,000 must succeed (the bench fails loudly otherwise); claims/s and p50/p99 latency are printed.
- ``coupon optimizer``: ``coupons.domain.best_combination`` on a realistic basket (40 L of 95# and a
  car wash) for wallets of 10 and 50 mixed coupons with points ``auto``, and the worst case we could
  construct: 50 amount-off coupons of distinct templates without thresholds, at most 3 per order.
"""

from __future__ import annotations

import functools
import random
import statistics
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bench.bench_members import _load_members
from bench.harness import Figure, benchmark, percentile
from forecourt.config import Settings
from forecourt.coupons import issuance, templates
from forecourt.coupons.domain import HeldCoupon, Item, Occasion, Terms, best_combination
from forecourt.coupons.errors import CouponOutOfStock
from forecourt.coupons.models import Coupon, CouponStock
from forecourt.coupons.schemas import TemplateCreate
from forecourt.db.session import Database
from forecourt.kit.actor import SYSTEM
from forecourt.kit.clock import chain_zone, utcnow
from forecourt.kit.crypto import keyring_for
from forecourt.members.models import Member
from forecourt.members.pii import Pii
from forecourt.pos.checkout import POINT_STEP_FEN, points_value_fen

CLAIMERS = 20_000
STOCK = 1_000
THREADS = 16
TEMPLATE = "BENCH-RUSH"


@benchmark("coupon claims")
def coupon_claims(database: Database, settings: Settings) -> list[Figure]:
    pii = Pii(keyring_for(settings.encryption_keys), settings.secret_key)
    _load_members(database, pii, 0, CLAIMERS)
    with database.transaction(write=False) as session:
        members = list(session.scalars(select(Member.id)))
    assert len(members) == CLAIMERS, len(members)
    random.Random(8).shuffle(members)
    with database.transaction() as session:
        templates.create_template(
            session,
            SYSTEM,
            TemplateCreate.model_validate(
                {
                    "code": TEMPLATE,
                    "name": "压测 限量券 满100减20",
                    "kind": "amount_off",
                    "terms": {"amount_off_fen": 2000, "threshold_fen": 10000},
                    "valid_days": 7,
                    "total_stock": STOCK,
                    "per_member_limit": 1,
                    "claimable": True,
                }
            ),
        )
    now = utcnow()
    latencies: list[float] = []
    successful: list[float] = []
    outcomes = {"claimed": 0, "out_of_stock": 0}
    errors: list[BaseException] = []
    lock = threading.Lock()

    def claimer(offset: int) -> None:
        mine: list[float] = []
        won: list[float] = []
        claimed = refused = 0
        try:
            for member_id in members[offset::THREADS]:
                started = time.perf_counter()
                try:
                    database.run(functools.partial(_claim, member_id=member_id, now=now))
                    claimed += 1
                    won.append(time.perf_counter() - started)
                except CouponOutOfStock:
                    refused += 1
                mine.append(time.perf_counter() - started)
        except BaseException as exc:
            errors.append(exc)
        with lock:
            latencies.extend(mine)
            successful.extend(won)
            outcomes["claimed"] += claimed
            outcomes["out_of_stock"] += refused

    threads = [threading.Thread(target=claimer, args=(offset,)) for offset in range(THREADS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    if errors:
        raise errors[0]
    with database.transaction(write=False) as session:
        rows = session.scalar(select(func.count()).select_from(Coupon))
        stock = session.scalar(select(func.sum(CouponStock.issued)))
    if not outcomes["claimed"] == rows == stock == STOCK:
        raise AssertionError(
            f"coupon claims: {outcomes['claimed']} claims succeeded, {rows} coupons exist and the "
            f"stock counts {stock}; exactly {STOCK} were expected"
        )
    return [
        Figure("claims", CLAIMERS, "claims", f"{THREADS} threads, one transaction each"),
        Figure("claims succeeded", outcomes["claimed"], "claims", f"stock {STOCK}: must be exactly {STOCK}"),
        Figure("refused out of stock", outcomes["out_of_stock"], "claims"),
        Figure("claim throughput", CLAIMERS / seconds, "claims/s", f"{seconds:.1f} s in all"),
        Figure("claim p50", percentile(latencies, 0.50) * 1000, "ms", "every claim, refused ones included"),
        Figure("claim p99", percentile(latencies, 0.99) * 1000, "ms"),
        Figure("successful claim p50", percentile(successful, 0.50) * 1000, "ms", "the 1,000 that got one"),
        Figure("successful claim p99", percentile(successful, 0.99) * 1000, "ms"),
    ]


def _claim(session: Session, *, member_id: uuid.UUID, now: datetime) -> None:
    issuance.claim(session, SYSTEM, member_id, TEMPLATE, now)


# --- the optimizer ---------------------------------------------------------------------------------


NOW = datetime(2026, 11, 21, 2, 30, tzinfo=UTC)  # a Saturday, 10:30 in Kunming
OCCASION = Occasion(at=NOW, local=NOW.astimezone(chain_zone()), station="S001", region="KM-CITY", tier="gold")
BASKET = (
    Item("1", "fuel", "fuel", net_fen=33_744, unit_price_fen=852, grade="95", liters=Decimal("40.00")),
    Item("2", "goods", "car_wash", net_fen=3_000, unit_price_fen=3_000, sku="WASH-STD"),
)
"""40 L of 95# at ¥8.52 less a 1% gold discount, and a ¥30 car wash."""
MIXED: tuple[Terms, ...] = (
    Terms("amount_off", amount_off_fen=1000, threshold_fen=10_000),
    Terms("amount_off", amount_off_fen=2000, threshold_fen=20_000),
    Terms("amount_off", amount_off_fen=3800, threshold_fen=30_000),
    Terms("amount_off", amount_off_fen=1500, threshold_fen=10_000),
    Terms("amount_off", amount_off_fen=500),
    Terms("amount_off", amount_off_fen=5000, threshold_fen=50_000),
    Terms("amount_off", amount_off_fen=1200, threshold_fen=15_000, grades=frozenset({"95", "98"})),
    Terms("amount_off", amount_off_fen=800, grades=frozenset({"92"})),
    Terms("amount_off", amount_off_fen=3000, threshold_fen=20_000, exclusive=True),
    Terms("amount_off", amount_off_fen=1000, stations=frozenset({"S004"})),
    Terms("percent_off", percent_off_bp=1000, cap_fen=2000, categories=frozenset({"fuel"})),
    Terms("percent_off", percent_off_bp=500, cap_fen=3000),
    Terms("percent_off", percent_off_bp=1500, cap_fen=1500, weekdays=frozenset({1, 2, 3})),
    Terms("per_liter", per_liter_fen=50, max_liters=Decimal(40)),
    Terms("per_liter", per_liter_fen=30, grades=frozenset({"95"})),
    Terms("per_liter", per_liter_fen=80, max_liters=Decimal(30), stack_group="fuel-special"),
    Terms("voucher", amount_off_fen=4000, categories=frozenset({"car_wash"})),
    Terms("voucher", skus=frozenset({"WATER-550"})),
    Terms("amount_off", amount_off_fen=2000, threshold_fen=20_000, stack_group="fuel-special"),
    Terms("amount_off", amount_off_fen=600, categories=frozenset({"car_wash"})),
)


def _wallet(size: int, rng: random.Random) -> list[HeldCoupon]:
    """``size`` coupons drawn from the mixed templates (some held twice), expiring over a month."""
    wallet = []
    for n in range(size):
        index = n if n < len(MIXED) else rng.randrange(len(MIXED))
        wallet.append(
            HeldCoupon(
                id=uuid.UUID(int=rng.getrandbits(128)),
                template=f"T{index:02d}",
                title=f"券 {index}",
                terms=MIXED[index],
                valid_from=NOW - timedelta(days=5),
                expires_at=NOW + timedelta(days=rng.randrange(1, 30), hours=rng.randrange(24)),
            )
        )
    return wallet


WORST_VALUES = {
    "equal values": lambda n: 500,
    "distinct whole-yuan values": lambda n: 500 + 100 * n,
    "distinct values in fen": lambda n: 500 + 10 * n,
}
"""Amounts of the 50 coupons. Points pay whole yuan, so with a large balance the fen left over
decides between sets; amounts in fen (¥5.10, ¥5.20 …) make every 3-set a contender."""


def _worst(values: str) -> list[HeldCoupon]:
    """50 amount-off coupons of distinct templates, no thresholds: every 3-set applies."""
    return [
        HeldCoupon(
            id=uuid.UUID(int=n + 1),
            template=f"W{n:02d}",
            title=f"立减 {n}",
            terms=Terms("amount_off", amount_off_fen=WORST_VALUES[values](n)),
            valid_from=NOW - timedelta(days=5),
            expires_at=NOW + timedelta(days=10),
        )
        for n in range(50)
    ]


def _time_calls(wallets: list[list[HeldCoupon]], points: int, calls: int) -> tuple[list[float], int]:
    payable = sum(item.net_fen for item in BASKET)
    ceiling = points_value_fen("auto", points, payable) or 0

    def value(left: int) -> int | None:
        return points_value_fen("auto", points, left)

    samples: list[float] = []
    chosen = 0
    for n in range(calls):
        wallet = wallets[n % len(wallets)]
        started = time.perf_counter()
        best = best_combination(wallet, OCCASION, BASKET, 3, value, ceiling, POINT_STEP_FEN)
        samples.append(time.perf_counter() - started)
        chosen += len(best)
    return samples, chosen


def _figures(label: str, samples: list[float], chosen: int) -> list[Figure]:
    return [
        Figure(
            f"{label} mean",
            statistics.fmean(samples) * 1e6,
            "µs",
            f"40 L 95# + car wash, max 3; {chosen / len(samples):.1f} coupons chosen per call",
        ),
        Figure(f"{label} p99", percentile(samples, 0.99) * 1e6, "µs"),
    ]


@benchmark("coupon optimizer")
def coupon_optimizer(database: Database, settings: Settings) -> list[Figure]:
    """Pure arithmetic: run once (on SQLite's turn)."""
    if database.engine.dialect.name != "sqlite":
        return []
    rng = random.Random(125)
    figures: list[Figure] = []
    for size, calls in ((10, 5_000), (50, 2_000)):
        wallets = [_wallet(size, rng) for _ in range(50)]
        for points, who in ((0, "no points"), (2_500, "2,500 points"), (100_000, "100,000 points")):
            samples, chosen = _time_calls(wallets, points, calls)
            figures += _figures(f"wallet of {size}, {who}", samples, chosen)
    worst: list[tuple[float, str]] = []
    for values in WORST_VALUES:
        for points in (0, 100_000):
            samples, _ = _time_calls([_worst(values)], points, 20)
            label = f"{values}, {points:,} points"
            worst.append((statistics.fmean(samples), label))
            figures.append(Figure(f"worst case: {label}", statistics.fmean(samples) * 1e6, "µs"))
    slowest = max(worst)
    figures.append(
        Figure(
            "worst case found",
            slowest[0] * 1e6,
            "µs",
            f"50 amount-off templates, no thresholds, max 3: {slowest[1]}",
        )
    )
    return figures
