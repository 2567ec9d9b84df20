"""Containers (received files) and the invoices created from them."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from invoiceflow.cli.app import app
from invoiceflow.cli.common import (
    DbOption,
    JsonOption,
    TenantOption,
    emit,
    emit_line,
    fail,
    iso,
    open_pipeline,
    open_store,
    table,
)
from invoiceflow.functions import default_registry

containers_app = typer.Typer(help="Received files and how they ended.", no_args_is_help=True)
invoices_app = typer.Typer(help="Invoices created from received files.", no_args_is_help=True)
app.add_typer(containers_app, name="containers")
app.add_typer(invoices_app, name="invoices")


STATES = ("New", "Processing", "Done", "Error")
ContainerArg = Annotated[str, typer.Argument(help="The container's id.", show_default=False)]


@containers_app.command("list")
def containers_list(
    tenant: TenantOption = "default",
    state: Annotated[str | None, typer.Option(help="New, Processing, Done or Error.")] = None,
    needs_review: Annotated[
        bool,
        typer.Option(
            "--needs-review", help="Only containers with invoices that have error-level problems."
        ),
    ] = False,
    limit: Annotated[int, typer.Option(max=1000, help="At most this many, newest first.")] = 100,
    as_json: JsonOption = False,
    database_url: DbOption = None,
) -> None:
    """A tenant's containers, newest first: state, invoices, how many need review, when
    received, and why one is in Error (or what a retried action last said)."""
    from invoiceflow.pipeline import containers

    if state is not None and state not in STATES:
        fail(f"--state {state!r}: use one of {', '.join(STATES)}")
    if limit < 1:
        fail(f"--limit {limit}: list at least 1")
    found = containers.listing(
        open_store(database_url),
        tenant,
        state,
        limit=limit,
        needs_review=True if needs_review else None,
    )
    if as_json:
        for c in found:
            emit_line(c.describe())
        if not found:
            typer.echo(_nothing(tenant, state, needs_review), err=True)
        return
    table(
        ("ID", "STATE", "INVOICES", "REVIEW", "RECEIVED", "NAME", "REASON"),
        [
            (
                c.id,
                c.state,
                c.created_count,
                c.review_count or "",
                iso(c.created),
                c.name,
                _why(c),
            )
            for c in found
        ],
        _nothing(tenant, state, needs_review),
    )


def _why(c: Any) -> str:
    """The Error reason, or while an action is tried again, what it last said."""
    if c.reason:
        return str(c.reason)
    if c.last_error:
        return f"retrying (attempt {c.attempts}): {c.last_error}"
    return ""


def _nothing(tenant: str, state: str | None, needs_review: bool) -> str:
    what = " ".join(
        part
        for part in (
            "no",
            state,
            "containers",
            "needing review" if needs_review else None,
            f"for tenant {tenant}",
        )
        if part
    )
    return what


@containers_app.command("show")
def containers_show(container_id: ContainerArg, database_url: DbOption = None) -> None:
    """One container as JSON: its state and reason, invoices, review count, the profile its
    file is read with, and what a post-creation action last said while it is retried."""
    from invoiceflow.pipeline import containers

    db = open_store(database_url)
    with db.transaction(write=False) as tx:
        found = containers.get(tx, container_id)
    if found is None:
        fail(f"no container {container_id}", 1)
    emit(found.describe())


@containers_app.command("retry")
def containers_retry(
    container_id: ContainerArg,
    wait: Annotated[bool, typer.Option("--wait", help="Wait until it is Done or Error.")] = False,
    database_url: DbOption = None,
) -> None:
    """Run a container in Error again (its parse results and invoices are reused)."""
    from invoiceflow.pipeline import containers, submit

    pipeline = open_pipeline(database_url)
    with pipeline.engine.db.transaction(write=False) as tx:
        found = containers.get(tx, container_id)
    if found is None:
        fail(f"no container {container_id}", 1)
    if found.state != "Error":
        fail(f"container {container_id} is {found.state}; only a container in Error is retried", 1)
    started = submit.start(pipeline, container_id)
    if wait:
        [started] = submit.wait(pipeline, default_registry(), [container_id])
    emit(started.describe())


@invoices_app.command("list")
def invoices_list(
    tenant: TenantOption = "default",
    container: Annotated[str | None, typer.Option(help="Only this container's.")] = None,
    problems: Annotated[
        bool,
        typer.Option(
            "--problems", help="Only invoices with problems (errors or warnings) to look at."
        ),
    ] = False,
    limit: Annotated[int, typer.Option(max=1000, help="At most this many, newest first.")] = 100,
    as_json: JsonOption = False,
    database_url: DbOption = None,
) -> None:
    """A tenant's invoices, newest first; with --problems, those whose checks found
    something (the ERRORS/WARNINGS column counts them)."""
    from invoiceflow.pipeline import containers

    if limit < 1:
        fail(f"--limit {limit}: list at least 1")
    db = open_store(database_url)
    query = "list_invoices_with_problems" if problems else "list_invoices"
    with db.transaction(write=False) as tx:
        rows = tx.fetch(query, (tenant, container, container, limit))
    found = [containers.invoice_from_row(row) for row in rows]
    empty = f"no invoices{' with problems' if problems else ''} for tenant {tenant}" + (
        f" in container {container}" if container else ""
    )
    if as_json:
        for inv in found:
            emit_line(inv.describe())
        if not found:
            typer.echo(empty, err=True)
        return
    table(
        ("ID", "NUMBER", "ISSUED", "TOTAL", "CURRENCY", "ERRORS/WARNINGS", "SUPPLIER"),
        [
            (
                inv.id,
                inv.number,
                inv.issue_date,
                inv.total,
                inv.currency,
                _problems(inv.invoice.get("problems") or []),
                inv.supplier or "",
            )
            for inv in found
        ],
        empty,
    )


def _problems(found: list[dict[str, Any]]) -> str:
    errors = sum(p.get("severity") == "error" for p in found)
    warnings = len(found) - errors
    return f"{errors}/{warnings}" if found else ""


@invoices_app.command("show")
def invoices_show(
    invoice_id: Annotated[str, typer.Argument(help="The invoice's id.", show_default=False)],
    database_url: DbOption = None,
) -> None:
    """One invoice in invoiceflow's JSON form, with its problems."""
    from invoiceflow.pipeline import containers

    db = open_store(database_url)
    with db.transaction(write=False) as tx:
        row = tx.fetchone("get_invoice", (invoice_id,))
    if row is None:
        fail(f"no invoice {invoice_id}", 1)
    emit(containers.invoice_from_row(row).describe())
