"""``invoiceflow sfn``: state machines by name, listings a person can read, and JSON that
is indented on a terminal and one line in a pipe."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.terminal import on_terminal
from tests.test_cli_errors import one_line_error, run

PASS = '{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}'
ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def machine(tmp_path: Path) -> str:
    (tmp_path / "pass.json").write_text(PASS)
    done = run(tmp_path, "sfn", "create", "Hello", "pass.json")
    assert done.returncode == 0, done.stderr
    return str(json.loads(done.stdout)["stateMachineArn"])


def test_machines_says_when_there_are_none_then_lists_them(tmp_path: Path) -> None:
    empty = run(tmp_path, "sfn", "machines")
    assert empty.returncode == 0 and empty.stdout == ""
    assert "no state machines" in empty.stderr
    arn = machine(tmp_path)
    header, row = run(tmp_path, "sfn", "machines").stdout.splitlines()
    assert header.split() == ["NAME", "TYPE", "CREATED", "ARN"]
    assert row.split()[0] == "Hello" and row.split()[-1] == arn and ISO.search(row)


def test_executions_are_started_and_listed_by_the_machines_name(tmp_path: Path) -> None:
    arn = machine(tmp_path)
    assert "no executions" in run(tmp_path, "sfn", "list", "Hello").stderr
    started = run(tmp_path, "sfn", "start", "Hello", "--name", "first")
    assert json.loads(started.stdout)["executionArn"].endswith(":Hello:first")
    header, row = run(tmp_path, "sfn", "list", "Hello").stdout.splitlines()
    assert header.split() == ["NAME", "STATUS", "STARTED", "STOPPED", "ARN"]
    assert row.split()[:2] == ["first", "RUNNING"] and ISO.search(row)
    [by_arn] = run(tmp_path, "sfn", "list", arn, "--json").stdout.splitlines()
    assert json.loads(by_arn)["name"] == "first"
    assert (
        "no executions in SUCCEEDED"
        in run(tmp_path, "sfn", "list", "Hello", "--status", "SUCCEEDED").stderr
    )
    assert "no state machine named 'Nope'" in one_line_error(run(tmp_path, "sfn", "list", "Nope"))


def test_describe_is_indented_on_a_terminal_and_one_line_in_a_pipe(tmp_path: Path) -> None:
    machine(tmp_path)
    arn = json.loads(run(tmp_path, "sfn", "start", "Hello").stdout)["executionArn"]
    piped = run(tmp_path, "sfn", "describe", arn).stdout
    assert piped.count("\n") == 1 and json.loads(piped)["status"] == "RUNNING"
    assert re.search(r'"startDate": "\d{4}-\d\d-\d\dT', piped)  # ISO 8601, as boto3 shows it
    _, text = on_terminal(tmp_path, "sfn", "describe", arn, stream="stdout")
    assert text.startswith("{\n  ") and json.loads(text)["executionArn"] == arn
