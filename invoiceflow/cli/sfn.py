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
    JsonOption,
    call,
    emit,
    emit_line,
    fail,
    import_handlers,
    iso,
    open_engine,
    read_text,
    table,
)
from invoiceflow.engine import ClientError
from invoiceflow.engine.client import StepFunctionsClient
from invoiceflow.engine.validate import validate
from invoiceflow.functions import default_registry

sfn = typer.Typer(help="Run and inspect state machine executions.", no_args_is_help=True)
app.add_typer(sfn, name="sfn")


@app.command("validate")
def validate_cmd(
    files: Annotated[
        list[Path], typer.Argument(help="Definitions (ASL JSON) to check.", show_default=False)
    ],
    as_json: JsonOption = False,
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
    definition: Annotated[
        Path, typer.Argument(help="The definition (ASL JSON) to run.", show_default=False)
    ],
    input: Annotated[str, typer.Option("--input", help="Execution input (JSON).")] = "{}",
    history: Annotated[bool, typer.Option("--history", help="Include the history.")] = False,
    time_skipping: Annotated[
        bool,
        typer.Option(
            "--time-skipping/--real-time",
            help="Let Wait states and retry pauses pass at once, or take their real time.",
        ),
    ] = True,
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


MachineArgument = Annotated[
    str, typer.Argument(help="The state machine's name or ARN.", show_default=False)
]
ExecutionArgument = Annotated[str, typer.Argument(help="The execution's ARN.", show_default=False)]


def _machine_arn(client: StepFunctionsClient, ref: str) -> str:
    """The ARN of the state machine ``ref`` names (an ARN is taken as it is)."""
    if ref.startswith("arn:"):
        return ref
    for machine in client.list_state_machines()["stateMachines"]:
        if machine["name"] == ref:
            return str(machine["stateMachineArn"])
    fail(f"no state machine named {ref!r} (see `invoiceflow sfn machines`)", 1)


@sfn.command("create")
def create_cmd(
    name: Annotated[str, typer.Argument(help="The state machine's name.", show_default=False)],
    definition: Annotated[
        Path, typer.Argument(help="Its definition (ASL JSON).", show_default=False)
    ],
    database_url: DbOption = None,
) -> None:
    """Create (or, unchanged, confirm) a state machine from a definition file."""
    call(
        open_engine(database_url).client.create_state_machine,
        name=name,
        definition=read_text(definition),
    )


@sfn.command("machines")
def machines_cmd(as_json: JsonOption = False, database_url: DbOption = None) -> None:
    """List the state machines: name, type, created (UTC) and ARN."""
    machines = open_engine(database_url).client.list_state_machines()["stateMachines"]
    if as_json:
        for m in machines:
            emit_line(m)
        return
    table(
        ("NAME", "TYPE", "CREATED", "ARN"),
        [(m["name"], m["type"], iso(m["creationDate"]), m["stateMachineArn"]) for m in machines],
        empty="no state machines yet (create one with `invoiceflow sfn create NAME FILE`)",
    )


@sfn.command("start")
def start_cmd(
    state_machine: MachineArgument,
    input: Annotated[str, typer.Option(help="Execution input (JSON).")] = "{}",
    name: Annotated[
        str | None, typer.Option(help="The execution's name (default: a new UUID).")
    ] = None,
    database_url: DbOption = None,
) -> None:
    """Start an execution; a worker advances it."""
    client = open_engine(database_url).client
    call(
        client.start_execution,
        stateMachineArn=_machine_arn(client, state_machine),
        input=input,
        **({"name": name} if name else {}),
    )


@sfn.command("describe")
def describe_cmd(execution_arn: ExecutionArgument, database_url: DbOption = None) -> None:
    """Show an execution: status, input, output or error, dates."""
    call(open_engine(database_url).client.describe_execution, executionArn=execution_arn)


@sfn.command("history")
def history_cmd(execution_arn: ExecutionArgument, database_url: DbOption = None) -> None:
    """Show an execution's events, oldest first."""
    call(open_engine(database_url).client.get_execution_history, executionArn=execution_arn)


@sfn.command("list")
def list_cmd(
    state_machine: MachineArgument,
    status: Annotated[
        str | None,
        typer.Option(
            help="Only executions in this status: RUNNING, SUCCEEDED, FAILED, TIMED_OUT, "
            "ABORTED or PENDING_REDRIVE."
        ),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many.")] = 100,
    as_json: JsonOption = False,
    database_url: DbOption = None,
) -> None:
    """List a state machine's executions, newest first."""
    client = open_engine(database_url).client
    try:
        found = client.list_executions(
            stateMachineArn=_machine_arn(client, state_machine),
            maxResults=limit,
            **({"statusFilter": status} if status else {}),
        )["executions"]
    except ClientError as exc:
        fail(f"{exc.code}: {exc.response['Error']['Message']}", 1)
    if as_json:
        for e in found:
            emit_line(e)
        return
    table(
        ("NAME", "STATUS", "STARTED", "STOPPED", "ARN"),
        [
            (e["name"], e["status"], iso(e["startDate"]), iso(e.get("stopDate")), e["executionArn"])
            for e in found
        ],
        empty=f"no executions{f' in {status}' if status else ''}",
    )


@sfn.command("stop")
def stop_cmd(
    execution_arn: ExecutionArgument,
    error: Annotated[str | None, typer.Option(help="An error name to record.")] = None,
    cause: Annotated[str | None, typer.Option(help="Why it was stopped.")] = None,
    database_url: DbOption = None,
) -> None:
    """Stop a running execution at once: it ends ABORTED."""
    call(
        open_engine(database_url).client.stop_execution,
        executionArn=execution_arn,
        **({"error": error} if error else {}),
        **({"cause": cause} if cause else {}),
    )


@sfn.command("redrive")
def redrive_cmd(execution_arn: ExecutionArgument, database_url: DbOption = None) -> None:
    """Run a failed, timed-out or aborted execution again from the states that did not
    succeed."""
    call(open_engine(database_url).client.redrive_execution, executionArn=execution_arn)
