"""A station's price history a page at a time, for the admin console (newest effective first, as
``service.price_history``), with the number of rows so pages can be numbered."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from forecourt.stations.models import StationPrice
from forecourt.stations.service import get_grade, get_station


def price_history_page(
    session: Session, code: str, *, grade: str | None = None, offset: int = 0, limit: int = 25
) -> tuple[Sequence[StationPrice], int]:
    station = get_station(session, code)
    conditions = [StationPrice.station_id == station.id]
    if grade:
        conditions.append(StationPrice.grade_code == get_grade(session, grade).code)
    rows = session.scalars(
        select(StationPrice)
        .where(*conditions)
        .order_by(StationPrice.effective_from.desc(), StationPrice.recorded_at.desc(), StationPrice.id.desc())
        .offset(offset)
        .limit(limit)
    ).all()
    total = session.scalar(select(func.count()).select_from(StationPrice).where(*conditions))
    return rows, int(total or 0)
