"""The FastAPI application factory: mounts each context's router, errors, middleware, lifecycle."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from forecourt import __version__
from forecourt.auth.service import LoginGuard
from forecourt.config import Settings, get_settings
from forecourt.db.engine import create_db_engine
from forecourt.db.outbox import OutboxWorker
from forecourt.db.session import Database
from forecourt.errors import install_error_handlers
from forecourt.kit.crypto import keyring_for
from forecourt.kit.ratelimit import RateLimiter
from forecourt.kit.request_context import RequestContextMiddleware
from forecourt.ledger.chain import signer_for
from forecourt.members.member_auth import SmsLimits
from forecourt.members.pii import Pii
from forecourt.members.sms import InboxProvider
from forecourt.web.router import mount_web


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    """Build the application. Tests pass their own ``database``; otherwise one is made from settings."""
    settings = settings or get_settings()
    settings.check_production()
    owns_database = database is None
    database = database or Database(create_db_engine(settings))
    worker = (
        OutboxWorker(database, max_attempts=settings.outbox_max_attempts)
        if settings.outbox_dispatch_in_process
        else None
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if worker is not None:
            worker.start()
        try:
            yield
        finally:
            if worker is not None:
                worker.stop()
            if owns_database:
                database.engine.dispose()

    app = FastAPI(
        title="Forecourt",
        summary="Membership, loyalty and marketing platform of a fuel-station chain (加油站会员营销系统)",
        version=__version__,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.database = database
    app.state.keyring = keyring_for(settings.encryption_keys)
    app.state.rate_limiter = RateLimiter(settings.rate_limit_storage)
    app.state.login_guard = LoginGuard(app.state.rate_limiter, settings)
    app.state.pii = Pii(app.state.keyring, settings.secret_key)
    app.state.ledger_signer = signer_for(settings.ledger_signing_key)
    app.state.sms_provider = InboxProvider(echo=settings.sms_echo)
    app.state.sms_limits = SmsLimits(
        app.state.rate_limiter, per_phone=settings.sms_limit_per_phone, per_ip=settings.sms_limit_per_ip
    )

    install_error_handlers(app)
    _include_routers(app)
    mount_web(app)
    app.add_middleware(RequestContextMiddleware)
    return app


def _include_routers(app: FastAPI) -> None:
    from forecourt.audit.endpoints import router as audit_router
    from forecourt.auth.endpoints import router as auth_router
    from forecourt.coupons.endpoints import router as coupons_router
    from forecourt.devices.endpoints import router as devices_router
    from forecourt.finance.endpoints import router as finance_router
    from forecourt.invoices.endpoints import router as invoices_router
    from forecourt.ledger.endpoints import router as ledger_router
    from forecourt.members.auth_endpoints import router as member_auth_router
    from forecourt.members.endpoints import router as members_router
    from forecourt.members.me_endpoints import router as me_router
    from forecourt.ops.endpoints import router as ops_router
    from forecourt.payments.endpoints import router as payments_router
    from forecourt.pos.endpoints import router as pos_router
    from forecourt.reconciliation.endpoints import router as reconciliation_router
    from forecourt.risk.endpoints import router as risk_router
    from forecourt.rules.endpoints import router as rules_router
    from forecourt.stations.endpoints import router as stations_router
    from forecourt.tiers.endpoints import router as tiers_router
    from forecourt.wallet.card_endpoints import router as recharge_cards_router
    from forecourt.wallet.endpoints import router as wallet_router

    for router in (
        ops_router,
        auth_router,
        member_auth_router,
        stations_router,
        devices_router,
        members_router,
        me_router,
        ledger_router,
        tiers_router,
        rules_router,
        coupons_router,
        wallet_router,
        recharge_cards_router,
        payments_router,
        risk_router,
        reconciliation_router,
        invoices_router,
        finance_router,
        pos_router,
        audit_router,
    ):
        app.include_router(router)
