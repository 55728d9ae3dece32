"""Liveness, readiness and metrics. Public by design: they reveal no business data."""

from __future__ import annotations

from typing import Any

from alembic.runtime.migration import MigrationContext
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from forecourt.auth.dependencies import PUBLIC
from forecourt.db.migrate import head_revision

router = APIRouter(tags=["operations"], dependencies=[PUBLIC])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "Not ready"}})
async def readyz(request: Request) -> Response:
    """The database answers and its schema is at the code's migration head."""
    engine = request.app.state.database.engine

    def check() -> dict[str, Any]:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            current = MigrationContext.configure(connection).get_current_revision()
        return {"database": "ok", "schema": current, "expected_schema": head_revision()}

    try:
        report = await run_in_threadpool(check)
    except Exception as exc:
        return JSONResponse({"status": "unavailable", "database": type(exc).__name__}, status_code=503)
    ready = report["schema"] == report["expected_schema"]
    return JSONResponse(
        {"status": "ok" if ready else "migrations_pending", **report}, status_code=200 if ready else 503
    )


@router.get("/metrics")
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
