"""The containers and invoices listings on the command line: a header, dates, reasons, the
review flag and filters; nothing found is said on stderr."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from invoiceflow.cli import app

MIXED = (
    b"invoice_number,invoice_date,currency,supplier,description,qty,unit_price\n"
    b"CR-1,,EUR,Cli Review Co,Item,1,5.00\n"
    b"CR-2,2026-11-02,EUR,Cli Review Co,Item,1,7.00\n"
)
CLEAN = (
    b"invoice_number,invoice_date,currency,supplier,description,qty,unit_price,amount,total\n"
    b"CC-1,2026-11-03,EUR,Cli Clean Co,Item,1,5.00,5.00,5.00\n"
)


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("INVOICEFLOW_DATABASE_URL", raising=False)
    return CliRunner()


def submitted(runner: CliRunner, tmp_path: Path) -> dict[str, dict[str, object]]:
    for name, data in (("mixed.csv", MIXED), ("clean.csv", CLEAN), ("bad.x12", b"ISA*00*x~")):
        (tmp_path / name).write_bytes(data)
    done = runner.invoke(app, ["submit", "--wait", "--json", "mixed.csv", "clean.csv", "bad.x12"])
    assert done.exit_code == 1, done.output  # bad.x12 ends in Error
    return {str(json.loads(line)["name"]): json.loads(line) for line in done.stdout.splitlines()}


def test_an_empty_listing_says_so_on_stderr(runner: CliRunner) -> None:
    listed = runner.invoke(app, ["containers", "list"])
    assert listed.exit_code == 0 and listed.stdout == ""
    assert listed.stderr.strip() == "no containers for tenant default"
    flagged = runner.invoke(app, ["containers", "list", "--needs-review", "--json"])
    assert flagged.stdout == ""
    assert flagged.stderr.strip() == "no containers needing review for tenant default"
    invoices = runner.invoke(app, ["invoices", "list", "--problems"])
    assert invoices.stderr.strip() == "no invoices with problems for tenant default"


def test_containers_list_shows_state_review_date_and_reason(
    runner: CliRunner, tmp_path: Path
) -> None:
    ended = submitted(runner, tmp_path)
    assert (ended["mixed.csv"]["needs_review"], ended["mixed.csv"]["review_count"]) == (True, 1)
    assert ended["clean.csv"]["needs_review"] is False
    listed = runner.invoke(app, ["containers", "list"])
    assert listed.exit_code == 0
    header, *rows = listed.stdout.splitlines()
    assert header.split() == ["ID", "STATE", "INVOICES", "REVIEW", "RECEIVED", "NAME", "REASON"]
    by_name = {row.split()[0]: row for row in rows}
    mixed = by_name[str(ended["mixed.csv"]["id"])]
    assert mixed.split()[1:4] == ["Done", "2", "1"]
    assert mixed.split()[4].endswith("Z") and mixed.split()[4][10] == "T"  # ISO 8601, UTC
    bad = by_name[str(ended["bad.x12"]["id"])]
    assert "Error" in bad and "ISA segment is cut short" in bad
    flagged = runner.invoke(app, ["containers", "list", "--needs-review", "--json"])
    [only] = [json.loads(line) for line in flagged.stdout.splitlines()]
    assert (only["name"], only["needs_review"], only["review_count"]) == ("mixed.csv", True, 1)
    assert only["created"].endswith("+00:00")
    shown = runner.invoke(app, ["containers", "show", str(ended["clean.csv"]["id"])])
    clean = json.loads(shown.stdout)
    assert (clean["needs_review"], clean["last_error"], clean["attempts"]) == (False, None, 0)
    (tmp_path / "again.csv").write_bytes(MIXED)
    said = runner.invoke(app, ["submit", "--wait", "again.csv"]).stdout
    assert said.startswith("again.csv: Done, 2 invoices (1 need review), container ")


def test_invoices_list_problems_finds_errors_and_warnings(
    runner: CliRunner, tmp_path: Path
) -> None:
    submitted(runner, tmp_path)
    listed = runner.invoke(app, ["invoices", "list", "--problems", "--json"])
    numbers = sorted(json.loads(line)["invoice_number"] for line in listed.stdout.splitlines())
    assert numbers == ["CR-1", "CR-2"]  # CR-2 has a warning only, and is listed too
    text = runner.invoke(app, ["invoices", "list", "--problems"]).stdout.splitlines()
    assert "ERRORS/WARNINGS" in text[0]
    counts = {line.split()[1]: line.split()[5] for line in text[1:]}
    assert counts == {"CR-1": "1/1", "CR-2": "0/1"}


def test_listing_mistakes_are_one_line(runner: CliRunner) -> None:
    wrong = runner.invoke(app, ["containers", "list", "--state", "Finished"])
    assert wrong.exit_code == 2 and wrong.stderr.count("\n") == 1
    assert "New, Processing, Done, Error" in wrong.stderr
    for group in ("containers", "invoices"):
        none = runner.invoke(app, [group, "list", "--limit", "0"])
        assert none.exit_code == 2 and none.stderr == "error: --limit 0: list at least 1\n"
    missing = runner.invoke(app, ["containers", "show", "nope"])
    assert missing.exit_code == 1 and missing.stderr == "error: no container nope\n"
    retried = runner.invoke(app, ["containers", "retry", "nope"])
    assert retried.exit_code == 1 and retried.stderr == "error: no container nope\n"


def test_a_retried_action_shows_in_the_listing_and_in_show(
    runner: CliRunner, tmp_path: Path
) -> None:
    """A container whose webhook is being tried again (its row set as a worker leaves it):
    the listing's REASON says so, and show has the error and the attempt."""
    from invoiceflow.store import open_database

    (tmp_path / "clean.csv").write_bytes(CLEAN)
    sent = runner.invoke(app, ["submit", "--json", "clean.csv"])  # no worker: stays New
    container_id = json.loads(sent.stdout)["id"]
    db = open_database(f"sqlite:///{tmp_path / 'invoiceflow.db'}")
    with db.transaction() as tx:
        tx.execute("start_processing", (1.0, container_id))
        error = "webhook: http://127.0.0.1:9/hook cannot be reached: refused"
        tx.execute("record_action_error", (error, 3, 2.0, 2.0, container_id))
    db.close()
    listed = runner.invoke(app, ["containers", "list"]).stdout.splitlines()
    assert "Processing" in listed[1]
    assert f"retrying (attempt 3): {error}" in listed[1]
    shown = json.loads(runner.invoke(app, ["containers", "show", container_id]).stdout)
    assert (shown["state"], shown["last_error"], shown["attempts"]) == ("Processing", error, 3)
    assert shown["last_error_at"] == "1970-01-01T00:00:02+00:00"


def test_a_listing_is_at_most_a_thousand_long(runner: CliRunner) -> None:
    for listing in (["containers", "list"], ["invoices", "list"]):
        refused = runner.invoke(app, [*listing, "--limit", "5000"])
        assert refused.exit_code == 2
