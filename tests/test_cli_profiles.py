"""Supplier profiles on the command line: profiles set/list/show/delete, submit --profile
with a file or a stored name, and profiles chosen by file name or supplier."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from invoiceflow.cli import app

ODD = "Ref;Wann;Von;Was;Stk;EP\nB-{n};01.11.2026;Cli Profile GmbH;Schraube;2;1,50\n"
PROFILE = """\
columns:
  invoice_number: Ref
  issue_date: Wann
  seller_name: Von
  description: Was
  quantity: Stk
  unit_price: EP
delimiter: ";"
decimal: ","
date_format: "%d.%m.%Y"
"""


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("INVOICEFLOW_DATABASE_URL", raising=False)
    (tmp_path / "odd.yaml").write_text(PROFILE)
    for n, name in enumerate(("plain.csv", "acme-11.csv", "mail.csv")):
        (tmp_path / name).write_text(ODD.format(n=n))
    return CliRunner()


def ended(runner: CliRunner, *args: str) -> list[dict[str, object]]:
    done = runner.invoke(app, ["submit", "--wait", "--json", *args])
    assert "Traceback" not in done.output, done.output
    return [json.loads(line) for line in done.stdout.splitlines()]


def shown(runner: CliRunner, container_id: object) -> dict[str, object]:
    out = runner.invoke(app, ["containers", "show", str(container_id)]).stdout
    return dict(json.loads(out))


def test_submit_with_a_profile_file_or_a_stored_name(runner: CliRunner) -> None:
    [plain] = ended(runner, "plain.csv")
    assert plain["state"] == "Error"  # its columns are not known without a profile
    [by_file] = ended(runner, "--profile", "odd.yaml", "plain.csv")
    assert (by_file["state"], by_file["invoices"]) == ("Done", 1)
    assert shown(runner, by_file["id"])["profile"] == "odd.yaml"
    stored = runner.invoke(app, ["profiles", "set", "odd", "odd.yaml", "--tenant", "t1"])
    assert stored.exit_code == 0, stored.output
    [by_name] = ended(runner, "--tenant", "t1", "--profile", "odd", "plain.csv")
    assert by_name["state"] == "Done" and shown(runner, by_name["id"])["profile"] == "odd"
    invoices = runner.invoke(app, ["invoices", "list", "--tenant", "t1", "--json"]).stdout
    [invoice] = [json.loads(line) for line in invoices.splitlines()]
    assert (invoice["invoice_number"], invoice["issue_date"]) == ("B-0", "2026-11-01")


def test_stored_profiles_are_chosen_by_file_name_or_supplier(runner: CliRunner) -> None:
    by_name = ["profiles", "set", "by-name", "odd.yaml", "--match-file", "ACME-*.csv"]
    by_supplier = ["profiles", "set", "by-supplier", "odd.yaml", "--match-supplier", "cli profile"]
    assert runner.invoke(app, by_name).exit_code == 0
    assert runner.invoke(app, by_supplier).exit_code == 0
    listed = runner.invoke(app, ["profiles", "list"]).stdout.splitlines()
    assert listed[0].split()[:3] == ["NAME", "MATCH", "FILE"]
    assert [line.split()[0] for line in listed[1:]] == ["by-name", "by-supplier"]
    acme, mail = ended(runner, "acme-11.csv", "mail.csv")
    assert (acme["state"], mail["state"]) == ("Done", "Done")
    assert shown(runner, acme["id"])["profile"] == "by-name"
    assert shown(runner, mail["id"])["profile"] == "by-supplier"
    as_json = runner.invoke(app, ["profiles", "show", "by-supplier"]).stdout
    assert json.loads(as_json)["match_supplier"] == "cli profile"
    assert runner.invoke(app, ["profiles", "delete", "by-supplier"]).exit_code == 0
    assert runner.invoke(app, ["profiles", "delete", "by-name"]).exit_code == 0
    empty = runner.invoke(app, ["profiles", "list"])
    assert empty.stdout == "" and empty.stderr.strip() == "no profiles for tenant default"
    [unmatched] = ended(runner, "mail.csv")
    assert unmatched["state"] == "Error"


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        ("columns:\n  colour: X\n", ["submit", "--profile", "p.yaml", "plain.csv"], "colour"),
        ("columns: [a\n", ["submit", "--profile", "p.yaml", "plain.csv"], "not YAML or JSON"),
        (PROFILE, ["submit", "--profile", "missing.yaml", "plain.csv"], "no such file"),
        (PROFILE, ["submit", "--profile", "nope", "plain.csv"], "no profile named 'nope'"),
        ("encoding: klingon\n", ["profiles", "set", "p", "p.yaml"], "encoding 'klingon'"),
        ("date_format: '%Y'\n", ["profiles", "set", "p", "p.yaml"], "whole date"),
        ("delimiter: ';;'\n", ["profiles", "set", "p", "p.yaml"], "one character"),
        (PROFILE, ["profiles", "set", "a b", "p.yaml"], "profile name 'a b'"),
        (PROFILE, ["profiles", "delete", "nope"], "no profile named 'nope'"),
        (PROFILE, ["profiles", "show", "nope"], "no profile named 'nope'"),
    ],
)
def test_a_bad_profile_is_one_line_and_makes_no_container(
    runner: CliRunner, tmp_path: Path, content: str, args: list[str], message: str
) -> None:
    (tmp_path / "p.yaml").write_text(content)
    done = runner.invoke(app, args)
    assert done.exit_code != 0 and "Traceback" not in done.output
    assert done.stderr.count("\n") == 1 and message in done.stderr, done.stderr
    listed = runner.invoke(app, ["containers", "list", "--json"])
    assert listed.stdout == ""
