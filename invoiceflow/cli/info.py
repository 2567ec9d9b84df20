"""What a database holds, and the demo that fills one."""

from __future__ import annotations

import typer

from invoiceflow.cli.app import app, release
from invoiceflow.cli.common import (
    DbOption,
    JsonOption,
    emit,
    existing_location,
    open_store,
)


@app.command("info")
def info_cmd(as_json: JsonOption = False, database_url: DbOption = None) -> None:
    """Show the version, the database and what it holds: containers by state, invoices,
    executions by status and the messages on each queue."""
    path = existing_location(database_url)
    version = release()
    db = open_store(database_url)
    try:
        with db.transaction(write=False) as tx:
            containers = {row[0]: row[1] for row in tx.fetch("containers_by_state")}
            [(invoices,)] = tx.fetch("invoices_created")
            executions = {row[0]: row[1] for row in tx.fetch("executions_by_status")}
            queues = {row[0]: row[1] for row in tx.fetch("messages_per_queue")}
    finally:
        db.close()
    report = {
        "version": version,
        "database": path,
        "containers": dict(sorted(containers.items())),
        "invoices": invoices,
        "executions": dict(sorted(executions.items())),
        "queues": queues,
    }
    if as_json:
        emit(report)
        return

    def counts(found: dict[str, int]) -> str:
        listed = ", ".join(f"{key} {n}" for key, n in found.items())
        return f"{sum(found.values())}" + (f" ({listed})" if listed else "")

    typer.echo(f"invoiceflow {version}")
    typer.echo(f"database    {path}")
    typer.echo(f"containers  {counts(report['containers'])}")
    typer.echo(f"invoices    {invoices}")
    typer.echo(f"executions  {counts(report['executions'])}")
    typer.echo(f"queues      {len(queues)}")
    for name, n in queues.items():
        typer.echo(f"  {name}  {n} messages")


@app.command("demo")
def demo_cmd(database_url: DbOption = None) -> None:
    """Run sample invoice workflows on the embedded store and show how they ended."""
    from invoiceflow import demo

    open_store(database_url).close()  # a database that cannot be opened is one line
    demo.main(database_url)
