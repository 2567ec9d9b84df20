"""API keys, each of which authenticates one tenant."""

from __future__ import annotations

from typing import Annotated

import typer

from invoiceflow.cli.app import app
from invoiceflow.cli.common import (
    DbOption,
    JsonOption,
    emit,
    emit_line,
    fail,
    iso,
    open_store,
    table,
)

keys_app = typer.Typer(help="API keys: each authenticates one tenant.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
RequiredTenant = Annotated[str, typer.Option("--tenant", help="The tenant the key is for.")]


@keys_app.command("create")
def keys_create(
    tenant: RequiredTenant, as_json: JsonOption = False, database_url: DbOption = None
) -> None:
    """Create a key; it is shown this once (only its digest is stored)."""
    from invoiceflow.api import keys

    record, key = keys.create(open_store(database_url), tenant)
    if as_json:
        emit({"id": record.id, "tenant": tenant, "key": key})
    else:
        typer.echo(key)
        typer.echo(f"key {record.id} for tenant {tenant}; keep it: it is not shown again", err=True)


@keys_app.command("list")
def keys_list(
    tenant: RequiredTenant, as_json: JsonOption = False, database_url: DbOption = None
) -> None:
    """List a tenant's keys: id, first characters, created, and whether revoked."""
    from invoiceflow.api import keys

    found = keys.listing(open_store(database_url), tenant)
    if as_json:
        for record in found:
            emit_line(record.__dict__)
        return
    table(
        ("ID", "KEY", "CREATED", "STATE"),
        [
            (
                r.id,
                f"{r.prefix}...",
                iso(r.created),
                f"revoked {iso(r.revoked)}" if r.revoked else "active",
            )
            for r in found
        ],
        empty=f"tenant {tenant} has no keys (create one with `invoiceflow keys create`)",
    )


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[
        str, typer.Argument(help="The key's id (from `keys list`).", show_default=False)
    ],
    tenant: RequiredTenant,
    database_url: DbOption = None,
) -> None:
    """Revoke a key: requests made with it are refused from now on."""
    from invoiceflow.api import keys

    if not keys.revoke(open_store(database_url), tenant, key_id):
        fail(f"tenant {tenant} has no active key {key_id}", 1)
