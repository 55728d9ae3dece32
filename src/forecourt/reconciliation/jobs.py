"""Jobs of the reconciliation context: ``reconcile`` compares the day before ``at`` (chain time).

``params`` are not part of the job runner, so statement files are imported through the API (or
``service.import_statement``); the job reconciles every provider with a statement that day. Running
it twice for the same ``at`` changes nothing the second time.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from forecourt.jobs.registry import JobContext, job
from forecourt.kit.clock import chain_date
from forecourt.reconciliation import domain, service


@job("reconcile", "Compare yesterday's (chain time) provider statements with our payments")
def reconcile(ctx: JobContext) -> dict[str, Any]:
    day = chain_date(ctx.at) - timedelta(days=1)
    providers = ctx.database.run(lambda s: service.providers_to_reconcile(s, day), write=False)
    report: dict[str, Any] = {"business_date": day.isoformat(), "providers": {}}
    for provider in providers:

        def work(session: Session, provider: str = provider) -> dict[str, Any]:
            return dict(service.reconcile(session, provider, day).summary)

        summary = ctx.database.run(work)
        report["providers"][provider] = {
            name: summary[name]["count"] for name in ("matched", *domain.DIFFERENCES)
        } | {"items": summary["items"]}
    return report
