"""Tenant settings: what happens after a tenant's invoices are created."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from invoiceflow.cli.app import app
from invoiceflow.cli.common import DbOption, emit, open_engine

tenants_app = typer.Typer(help="What happens after each tenant's invoices are created.")
app.add_typer(tenants_app, name="tenants")


@tenants_app.command("set")
def tenants_set(
    tenant: str,
    webhook_url: Annotated[str | None, typer.Option(help="POST each invoice here.")] = None,
    webhook_secret: Annotated[str | None, typer.Option(help="HMAC key for the signature.")] = None,
    export_folder: Annotated[Path | None, typer.Option(help="Write each invoice here.")] = None,
    export_format: Annotated[str, typer.Option(help="json or csv.")] = "json",
    flag_duplicates: Annotated[bool, typer.Option(help="Mark likely duplicates.")] = False,
    database_url: DbOption = None,
) -> None:
    """Configure a tenant's post-creation actions (replacing what was set before)."""
    from invoiceflow.pipeline import actions

    if bool(webhook_url) != bool(webhook_secret):
        raise typer.BadParameter("a webhook needs both --webhook-url and --webhook-secret")
    settings = actions.Settings(
        webhook=actions.Webhook(webhook_url, webhook_secret)
        if webhook_url and webhook_secret
        else None,
        export=actions.Export(str(export_folder), export_format) if export_folder else None,
        flag_duplicates=flag_duplicates,
    )
    try:
        actions.save_settings(open_engine(database_url).db, tenant, settings)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


@tenants_app.command("show")
def tenants_show(tenant: str, database_url: DbOption = None) -> None:
    import msgspec

    from invoiceflow.pipeline import actions

    settings = actions.load_settings(open_engine(database_url).db, tenant)
    shown = msgspec.to_builtins(settings)
    if settings.webhook:
        shown["webhook"]["secret"] = "********"
    emit({"tenant": tenant, **shown})
