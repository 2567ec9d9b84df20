"""``invoiceflow tenants set`` changes only the settings it is given and prints the result."""

from __future__ import annotations

import json
from pathlib import Path

from tests.test_cli_errors import one_line_error, run


def settings(tmp_path: Path, *args: str) -> dict[str, object]:
    done = run(tmp_path, "tenants", "set", "acme", *args)
    assert done.returncode == 0, done.stderr
    printed: dict[str, object] = json.loads(done.stdout)
    assert json.loads(run(tmp_path, "tenants", "show", "acme").stdout) == printed
    return printed


def test_each_setting_changes_alone(tmp_path: Path) -> None:
    hook = {"url": "https://hooks.example/in", "secret": "********"}
    first = settings(tmp_path, "--webhook-url", hook["url"], "--webhook-secret", "s3cret")
    assert first == {"tenant": "acme", "flag_duplicates": False, "webhook": hook}
    second = settings(tmp_path, "--export-folder", "out")  # relative: to where it is typed
    out = str(tmp_path.resolve() / "out")
    assert second == {**first, "export": {"folder": out, "format": "json"}}
    third = settings(tmp_path, "--export-format", "csv", "--flag-duplicates")
    assert third == {
        **second,
        "export": {"folder": out, "format": "csv"},
        "flag_duplicates": True,
    }
    moved = settings(tmp_path, "--webhook-url", "https://hooks.example/v2")
    assert moved["webhook"] == {"url": "https://hooks.example/v2", "secret": "********"}
    cleared = settings(tmp_path, "--no-webhook", "--no-export", "--no-flag-duplicates")
    assert cleared == {"tenant": "acme", "flag_duplicates": False}


def test_mistakes_are_one_line(tmp_path: Path) -> None:
    assert "--webhook-secret" in one_line_error(
        run(tmp_path, "tenants", "set", "acme", "--webhook-url", "https://h.example")
    )
    assert "--export-folder" in one_line_error(
        run(tmp_path, "tenants", "set", "acme", "--export-format", "csv")
    )
    assert "json or csv" in one_line_error(
        run(tmp_path, "tenants", "set", "acme", "--export-folder", "o", "--export-format", "xml")
    )
