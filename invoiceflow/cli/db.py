"""The database's schema: which migrations it has, and applying the rest.

Every process applies what is missing when it opens a database, so ``upgrade`` is for
doing it ahead of a rollout (new processes then start at once) or in steps."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from invoiceflow.cli.app import app
from invoiceflow.cli.common import (
    DbOption,
    JsonOption,
    database_location,
    emit,
    existing_location,
    fail,
)
from invoiceflow.store import Database, DatabaseURLError, open_database
from invoiceflow.store.database import migrations

db_app = typer.Typer(help="The database's schema: its version, and upgrading it.")
app.add_typer(db_app, name="db")


def _unmigrated(database_url: str | None) -> Database:
    try:
        return open_database(database_url, migrate=False)
    except DatabaseURLError as exc:
        fail(str(exc))


def _report(database: Database, location: str) -> dict[str, Any]:
    known = [version for version, _ in migrations(database.dialect)]
    applied = database.applied()
    return {
        "database": location,
        "version": applied[-1] if applied else 0,
        "latest": known[-1],
        "pending": [v for v in known if v not in set(applied)],
    }


@db_app.command("status")
def status_cmd(database_url: DbOption = None, as_json: JsonOption = False) -> None:
    """Show the schema version the database is at and the migrations it still needs."""
    location = existing_location(database_url)
    database = _unmigrated(database_url)
    try:
        report = _report(database, location)
    finally:
        database.close()
    if as_json:
        emit(report)
        return
    pending = ", ".join(map(str, report["pending"])) or "none"
    typer.echo(f"database  {location}")
    typer.echo(f"schema    version {report['version']} of {report['latest']}")
    typer.echo(f"pending   {pending}")


@db_app.command("upgrade")
def upgrade_cmd(
    database_url: DbOption = None,
    to: Annotated[
        int | None,
        typer.Option(min=1, help="Apply the migrations up to this version only."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Apply the migrations the database has not seen, each in its own transaction; safe
    while other processes run or start (they take turns)."""
    location = database_location(database_url)
    database = _unmigrated(database_url)
    try:
        before = set(database.applied())
        database.migrate(until=to)
        report = _report(database, location)
        report["applied"] = [v for v in database.applied() if v not in before]
    finally:
        database.close()
    if as_json:
        emit(report)
        return
    done = ", ".join(map(str, report["applied"]))
    now = f"version {report['version']} of {report['latest']}"
    typer.echo(f"{location}: applied {done}; now at {now}" if done else f"{location}: at {now}")
