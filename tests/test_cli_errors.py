"""Mistakes a user can make on the command line end in one line on stderr, no traceback,
and a non-zero exit; and what those commands print when all is well."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "invoiceflow" / "samples"


def run(cwd: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "INVOICEFLOW_DATABASE_URL"}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "invoiceflow", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode != 0, done
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


@pytest.mark.parametrize("url", ["mysql://host/db", "mongodb://host/db"])
def test_an_unsupported_database_url_is_one_sentence(tmp_path: Path, url: str) -> None:
    line = one_line_error(run(tmp_path, "containers", "list", "--database-url", url))
    assert "sqlite:///PATH" in line and "postgresql://" in line


@pytest.mark.parametrize("command", [("containers", "list"), ("worker",), ("info",)])
def test_a_postgresql_server_that_cannot_be_reached_is_one_line(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    url = "postgresql://invoiceflow:s3cret@127.0.0.1:1/none"
    line = one_line_error(run(tmp_path, *command, "--database-url", url))
    assert "cannot reach postgresql://invoiceflow:***@127.0.0.1:1/none" in line


def test_a_database_in_a_missing_folder_is_refused_and_no_folder_made(tmp_path: Path) -> None:
    line = one_line_error(run(tmp_path, "info", "--database-url", "sqlite:///missing/x.db"))
    assert "does not exist" in line
    assert not (tmp_path / "missing").exists()


def test_an_empty_database_path_is_refused(tmp_path: Path) -> None:
    line = one_line_error(run(tmp_path, "containers", "list", "--database-url", "sqlite:///"))
    assert "names no file" in line


def test_serve_refuses_an_unsupported_database_url(tmp_path: Path) -> None:
    line = one_line_error(run(tmp_path, "serve", "--port", "0", "--database-url", "mysql://h/db"))
    assert "supported" in line


def test_serve_on_a_port_in_use_says_so(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        done = run(tmp_path, "serve", "--port", str(port), "--database-url", "sqlite:///s.db")
    line = one_line_error(done)
    assert f"127.0.0.1:{port}" in line


def test_a_missing_handlers_module_is_named(tmp_path: Path) -> None:
    done = run(tmp_path, "worker", "--handlers", "no_such_handlers", "--database-url", "sqlite://")
    assert "no_such_handlers" in one_line_error(done)


def test_submit_takes_the_files_in_a_folder_in_name_order(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "nested").mkdir()
    shutil.copy(SAMPLES / "cii" / "en16931-CII_example2.xml", folder / "b.xml")
    shutil.copy(SAMPLES / "cii" / "en16931-CII_example1.xml", folder / "a.xml")
    shutil.copy(SAMPLES / "cii" / "en16931-CII_example3.xml", folder / "nested" / "c.xml")
    (folder / ".hidden").write_text("not an invoice")
    done = run(tmp_path, "submit", "in", "--json", "--database-url", "sqlite:///s.db")
    assert done.returncode == 0, done.stderr
    assert [json.loads(line)["name"] for line in done.stdout.splitlines()] == ["a.xml", "b.xml"]


def test_submit_refuses_an_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    line = one_line_error(run(tmp_path, "submit", "empty", "--database-url", "sqlite:///s.db"))
    assert "no files" in line


SCANS = {
    "invoice.pdf": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n",
    "invoice.png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    "invoice.jpg": b"\xff\xd8\xff\xe0\x00\x10JFIF",
    "invoice.tif": b"II*\x00\x08\x00\x00\x00",
    "invoice.heic": b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00",
}


@pytest.mark.parametrize("name", sorted(SCANS))
def test_submit_says_pdf_and_images_are_not_read_yet(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_bytes(SCANS[name])
    line = one_line_error(run(tmp_path, "submit", name, "--database-url", "sqlite:///s.db"))
    assert "PDF and image invoices are not read yet" in line
    assert not (tmp_path / "s.db").exists()  # refused before anything was received


@pytest.mark.parametrize("name", sorted(SCANS))
def test_parse_says_pdf_and_images_are_not_read_yet(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_bytes(SCANS[name])
    line = one_line_error(run(tmp_path, "parse", name))
    assert "PDF and image invoices are not read yet" in line


def test_info_shows_the_database_and_its_counts(tmp_path: Path) -> None:
    shutil.copy(SAMPLES / "cii" / "en16931-CII_example1.xml", tmp_path / "a.xml")
    submitted = run(tmp_path, "submit", "a.xml", "--wait", "--database-url", "sqlite:///s.db")
    assert submitted.returncode == 0, submitted.stderr
    done = run(tmp_path, "info", "--json", "--database-url", "sqlite:///s.db")
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    assert info["database"] == str(tmp_path / "s.db")
    assert info["containers"] == {"Done": 1}
    assert info["invoices"] == 1
    assert info["executions"] == {"SUCCEEDED": 1}
    assert "invoiceflow-create-invoice" in info["queues"]
    assert info["version"]
    text = run(tmp_path, "info", "--database-url", "sqlite:///s.db")
    assert text.returncode == 0 and str(tmp_path / "s.db") in text.stdout


def test_info_on_no_database_says_so(tmp_path: Path) -> None:
    line = one_line_error(run(tmp_path, "info", "--database-url", "sqlite:///none.db"))
    assert "no database" in line
    assert not (tmp_path / "none.db").exists()


def test_worker_names_its_database_as_an_absolute_path(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "INVOICEFLOW_DATABASE_URL"}
    env["PYTHONPATH"] = str(ROOT)
    command = [sys.executable, "-m", "invoiceflow", "worker", "--database-url", "sqlite:///w.db"]
    with subprocess.Popen(
        command, cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True
    ) as proc:
        try:
            assert proc.stderr is not None
            first = proc.stderr.readline()
            assert "ready" in first and f"database {tmp_path / 'w.db'}" in first
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=10) == 0
        finally:
            proc.kill()


def test_serve_names_its_database_as_an_absolute_path(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "INVOICEFLOW_DATABASE_URL"}
    env["PYTHONPATH"] = str(ROOT)
    command = [sys.executable, "-m", "invoiceflow", "serve", "--port", "0", "--json-logs"]
    with subprocess.Popen(
        [*command, "--database-url", "sqlite:///s.db"],
        cwd=tmp_path,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            assert proc.stderr is not None
            first = json.loads(proc.stderr.readline())
            assert first["event"] == "serving" and first["database"] == str(tmp_path / "s.db")
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == 0
        finally:
            proc.kill()


def test_demo_refuses_an_unsupported_database_url(tmp_path: Path) -> None:
    line = one_line_error(run(tmp_path, "demo", "--database-url", "mysql://h/db"))
    assert "supported" in line
    line = one_line_error(run(tmp_path, "demo", "--database-url", "postgresql://127.0.0.1:1/x"))
    assert "cannot reach" in line


def test_submit_names_a_file_that_does_not_exist(tmp_path: Path) -> None:
    line = one_line_error(run(tmp_path, "submit", "nope.xml", "--database-url", "sqlite:///s.db"))
    assert "nope.xml" in line


def test_version_prints_the_release(tmp_path: Path) -> None:
    done = run(tmp_path, "--version")
    assert done.returncode == 0
    assert done.stdout.startswith("invoiceflow ") and done.stdout.strip() != "invoiceflow"


def test_sfn_run_refuses_an_input_too_deep_in_one_line(tmp_path: Path) -> None:
    definition = tmp_path / "pass.json"
    definition.write_text('{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}')
    for text in ("[" * 300 + "]" * 300, "[" * 60_000 + "]" * 60_000, "{not json"):
        done = run(tmp_path, "sfn", "run", str(definition), "--input", text)
        assert done.returncode == 2
        assert "--input is not an execution input" in one_line_error(done)


@pytest.mark.parametrize(
    "args",
    [
        ("validate", "missing.asl.json"),
        ("sfn", "run", "missing.asl.json"),
        ("sfn", "create", "Name", "missing.asl.json"),
    ],
)
def test_a_definition_that_cannot_be_read_is_one_line(tmp_path: Path, args: tuple[str]) -> None:
    line = one_line_error(run(tmp_path, *args))
    assert "missing.asl.json" in line and "No such file" in line


def test_a_definition_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "latin1.json").write_bytes(b'{"Comment": "caf\xe9"}')
    line = one_line_error(run(tmp_path, "validate", "latin1.json"))
    assert "not UTF-8" in line


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("containers", "list", "--limit", "x"), "'--limit'"),
        (("sfn", "start"), "Missing argument"),
        (("containers", "nope"), "No such command 'nope'"),
        (("worker", "--durability", "fast"), "'--durability'"),
    ],
)
def test_a_usage_mistake_is_one_line_naming_the_help(
    tmp_path: Path, args: tuple[str, ...], said: str
) -> None:
    line = one_line_error(run(tmp_path, *args))
    assert said in line and line.endswith("--help`)")


def test_a_group_called_bare_still_shows_its_help(tmp_path: Path) -> None:
    done = run(tmp_path, "containers")
    assert "containers [OPTIONS] COMMAND" in done.stdout and "list" in done.stdout
