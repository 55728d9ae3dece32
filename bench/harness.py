"""Shared benchmark plumbing: fresh databases, timing, and the figures table.

A benchmark is a function ``(database, settings) -> list[Figure]`` registered with ``@benchmark``.
``python -m bench`` runs each on a fresh SQLite file and a fresh PostgreSQL database and prints
every figure; nothing here asserts a timing.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from forecourt.config import Settings
from forecourt.db.engine import create_db_engine
from forecourt.db.migrate import migrate
from forecourt.db.session import Database

POSTGRES_URL = os.environ.get("FORECOURT_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


@dataclass(frozen=True)
class Figure:
    name: str
    value: float
    unit: str
    note: str = ""


Benchmark = Callable[[Database, Settings], list[Figure]]
BENCHMARKS: dict[str, Benchmark] = {}


def benchmark(name: str) -> Callable[[Benchmark], Benchmark]:
    def register(function: Benchmark) -> Benchmark:
        BENCHMARKS[name] = function
        return function

    return register


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def latency_figures(prefix: str, seconds: list[float]) -> list[Figure]:
    return [
        Figure(f"{prefix} p50", percentile(seconds, 0.50) * 1000, "ms"),
        Figure(f"{prefix} p99", percentile(seconds, 0.99) * 1000, "ms"),
        Figure(f"{prefix} mean", statistics.fmean(seconds) * 1000, "ms"),
    ]


def timed(samples: list[float]) -> Callable[[Callable[[], object]], object]:
    def run(work: Callable[[], object]) -> object:
        started = time.perf_counter()
        result = work()
        samples.append(time.perf_counter() - started)
        return result

    return run


@contextmanager
def fresh_database(kind: str) -> Iterator[tuple[Database, Settings]]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as directory:
            settings = Settings(
                database_url=f"sqlite:///{Path(directory) / 'bench.sqlite3'}", log_level="WARNING"
            )
            database = Database(create_db_engine(settings))
            migrate(database.engine)
            try:
                yield database, settings
            finally:
                database.engine.dispose()
        return
    admin_url = Settings(database_url=POSTGRES_URL).database_url
    name = f"forecourt_bench_{os.getpid()}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    settings = Settings(database_url=url, log_level="WARNING", db_pool_size=20)
    database = Database(create_db_engine(settings))
    migrate(database.engine)
    try:
        yield database, settings
    finally:
        database.engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
