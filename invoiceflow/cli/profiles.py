"""Supplier profiles kept per tenant: how to read a CSV or JSON shape invoiceflow does not
know, chosen by name or matched to a file by its name or its supplier."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

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
    open_store,
    table,
)

profiles_app = typer.Typer(
    help="Supplier profiles: how to read files whose columns invoiceflow does not know.",
    no_args_is_help=True,
)
app.add_typer(profiles_app, name="profiles")

NameArg = Annotated[str, typer.Argument(help="The profile's name.", show_default=False)]


@profiles_app.command("set")
def profiles_set(
    name: NameArg,
    file: Annotated[
        Path, typer.Argument(help="The profile, a YAML or JSON file.", show_default=False)
    ],
    tenant: TenantOption = "default",
    match_supplier: Annotated[
        str | None,
        typer.Option(
            help="Use it for files that name this supplier (name or id) when none is named."
        ),
    ] = None,
    match_file: Annotated[
        str | None,
        typer.Option(
            help="Use it for files whose name matches this pattern (e.g. 'acme-*.csv') "
            "when none is named."
        ),
    ] = None,
    database_url: DbOption = None,
) -> None:
    """Store a profile for a tenant (replacing one of the same name), checked first."""
    from invoiceflow.digitize import DigitizeError
    from invoiceflow.digitize.profiles import read_profile
    from invoiceflow.pipeline import profiles

    try:
        data = read_profile(file)
        stored = profiles.put(
            open_store(database_url),
            tenant,
            name,
            data,
            match_supplier=match_supplier,
            match_file=match_file,
        )
    except DigitizeError as exc:
        fail(exc.problem.message)
    except profiles.ProfileError as exc:
        fail(str(exc))
    typer.echo(f"profile {stored.name} stored for tenant {tenant}", err=True)


@profiles_app.command("list")
def profiles_list(
    tenant: TenantOption = "default", as_json: JsonOption = False, database_url: DbOption = None
) -> None:
    """A tenant's profiles by name (the order automatic matches are tried in)."""
    from invoiceflow.pipeline import profiles

    found = profiles.listing(open_store(database_url), tenant)
    empty = f"no profiles for tenant {tenant}"
    if as_json:
        for p in found:
            emit_line(p.describe())
        if not found:
            typer.echo(empty, err=True)
        return
    table(
        ("NAME", "MATCH FILE", "MATCH SUPPLIER", "UPDATED", "COLUMNS"),
        [
            (
                p.name,
                p.match_file,
                p.match_supplier,
                iso(p.updated),
                ", ".join(f"{k}={v}" for k, v in (p.profile.get("columns") or {}).items())
                or ("jsonata" if p.profile.get("jsonata") else ""),
            )
            for p in found
        ],
        empty,
    )


@profiles_app.command("show")
def profiles_show(
    name: NameArg, tenant: TenantOption = "default", database_url: DbOption = None
) -> None:
    """One profile as JSON."""
    from invoiceflow.pipeline import profiles

    with open_store(database_url).transaction(write=False) as tx:
        found = profiles.get(tx, tenant, name)
    if found is None:
        fail(f"tenant {tenant} has no profile named {name!r}", 1)
    emit(found.describe())


@profiles_app.command("delete")
def profiles_delete(
    name: NameArg, tenant: TenantOption = "default", database_url: DbOption = None
) -> None:
    """Forget a profile; containers already read with it keep their copy."""
    from invoiceflow.pipeline import profiles

    if not profiles.delete(open_store(database_url), tenant, name):
        fail(f"tenant {tenant} has no profile named {name!r}", 1)
    typer.echo(f"profile {name} deleted for tenant {tenant}", err=True)
