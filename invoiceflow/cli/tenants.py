"""Tenant settings: what happens after a tenant's invoices are created."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import msgspec
import typer

from invoiceflow.cli.app import app
from invoiceflow.cli.common import DbOption, emit, fail, open_store

if TYPE_CHECKING:
    from invoiceflow.pipeline.actions import Settings

tenants_app = typer.Typer(help="What happens after each tenant's invoices are created.")
app.add_typer(tenants_app, name="tenants")


@tenants_app.command("set")
def tenants_set(
    tenant: Annotated[str, typer.Argument(help="The tenant to configure.", show_default=False)],
    webhook_url: Annotated[
        str | None, typer.Option(help="POST each invoice here (http or https).")
    ] = None,
    webhook_secret: Annotated[
        str | None, typer.Option(help="HMAC key the webhook's signature is made with.")
    ] = None,
    no_webhook: Annotated[bool, typer.Option("--no-webhook", help="Remove the webhook.")] = False,
    export_folder: Annotated[
        Path | None,
        typer.Option(help="Write each invoice into this folder (relative: to here)."),
    ] = None,
    export_format: Annotated[
        str | None, typer.Option(help="How exported invoices are written: json or csv.")
    ] = None,
    no_export: Annotated[bool, typer.Option("--no-export", help="Stop exporting.")] = False,
    flag_duplicates: Annotated[
        bool | None,
        typer.Option(
            "--flag-duplicates/--no-flag-duplicates",
            help="Mark invoices that repeat an earlier one's supplier and number, or date "
            "and total.",
        ),
    ] = None,
    database_url: DbOption = None,
) -> None:
    """Change a tenant's post-creation actions: only the settings given change; the
    result is printed."""
    from invoiceflow.pipeline import actions

    db = open_store(database_url)
    settings = actions.load_settings(db, tenant)
    webhook = None if no_webhook else settings.webhook
    if webhook_url or webhook_secret:
        url = webhook_url or (webhook.url if webhook else None)
        secret = webhook_secret or (webhook.secret if webhook else None)
        if not (url and secret):
            fail("a webhook needs both --webhook-url and --webhook-secret")
        webhook = actions.Webhook(url, secret)
    export = None if no_export else settings.export
    if export_folder is not None:
        # Stored absolute: the worker that exports runs in a folder of its own.
        export = actions.Export(str(export_folder.resolve()), export_format or "json")
    elif export_format is not None:
        if export is None:
            fail("--export-format needs an export: give --export-folder too")
        export = actions.Export(export.folder, export_format)
    changed = actions.Settings(
        webhook=webhook,
        export=export,
        flag_duplicates=settings.flag_duplicates if flag_duplicates is None else flag_duplicates,
    )
    try:
        actions.save_settings(db, tenant, changed)
    except ValueError as exc:
        fail(str(exc))
    _show(tenant, changed)


@tenants_app.command("show")
def tenants_show(
    tenant: Annotated[str, typer.Argument(help="The tenant to show.", show_default=False)],
    database_url: DbOption = None,
) -> None:
    """Show a tenant's post-creation actions (the webhook's secret masked)."""
    from invoiceflow.pipeline import actions

    _show(tenant, actions.load_settings(open_store(database_url), tenant))


def _show(tenant: str, settings: Settings) -> None:
    shown = msgspec.to_builtins(settings)
    if settings.webhook:
        shown["webhook"]["secret"] = "********"
    emit({"tenant": tenant, "flag_duplicates": False, **shown})
