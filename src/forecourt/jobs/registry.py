"""The job registry and runner.

A job is a function of a ``JobContext`` (database, settings, the moment ``at`` it runs for) that
opens its own transactions per unit of work and returns a small report. Jobs must be idempotent and
resumable: running one twice for the same ``at`` changes nothing the second time, and a run that
died half-way is finished by the next. Every run is logged in ``job_runs``.
"""

from __future__ import annotations

import importlib
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic_core import to_jsonable_python

from forecourt.config import Settings
from forecourt.db.session import Database
from forecourt.jobs.models import JobRun
from forecourt.kit.clock import utcnow
from forecourt.kit.ids import new_id

# Modules whose import registers jobs.
JOB_MODULES = (
    "forecourt.jobs.builtin",
    "forecourt.members.jobs",
    "forecourt.ledger.jobs",
    "forecourt.tiers.jobs",
    "forecourt.pos.jobs",
    "forecourt.coupons.jobs",
    "forecourt.reconciliation.jobs",
    "forecourt.wallet.jobs",
)


@dataclass(frozen=True)
class JobContext:
    database: Database
    settings: Settings
    at: datetime


JobFunction = Callable[[JobContext], dict[str, Any]]


@dataclass(frozen=True)
class Job:
    name: str
    description: str
    run: JobFunction


_jobs: dict[str, Job] = {}


def job(name: str, description: str) -> Callable[[JobFunction], JobFunction]:
    def register(function: JobFunction) -> JobFunction:
        _jobs[name] = Job(name, description, function)
        return function

    return register


def all_jobs() -> list[Job]:
    for module in JOB_MODULES:
        importlib.import_module(module)
    return sorted(_jobs.values(), key=lambda j: j.name)


class UnknownJob(LookupError):
    pass


def run_job(database: Database, settings: Settings, name: str, at: datetime | None = None) -> dict[str, Any]:
    jobs = {j.name: j for j in all_jobs()}
    if name not in jobs:
        raise UnknownJob(name)
    moment = at or utcnow()
    run_id = new_id()
    with database.transaction() as session:
        session.add(JobRun(id=run_id, name=name, at=moment, started_at=utcnow(), status="running"))
    try:
        result = jobs[name].run(JobContext(database=database, settings=settings, at=moment))
    except Exception as exc:
        with database.transaction() as session:
            run = session.get_one(JobRun, run_id)
            run.status, run.finished_at, run.error = (
                "failed",
                utcnow(),
                "".join(traceback.format_exception(exc))[-4000:],
            )
        raise
    with database.transaction() as session:
        run = session.get_one(JobRun, run_id)
        run.status, run.finished_at, run.result = "succeeded", utcnow(), to_jsonable_python(result)
    return result
