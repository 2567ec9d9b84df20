"""The command line: validate definitions, run and inspect executions, run workers, and
receive and inspect invoice files. Each module adds its commands to the root ``app``."""

import sys

import typer
from typer.exceptions import TyperException

from invoiceflow.cli import (  # noqa: F401  (each registers its commands)
    containers,
    db,
    files,
    info,
    keys,
    processes,
    profiles,
    sfn,
    tenants,
)
from invoiceflow.cli.app import app


def main() -> None:
    """Run the command line. A usage mistake (an unknown option, a value that is not a
    number) is one line on stderr naming the help to read, like every other mistake,
    instead of a boxed panel; ``--help`` and a group called bare still print help."""
    try:
        code = app(standalone_mode=False)
    except TyperException as exc:
        ctx = getattr(exc, "ctx", None)
        if ctx is not None and type(exc).__name__ == "NoArgsIsHelpError":  # a bare group
            typer.echo(ctx.get_help(), nl=False)  # (rich prints it; plain help is returned)
        else:
            hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
            typer.echo(f"error: {exc.format_message()}{hint}", err=True)
        sys.exit(exc.exit_code)
    except typer.Abort:
        typer.echo("Aborted.", err=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


__all__ = ["app", "main"]
