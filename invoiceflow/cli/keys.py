"""API keys, each of which authenticates one tenant."""

from __future__ import annotations

from typing import Annotated

import typer

from invoiceflow.cli.app import app
from invoiceflow.cli.common import DbOption, JsonOption, emit, emit_line, open_engine

keys_app = typer.Typer(help="API keys: each authenticates one tenant.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
RequiredTenant = Annotated[str, typer.Option("--tenant", help="The tenant the key is for.")]


@keys_app.command("create")
def keys_create(
    tenant: RequiredTenant, as_json: JsonOption = False, database_url: DbOption = None
) -> None:
    """Create a key; it is shown this once (only its digest is stored)."""
    from invoiceflow.api import keys

    record, key = keys.create(open_engine(database_url).db, tenant)
    if as_json:
        emit({"id": record.id, "tenant": tenant, "key": key})
    else:
        typer.echo(key)
        typer.echo(f"key {record.id} for tenant {tenant}; keep it: it is not shown again", err=True)


@keys_app.command("list")
def keys_list(
    tenant: RequiredTenant, as_json: JsonOption = False, database_url: DbOption = None
) -> None:
    from invoiceflow.api import keys

    for record in keys.listing(open_engine(database_url).db, tenant):
        if as_json:
            emit_line(record.__dict__)
        else:
            state = "revoked" if record.revoked else "active"
            typer.echo(f"{record.id}  {record.prefix}...  {state}")


@keys_app.command("revoke")
def keys_revoke(key_id: str, tenant: RequiredTenant, database_url: DbOption = None) -> None:
    from invoiceflow.api import keys

    if not keys.revoke(open_engine(database_url).db, tenant, key_id):
        typer.echo(f"tenant {tenant} has no active key {key_id}", err=True)
        raise typer.Exit(1)
