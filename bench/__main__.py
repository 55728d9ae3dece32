"""``python -m bench [--db sqlite|postgres|both] [--only NAME ...]``: run the benchmarks, print figures."""

from __future__ import annotations

import argparse
import importlib
import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench.harness import BENCHMARKS, fresh_database
from forecourt.kit.logging import configure_logging

MODULES = (
    "bench.bench_foundation",
    "bench.bench_members",
    "bench.bench_ledger",
    "bench.bench_pos",
    "bench.bench_coupons",
    "bench.bench_wallet",
)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--only", nargs="*", help="benchmark names to run (default all)")
    args = parser.parse_args()
    configure_logging("WARNING", "console")
    for module in MODULES:
        importlib.import_module(module)
    kinds = ("sqlite", "postgres") if args.db == "both" else (args.db,)
    console = Console(width=150)
    results: list[dict[str, object]] = []
    table = Table(title="Forecourt benchmarks")
    for column in ("benchmark", "database", "figure", "value", "unit", "note"):
        table.add_column(column, justify="right" if column == "value" else "left")
    for name, run in BENCHMARKS.items():
        if args.only and name not in args.only:
            continue
        for kind in kinds:
            console.print(f"running [bold]{name}[/bold] on {kind} …")
            with fresh_database(kind) as (database, settings):
                for figure in run(database, settings):
                    table.add_row(name, kind, figure.name, f"{figure.value:,.2f}", figure.unit, figure.note)
                    results.append({"benchmark": name, "database": kind, **figure.__dict__})
    console.print(table)
    out = Path("bench/results")
    out.mkdir(parents=True, exist_ok=True)
    (out / "latest.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
