"""The command line: validate definitions, run and inspect executions, run workers, and
receive and inspect invoice files. Each module adds its commands to the root ``app``."""

from invoiceflow.cli import (  # noqa: F401  (each registers its commands)
    containers,
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
    app()


__all__ = ["app", "main"]
