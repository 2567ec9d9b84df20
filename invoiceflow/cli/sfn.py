"""Definitions and executions: validate, run in-process, and the Step Functions calls."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from invoiceflow.cli.app import app
from invoiceflow.cli.common import (
    DbOption,
    HandlersOption,
    call,
    emit,
    fail,
    import_handlers,
    open_engine,
    read_text,
)
from invoiceflow.engine.validate import validate
from invoiceflow.functions import default_registry

sfn = typer.Typer(help="Run and inspect state machine executions.", no_args_is_help=True)
app.add_typer(sfn, name="sfn")


@app.command("validate")
def validate_cmd(
    files: list[Path], as_json: Annotated[bool, typer.Option("--json")] = False
) -> None:
    """List every problem of each definition; exit 1 if any has one."""
    report = {
        str(f): [
            {"path": p.path, "message": p.message, "code": p.code} for p in validate(read_text(f))
        ]
        for f in files
    }
    if as_json:
        emit(report)
    else:
        for name, problems in report.items():
            typer.echo(f"{name}: {'OK' if not problems else f'{len(problems)} problem(s)'}")
            for p in problems:
                typer.echo(f"  {p['path']}: {p['message']}")
    raise typer.Exit(1 if any(report.values()) else 0)


@sfn.command("run")
def run_cmd(
    definition: Path,
    input: Annotated[str, typer.Option("--input", help="Execution input (JSON).")] = "{}",
    history: Annotated[bool, typer.Option("--history", help="Include the history.")] = False,
    time_skipping: Annotated[bool, typer.Option("--time-skipping/--real-time")] = True,
    handlers: HandlersOption = None,
) -> None:
    """Run a definition to completion in-process and print how it ended, as JSON."""
    from invoiceflow import testing
    from invoiceflow.engine.executions import payload_problem

    import_handlers(handlers)
    problem = payload_problem(input)  # not JSON, too large or too deep: before it is parsed
    if problem is not None:
        fail(f"--input is not an execution input: {problem}")
    value = json.loads(input)
    text = read_text(definition)
    problems = validate(text)
    if problems:
        emit({"status": "INVALID", "problems": [str(p) for p in problems]})
        raise typer.Exit(2)
    result = testing.run(
        text, value, handlers=default_registry().handlers, time_skipping=time_skipping
    )
    out: dict[str, Any] = {"status": result.status}
    if result.status == "SUCCEEDED":
        out["output"] = result.output
    else:
        out["error"], out["cause"] = result.error, result.cause
    if history:
        out["history"] = result.history
    emit(out)
    raise typer.Exit(0 if result.status == "SUCCEEDED" else 1)


@sfn.command("create")
def create_cmd(name: str, definition: Path, database_url: DbOption = None) -> None:
    """Create (or, unchanged, confirm) a state machine from a definition file."""
    call(
        open_engine(database_url).client.create_state_machine,
        name=name,
        definition=read_text(definition),
    )


@sfn.command("start")
def start_cmd(
    state_machine_arn: str,
    input: str = "{}",
    name: str | None = None,
    database_url: DbOption = None,
) -> None:
    """Start an execution; a worker advances it."""
    call(
        open_engine(database_url).client.start_execution,
        stateMachineArn=state_machine_arn,
        input=input,
        **({"name": name} if name else {}),
    )


@sfn.command("describe")
def describe_cmd(execution_arn: str, database_url: DbOption = None) -> None:
    call(open_engine(database_url).client.describe_execution, executionArn=execution_arn)


@sfn.command("history")
def history_cmd(execution_arn: str, database_url: DbOption = None) -> None:
    call(open_engine(database_url).client.get_execution_history, executionArn=execution_arn)


@sfn.command("list")
def list_cmd(
    state_machine_arn: str, status: str | None = None, database_url: DbOption = None
) -> None:
    call(
        open_engine(database_url).client.list_executions,
        stateMachineArn=state_machine_arn,
        **({"statusFilter": status} if status else {}),
    )


@sfn.command("stop")
def stop_cmd(
    execution_arn: str,
    error: str | None = None,
    cause: str | None = None,
    database_url: DbOption = None,
) -> None:
    call(
        open_engine(database_url).client.stop_execution,
        executionArn=execution_arn,
        **({"error": error} if error else {}),
        **({"cause": cause} if cause else {}),
    )


@sfn.command("redrive")
def redrive_cmd(execution_arn: str, database_url: DbOption = None) -> None:
    call(open_engine(database_url).client.redrive_execution, executionArn=execution_arn)
