"""The root command, which every command module adds itself to."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(help="invoiceflow: durable invoice workflows.", no_args_is_help=True)


def release() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("invoiceflow")
    except PackageNotFoundError:
        return "unknown"


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"invoiceflow {release()}")
        raise typer.Exit()


@app.callback()
def _options(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """invoiceflow: durable invoice workflows."""
