"""``invoiceflow submit``: each file's result as soon as that file has ended, a progress bar
for a person at a terminal, and files too large to receive refused before anything is
stored."""

from __future__ import annotations

import json
from pathlib import Path

from tests.pipeline.test_batches import csv_file
from tests.terminal import on_terminal
from tests.test_cli_errors import SAMPLES, one_line_error, run


def test_wait_prints_a_file_that_ends_early_before_one_still_in_work(tmp_path: Path) -> None:
    (tmp_path / "a-large.csv").write_bytes(csv_file(600))
    (tmp_path / "b-broken.xml").write_bytes(b"<Invoice>")
    done = run(tmp_path, "submit", "--wait", "--json", "a-large.csv", "b-broken.xml")
    assert done.returncode == 1, done.stderr  # one file ended in Error
    first, second = (json.loads(line) for line in done.stdout.splitlines())
    assert (first["name"], first["state"]) == ("b-broken.xml", "Error")
    assert (second["name"], second["state"], second["invoices"]) == ("a-large.csv", "Done", 600)


def test_a_terminal_sees_a_progress_bar_and_a_pipe_does_not(tmp_path: Path) -> None:
    sample = SAMPLES / "cii" / "en16931-CII_example2.xml"
    done, shown = on_terminal(tmp_path, "submit", "--wait", str(sample), stream="stderr")
    assert done.returncode == 0
    assert "1/1" in shown and "invoices" in shown
    assert done.stdout.startswith("en16931-CII_example2.xml: Done, 1 invoices")
    piped = run(tmp_path, "submit", "--wait", str(sample))
    assert piped.returncode == 0 and piped.stderr == ""


def test_a_file_over_the_limit_is_refused_before_anything_is_stored(tmp_path: Path) -> None:
    with (tmp_path / "huge.csv").open("wb") as f:
        f.truncate(50 * 1024 * 1024 + 1)  # sparse: no disk is spent on it
    line = one_line_error(run(tmp_path, "submit", "huge.csv", "--database-url", "sqlite:///s.db"))
    assert "huge.csv" in line and "at most 52,428,800" in line
    assert not (tmp_path / "s.db").exists()
