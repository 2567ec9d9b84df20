"""Containers (received files) and the invoices created from them."""

from __future__ import annotations

from typing import Annotated

import typer

from invoiceflow.cli.app import app
from invoiceflow.cli.common import (
    DbOption,
    JsonOption,
    TenantOption,
    emit,
    emit_line,
    open_engine,
    open_pipeline,
)
from invoiceflow.functions import default_registry

containers_app = typer.Typer(help="Received files and how they ended.", no_args_is_help=True)
invoices_app = typer.Typer(help="Invoices created from received files.", no_args_is_help=True)
app.add_typer(containers_app, name="containers")
app.add_typer(invoices_app, name="invoices")


@containers_app.command("list")
def containers_list(
    tenant: TenantOption = "default",
    state: Annotated[str | None, typer.Option(help="New, Processing, Done or Error.")] = None,
    limit: int = 100,
    as_json: JsonOption = False,
    database_url: DbOption = None,
) -> None:
    from invoiceflow.pipeline import containers

    found = containers.listing(open_engine(database_url).db, tenant, state, limit=limit)
    for c in found:
        if as_json:
            emit_line(c.describe())
        else:
            typer.echo(f"{c.id}  {c.state:<10} {c.created_count:>5} invoices  {c.name}")


@containers_app.command("show")
def containers_show(container_id: str, database_url: DbOption = None) -> None:
    from invoiceflow.pipeline import containers

    db = open_engine(database_url).db
    with db.transaction(write=False) as tx:
        found = containers.get(tx, container_id)
    if found is None:
        typer.echo(f"no container {container_id}", err=True)
        raise typer.Exit(1)
    emit(found.describe())


@containers_app.command("retry")
def containers_retry(
    container_id: str,
    wait: Annotated[bool, typer.Option("--wait")] = False,
    database_url: DbOption = None,
) -> None:
    """Run a container in Error again (its parse results and invoices are reused)."""
    from invoiceflow.pipeline import containers, submit

    pipeline = open_pipeline(database_url)
    with pipeline.engine.db.transaction(write=False) as tx:
        found = containers.get(tx, container_id)
    if found is None or found.state != "Error":
        typer.echo(f"container {container_id} is not in Error", err=True)
        raise typer.Exit(1)
    started = submit.start(pipeline, container_id)
    if wait:
        [started] = submit.wait(pipeline, default_registry(), [container_id])
    emit(started.describe())


@invoices_app.command("list")
def invoices_list(
    tenant: TenantOption = "default",
    container: Annotated[str | None, typer.Option(help="Only this container's.")] = None,
    limit: int = 100,
    as_json: JsonOption = False,
    database_url: DbOption = None,
) -> None:
    from invoiceflow.pipeline import containers

    db = open_engine(database_url).db
    with db.transaction(write=False) as tx:
        rows = tx.fetch("list_invoices", (tenant, container, container, limit))
    for row in rows:
        inv = containers.invoice_from_row(row)
        if as_json:
            emit_line(inv.describe())
        else:
            typer.echo(
                f"{inv.id}  {inv.number:<20} {inv.issue_date or '-':<10} "
                f"{inv.total or '-':>12} {inv.currency or ''}  {inv.supplier or ''}"
            )


@invoices_app.command("show")
def invoices_show(invoice_id: str, database_url: DbOption = None) -> None:
    from invoiceflow.pipeline import containers

    db = open_engine(database_url).db
    with db.transaction(write=False) as tx:
        row = tx.fetchone("get_invoice", (invoice_id,))
    if row is None:
        typer.echo(f"no invoice {invoice_id}", err=True)
        raise typer.Exit(1)
    emit(containers.invoice_from_row(row).describe())
