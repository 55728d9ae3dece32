"""The funds-flow report (SPEC W7): where wallet money and sale payments came from and went, per
chain-time day, station and method, for any period. Reads only."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.orm import Session

from forecourt.errors import InvalidRequest
from forecourt.finance import repository
from forecourt.finance.domain import FIGURES, WALLET_METHOD, Book, FlowRow, total, wallet_figure
from forecourt.finance.schemas import DayRead, FlowFigures, FlowRowRead, FundsFlowRead, MethodRead
from forecourt.kit.clock import chain_date, chain_zone

MAX_DAYS = 366


def window(date_from: date, date_to: date) -> tuple[datetime, datetime]:
    """The UTC instants from the start of ``date_from`` to the end of ``date_to``, chain time."""
    if date_to < date_from:
        raise InvalidRequest("date_to is before date_from.", date_from=str(date_from), date_to=str(date_to))
    if (date_to - date_from).days >= MAX_DAYS:
        raise InvalidRequest(f"A report covers at most {MAX_DAYS} days.", max_days=MAX_DAYS)
    zone = chain_zone()
    start = datetime.combine(date_from, time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(date_to + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    return start, end


def _method_of(reason: str, meta: dict[str, object], providers: dict[str, str]) -> str:
    """``wallet`` for sales and their refunds; a top-up's method; the provider of a refunded online
    top-up (its posting names the payment intent)."""
    if reason in ("wallet.sale", "wallet.refund"):
        return WALLET_METHOD
    method = meta.get("method")
    if isinstance(method, str) and method:
        return method
    intent = meta.get("intent_id")
    if isinstance(intent, str) and intent in providers:
        return providers[intent]
    return "online" if reason.startswith("wallet.top_up_refund") else WALLET_METHOD


def rows(session: Session, date_from: date, date_to: date, station: str | None = None) -> list[FlowRow]:
    start, end = window(date_from, date_to)
    book = Book()
    entries = list(repository.wallet_entries(session, start, end, station))
    providers = repository.intent_providers(
        session, {str(meta["intent_id"]) for _, _, _, meta, _, _ in entries if meta.get("intent_id")}
    )
    for moment, code, reason, meta, purpose, amount in entries:
        figure, value = wallet_figure(reason, purpose, amount)
        book.add(chain_date(moment), code, _method_of(reason, meta, providers), figure, value)
    for moment, code, method, amount in repository.external_payments(session, start, end, station):
        book.add(chain_date(moment), code, method, "external_paid_fen", amount)
    for moment, code, method, amount in repository.external_refunds(session, start, end, station):
        book.add(chain_date(moment), code, method, "external_refunded_fen", amount)
    return book.rows()


def funds_flow(session: Session, date_from: date, date_to: date, station: str | None = None) -> FundsFlowRead:
    """The report for chain-time days ``date_from``..``date_to`` (inclusive), one station or all."""
    found = rows(session, date_from, date_to, station)
    by_day: dict[date, dict[str, int]] = {}
    by_method: dict[str, dict[str, int]] = {}
    for row in found:
        for bucket in (
            by_day.setdefault(row.day, dict.fromkeys(FIGURES, 0)),
            by_method.setdefault(row.method, dict.fromkeys(FIGURES, 0)),
        ):
            for name, amount in row.figures().items():
                bucket[name] += amount
    return FundsFlowRead(
        date_from=date_from,
        date_to=date_to,
        station=station,
        time_zone=str(chain_zone()),
        rows=[
            FlowRowRead(day=row.day, station=row.station, method=row.method, **row.figures()) for row in found
        ],
        by_day=[DayRead(day=day, **figures) for day, figures in sorted(by_day.items())],
        by_method=[MethodRead(method=method, **figures) for method, figures in sorted(by_method.items())],
        totals=FlowFigures(**total(found)),
    )
