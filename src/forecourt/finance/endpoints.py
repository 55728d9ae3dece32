"""Finance reports (SPEC W7): the funds flow as JSON or as an Excel workbook."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Depends, Query
from fastapi.responses import Response
from sqlalchemy.orm import Session

from forecourt.auth.dependencies import require
from forecourt.auth.permissions import Permission
from forecourt.db.session import api_router, get_session
from forecourt.finance import service
from forecourt.finance.schemas import FundsFlowRead
from forecourt.finance.workbook import workbook_bytes
from forecourt.kit.actor import Actor

router = api_router(prefix="/api/v1", tags=["finance"])

SessionDep = Annotated[Session, Depends(get_session)]
Finance = Annotated[Actor, require(Permission.REPORTS_FINANCE)]
Station = Annotated[str | None, Query(max_length=32)]

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/finance/funds-flow", response_model=FundsFlowRead)
def funds_flow(
    date_from: date, date_to: date, session: SessionDep, _: Finance, station: Station = None
) -> FundsFlowRead:
    """Wallet money and sale payments per chain-time day, station and method (fen)."""
    return service.funds_flow(session, date_from, date_to, station)


@router.get("/finance/funds-flow.xlsx", response_class=Response)
def funds_flow_workbook(
    date_from: date, date_to: date, session: SessionDep, _: Finance, station: Station = None
) -> Response:
    """The same report as an Excel workbook (amounts in yuan)."""
    report = service.funds_flow(session, date_from, date_to, station)
    name = f"funds-flow-{date_from.isoformat()}-{date_to.isoformat()}.xlsx"
    return Response(
        content=workbook_bytes(report),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
