"""``invoiceflow db status`` and ``db upgrade``: the schema version, migrated in steps."""

from __future__ import annotations

import json
from pathlib import Path

from invoiceflow.store.database import migrations
from tests.test_cli_errors import one_line_error, run

LATEST = max(version for version, _ in migrations("sqlite"))


def status(tmp_path: Path) -> dict[str, object]:
    done = run(tmp_path, "db", "status", "--json")
    assert done.returncode == 0, done.stderr
    report: dict[str, object] = json.loads(done.stdout)
    return report


def test_upgrade_in_steps_then_to_the_latest(tmp_path: Path) -> None:
    first = run(tmp_path, "db", "upgrade", "--to", "5")
    assert first.returncode == 0, first.stderr
    assert "applied 1, 2, 3, 4, 5; now at version 5" in first.stdout
    assert status(tmp_path) == {
        "database": str(tmp_path.resolve() / "invoiceflow.db"),
        "version": 5,
        "latest": LATEST,
        "pending": list(range(6, LATEST + 1)),
    }
    rest = run(tmp_path, "db", "upgrade", "--json")
    assert json.loads(rest.stdout)["applied"] == list(range(6, LATEST + 1))
    again = run(tmp_path, "db", "upgrade")
    assert again.stdout.endswith(f"at version {LATEST} of {LATEST}\n")
    assert status(tmp_path)["pending"] == []


def test_status_of_a_database_that_is_not_there_creates_none(tmp_path: Path) -> None:
    assert "no database at" in one_line_error(run(tmp_path, "db", "status"))
    assert not (tmp_path / "invoiceflow.db").exists()
