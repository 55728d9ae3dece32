"""The ``forecourt`` command line (Typer)."""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from forecourt import __version__
from forecourt.config import Settings, get_settings
from forecourt.db.engine import create_db_engine
from forecourt.db.session import Database

if TYPE_CHECKING:
    from forecourt.demo.loader import DemoSummary
from forecourt.errors import AppError

app = typer.Typer(
    help="Forecourt: membership, loyalty and marketing for a fuel-station chain.", no_args_is_help=True
)
users_app = typer.Typer(help="Staff accounts.", no_args_is_help=True)
devices_app = typer.Typer(help="POS device credentials.", no_args_is_help=True)
jobs_app = typer.Typer(help="Batch jobs.", no_args_is_help=True)
members_app = typer.Typer(help="Members.", no_args_is_help=True)
ledger_app = typer.Typer(help="The points and money ledger.", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(devices_app, name="devices")
app.add_typer(jobs_app, name="jobs")
app.add_typer(members_app, name="members")
app.add_typer(ledger_app, name="ledger")

console = Console()
err_console = Console(stderr=True)

DEMO_DATABASE = Path("var") / "demo.sqlite3"
HISTORY_STEPS = 20


def _database(settings: Settings | None = None) -> Database:
    return Database(create_db_engine(settings or get_settings()))


def _fail(message: str) -> typer.Exit:
    err_console.print(f"[red]error:[/red] {message}")
    return typer.Exit(code=1)


@app.command()
def version() -> None:
    """Print the version."""
    console.print(__version__)


@app.command()
def migrate() -> None:
    """Bring the database schema up to date and install the defaults on a new database."""
    from forecourt.db.migrate import migrate as run_migrations

    settings = get_settings()
    database = _database(settings)
    run_migrations(database.engine)
    database.engine.dispose()
    console.print(f"database at head: {_describe_url(settings.database_url)}")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Default FORECOURT_HOST or 127.0.0.1")] = None,
    port: Annotated[int | None, typer.Option(help="Default FORECOURT_PORT or 8000")] = None,
    workers: Annotated[int, typer.Option(help="Worker processes")] = 1,
) -> None:
    """Serve the API and consoles."""
    settings = get_settings()
    _serve(settings, host or settings.host, port or settings.port, workers)


def _serve(settings: Settings, host: str, port: int, workers: int = 1) -> None:
    import uvicorn

    from forecourt.kit.logging import configure_logging

    settings.check_production()
    configure_logging(settings.log_level, settings.log_format)
    uvicorn.run(
        "forecourt.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        access_log=False,
        proxy_headers=True,
    )


@app.command()
def demo(
    port: Annotated[int | None, typer.Option(help="Default FORECOURT_PORT or 8000")] = None,
    keep: Annotated[
        bool, typer.Option(help="Keep an existing demo database instead of starting afresh")
    ] = False,
    serve_after: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve after loading")] = True,
    history_days: Annotated[int, typer.Option(help="Days of fueling history to commit (0: none)")] = 90,
    history_members: Annotated[int, typer.Option(help="How many drivers the history covers")] = 500,
) -> None:
    """Migrate a fresh SQLite database, load a demo Kunming chain with its fueling history, and serve it."""
    from forecourt.db.migrate import migrate as run_migrations
    from forecourt.demo import loader

    if "FORECOURT_DATABASE_URL" not in os.environ:
        if not keep:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{DEMO_DATABASE}{suffix}").unlink(missing_ok=True)
        os.environ["FORECOURT_DATABASE_URL"] = f"sqlite:///{DEMO_DATABASE}"
    os.environ.setdefault("FORECOURT_SMS_ECHO", "true")  # member login codes appear on the console
    get_settings.cache_clear()
    settings = get_settings()
    port = port or settings.port
    database = _database(settings)
    console.print(f"[bold]Forecourt demo[/bold] on {_describe_url(settings.database_url)}")
    run_migrations(database.engine)
    summary = None
    if loader.is_loaded(database):
        console.print("demo data already loaded")
    else:
        from forecourt.kit.crypto import keyring_for

        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            task = progress.add_task("loading demo data", total=loader.STEPS)
            keyring = keyring_for(settings.encryption_keys)
            summary = loader.load(
                database,
                keyring,
                settings.secret_key,
                lambda label: progress.update(task, advance=1, description=f"loading demo data: {label}"),
            )
            if history_days > 0:
                history = progress.add_task("fueling history", total=HISTORY_STEPS)
                summary.sales = loader.load_history(
                    database,
                    keyring,
                    settings,
                    days=history_days,
                    members=history_members,
                    step=lambda label: progress.update(history, advance=1, description=label),
                    steps=HISTORY_STEPS,
                )
    database.engine.dispose()
    _print_demo_guide(settings.host, port, summary)
    if serve_after:
        _serve(settings, settings.host, port)


def _print_demo_guide(host: str, port: int, summary: DemoSummary | None) -> None:
    from forecourt.demo.loader import DEMO_PASSWORD, STAFF

    base = f"http://{host}:{port}"
    console.print()
    for label, path, who in (
        ("Admin console", "/admin", "any demo login"),
        ("Station console", "/station", "S001 manager/attendant"),
        ("Member H5", "/m", "a demo driver; SMS code here"),
    ):
        console.print(f"[bold green]{label:<16}[/bold green]{base}{path:<10} ({who})")
    console.print(f"[bold green]{'API docs':<16}[/bold green]{base}/docs")
    console.print(f"[bold green]{'Health':<16}[/bold green]{base}/healthz   {base}/readyz   {base}/metrics")
    table = Table(title="Demo logins (the consoles, POST /api/v1/auth/login, or Authorize in /docs)")
    for column in ("username", "password", "role"):
        table.add_column(column)
    for username, role, station, _name in STAFF:
        table.add_row(username, DEMO_PASSWORD, role.value + (f" @ {station}" if station else ""))
    console.print(table)
    if summary is not None:
        console.print(f"POS device for S001: device_id [bold]{summary.device_id}[/bold]")
        console.print(f"                     secret    [bold]{summary.device_secret}[/bold] (shown once)")
        if summary.sales:
            console.print(f"Fueling history: {summary.sales:,} sales committed through the POS service")
        if summary.drivers:
            console.print(
                "Demo drivers (member login: POST /api/v1/member-auth/sms-codes, the code is printed here): "
                + ", ".join(f"{driver.name} {driver.phone}" for driver in summary.drivers)
            )
    console.print()


def _describe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@users_app.command("create")
def users_create(
    username: Annotated[str, typer.Option(help="Login name")],
    password: Annotated[str, typer.Option(help="At least 8 characters")],
    role: Annotated[
        str,
        typer.Option(help="admin, marketing, finance, service, station_manager, attendant, agent, partner"),
    ],
    station: Annotated[str | None, typer.Option(help="Station code (station_manager, attendant)")] = None,
    display_name: Annotated[str, typer.Option(help="Name shown in the consoles")] = "",
    partner: Annotated[str | None, typer.Option(help="Partner code (partner accounts)")] = None,
) -> None:
    """Create a staff account."""
    from forecourt.auth import service as auth
    from forecourt.kit.actor import cli_actor
    from forecourt.stations import service as stations

    database = _database()
    try:
        with database.transaction() as session:
            station_id = stations.get_station(session, station).id if station else None
            user = auth.create_user(
                session,
                cli_actor(),
                username=username,
                password=password,
                role=role,
                station_id=station_id,
                display_name=display_name,
                partner_code=partner,
            )
            console.print(f"created {user.username} ({user.role}) id={user.id}")
    except AppError as exc:
        raise _fail(exc.message) from exc


@users_app.command("list")
def users_list() -> None:
    """List staff accounts."""
    from forecourt.auth import service as auth

    database = _database()
    with database.transaction(write=False) as session:
        table = Table("username", "role", "active", "last login")
        for user in auth.list_users(session, limit=10_000):
            table.add_row(
                user.username, user.role, "yes" if user.is_active else "no", str(user.last_login_at or "")
            )
        console.print(table)


@devices_app.command("create")
def devices_create(
    station: Annotated[str, typer.Option(help="Station code")],
    name: Annotated[str, typer.Option(help="A label, e.g. the till")] = "",
) -> None:
    """Issue a POS device credential; prints {"device_id", "secret"} as JSON (the secret is shown once)."""
    from forecourt.devices import service as devices
    from forecourt.kit.actor import cli_actor
    from forecourt.kit.crypto import keyring_for

    settings = get_settings()
    database = _database(settings)
    try:
        with database.transaction() as session:
            issued = devices.create_device(
                session, cli_actor(), keyring_for(settings.encryption_keys), station=station, name=name
            )
            device_id, secret = issued.device.id, issued.secret
    except AppError as exc:
        raise _fail(exc.message) from exc
    sys.stdout.write(json.dumps({"device_id": device_id, "secret": secret}) + "\n")


@devices_app.command("list")
def devices_list(station: Annotated[str | None, typer.Option(help="Station code")] = None) -> None:
    """List device credentials."""
    from forecourt.devices import service as devices
    from forecourt.kit.actor import cli_actor

    database = _database()
    with database.transaction(write=False) as session:
        table = Table("device_id", "name", "created", "revoked", "last seen")
        for device in devices.list_devices(session, cli_actor(), station=station):
            table.add_row(
                device.id,
                device.name,
                str(device.created_at),
                str(device.revoked_at or ""),
                str(device.last_seen_at or ""),
            )
        console.print(table)


@devices_app.command("revoke")
def devices_revoke(device_id: Annotated[str, typer.Argument(help="The device id")]) -> None:
    """Revoke a device credential at once."""
    from forecourt.devices import service as devices
    from forecourt.kit.actor import cli_actor

    database = _database()
    try:
        with database.transaction() as session:
            devices.revoke_device(session, cli_actor(), device_id)
    except AppError as exc:
        raise _fail(exc.message) from exc
    console.print(f"revoked {device_id}")


@members_app.command("import")
def members_import(
    file: Annotated[Path, typer.Argument(help="A .csv (UTF-8) or .xlsx file with a header row", exists=True)],
    errors: Annotated[
        Path | None, typer.Option(help="Where to write the error file (default FILE.errors.csv)")
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1, max=10000)] = 1000,
) -> None:
    """Import members: valid rows go in whole, every other row is reported in the error file."""
    from forecourt.kit.actor import cli_actor
    from forecourt.kit.crypto import keyring_for
    from forecourt.members import imports
    from forecourt.members.pii import Pii

    settings = get_settings()
    content = file.read_bytes()
    try:
        total = imports.count_rows(file.name, content)
    except AppError as exc:
        raise _fail(exc.message) from exc
    database = _database(settings)
    pii = Pii(keyring_for(settings.encryption_keys), settings.secret_key)
    with Progress(
        TextColumn("importing {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task(file.name, total=total)
        try:
            report = imports.run_import(
                database.run,
                cli_actor(),
                pii,
                filename=file.name,
                content=content,
                batch_size=batch_size,
                progress=lambda done: progress.update(task, completed=done),
            )
        except AppError as exc:
            raise _fail(exc.message) from exc
        progress.update(task, total=report.total_rows, completed=report.total_rows)
    console.print(
        f"{report.total_rows} rows: [green]{report.imported} imported[/green], "
        f"{report.skipped} skipped, [red]{report.failed} failed[/red]"
    )
    if report.rows:
        target = errors or file.with_name(file.name + ".errors.csv")
        target.write_text(imports.rows_as_csv(report.rows), encoding="utf-8")
        console.print(f"row-by-row report: {target}")
    database.engine.dispose()


@ledger_app.command("verify")
def ledger_verify(
    all_problems: Annotated[
        bool, typer.Option("--all", help="List every problem, not just the first")
    ] = False,
) -> None:
    """Recompute hashes, signatures, chains, balances; exit 1 naming the first bad posting if any."""
    from forecourt.ledger import verify
    from forecourt.ledger.chain import signer_for

    settings = get_settings()
    database = _database(settings)
    keys = verify.public_keys(signer_for(settings.ledger_signing_key), settings.ledger_verify_keys)
    with database.transaction(write=False) as session:
        report = verify.verify(session, keys, stop_at_first=not all_problems)
    database.engine.dispose()
    summary = f"{report.postings} postings, {report.entries} entries, {report.accounts} accounts"
    if report.intact:
        console.print(f"[green]ledger intact[/green]: {summary}")
        return
    for problem in report.problems:
        console.print(f"[red]{problem}[/red]")
    console.print(f"ledger NOT intact ({summary} checked)")
    raise typer.Exit(1)


@jobs_app.command("list")
def jobs_list() -> None:
    """List the jobs."""
    from forecourt.jobs.registry import all_jobs

    table = Table("name", "does")
    for job in all_jobs():
        table.add_row(job.name, job.description)
    console.print(table)


@jobs_app.command("run")
def jobs_run(
    name: Annotated[str, typer.Argument(help="Job name (see `forecourt jobs list`)")],
    at: Annotated[
        str | None, typer.Option(help="ISO-8601 time with offset to run the job for; default now")
    ] = None,
) -> None:
    """Run a job as of a moment (idempotent: running it again for the same moment changes nothing)."""
    from forecourt.jobs.registry import UnknownJob, run_job
    from forecourt.kit.clock import require_aware

    moment = None
    if at:
        try:
            moment = require_aware(datetime.fromisoformat(at))
        except ValueError as exc:
            raise _fail(f"--at: {exc}") from exc
    settings = get_settings()
    try:
        result = run_job(_database(settings), settings, name, moment)
    except UnknownJob as exc:
        raise _fail(f"no job named {name!r}; see `forecourt jobs list`") from exc
    sys.stdout.write(json.dumps(result, ensure_ascii=False, default=str) + "\n")


def main() -> None:
    app()
