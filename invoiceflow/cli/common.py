"""What every command shares: the common options, output, one-line errors and opening the
store."""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, NoReturn

import typer

from invoiceflow.engine import ClientError, Engine
from invoiceflow.engine.durability import BATCHED
from invoiceflow.functions import default_registry

if TYPE_CHECKING:
    from invoiceflow.pipeline import Pipeline
    from invoiceflow.store import Database

DbOption = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar="INVOICEFLOW_DATABASE_URL",
        help="Database URL (default sqlite:///invoiceflow.db).",
    ),
]
HandlersOption = Annotated[
    list[str] | None,
    typer.Option(
        "--handlers", help="Import this module first (it registers handlers); repeatable."
    ),
]
DurabilityOption = Annotated[
    Literal["batched", "per-step"],
    typer.Option(
        help="When Task results are committed, for state machines that set none: batched "
        "(one commit per round) or per-step (before the next state starts).",
    ),
]
TenantOption = Annotated[str, typer.Option("--tenant", help="Whose files these are.")]
JsonOption = Annotated[bool, typer.Option("--json", help="JSON instead of text.")]


def _plain(value: Any) -> Any:
    """Dates as ISO 8601 (what boto3-shaped answers hold), anything else as its text."""
    return value.isoformat() if isinstance(value, datetime) else str(value)


def emit(value: Any) -> None:
    """One JSON document: indented for a person at a terminal, one compact line for a
    program reading a pipe."""
    indent = 2 if sys.stdout.isatty() else None
    typer.echo(json.dumps(value, default=_plain, indent=indent, ensure_ascii=False))


def emit_line(value: Any) -> None:
    """One JSON value on one line, as a listing's ``--json`` prints each item."""
    typer.echo(json.dumps(value, default=_plain, ensure_ascii=False))


def iso(when: datetime | float | None) -> str:
    """A moment as ISO 8601 in UTC to the second, ``-`` for none."""
    if when is None:
        return "-"
    if not isinstance(when, datetime):
        when = datetime.fromtimestamp(when, UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], empty: str) -> None:
    """Rows under a header, in columns as wide as their widest cell (the last one is not
    padded); ``empty`` on stderr when there are no rows, so a pipe still gets none."""
    if not rows:
        typer.echo(empty, err=True)
        return
    cells = [
        [str(c) for c in headers],
        *([("-" if c is None else str(c)) for c in r] for r in rows),
    ]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers) - 1)]
    for r in cells:
        typer.echo("  ".join([*(c.ljust(w) for c, w in zip(r, widths, strict=False)), r[-1]]))


def fail(message: str, code: int = 2) -> NoReturn:
    """A mistake the user can fix: one line on stderr, no traceback."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def import_handlers(modules: list[str] | None) -> None:
    sys.path.insert(0, str(Path.cwd()))
    for module in modules or []:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module and not module.startswith(f"{exc.name}."):
                raise  # the module was found; something it imports is missing
            fail(f"--handlers {module}: no module named {module!r} (from {Path.cwd()})")


def database_location(database_url: str | None) -> str:
    """Where the database is, for people (an absolute path, ``:memory:``, a PostgreSQL URL
    without its password); a URL naming none we can open is refused in one line."""
    from invoiceflow import store

    try:
        return store.database_location(database_url)
    except store.DatabaseURLError as exc:
        fail(str(exc))


def existing_location(database_url: str | None) -> str:
    """Where the database is, for commands that only look at one: a SQLite file that does
    not exist is refused rather than created empty."""
    location = database_location(database_url)
    if Path(location).is_absolute() and not Path(location).is_file():
        fail(f"no database at {location}", 1)
    return location


def open_store(database_url: str | None) -> Database:
    """The database, migrated; one that cannot be opened or reached is one line."""
    from invoiceflow import store

    try:
        return store.open_database(database_url)
    except store.DatabaseURLError as exc:
        fail(str(exc))


def open_engine(database_url: str | None, durability: str = BATCHED) -> Engine:
    """The engine on the database; ``durability`` is the default of state machines that
    set none."""
    return Engine.open(open_store(database_url), invoker=default_registry(), durability=durability)


def open_pipeline(database_url: str | None, durability: str = BATCHED) -> Pipeline:
    from invoiceflow import pipeline

    return pipeline.open_pipeline(open_engine(database_url, durability), default_registry())


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror or exc}")
    except UnicodeDecodeError as exc:
        fail(f"cannot read {path}: not UTF-8 text (byte {exc.start})")


def call(fn: Any, **kwargs: Any) -> None:
    """Call a boto3-shaped client operation and print its answer; its error is one line."""
    try:
        emit(fn(**kwargs))
    except ClientError as exc:
        typer.echo(f"error: {exc.code}: {exc.response['Error']['Message']}", err=True)
        raise typer.Exit(1) from None
