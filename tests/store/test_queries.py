"""The named queries themselves: each says what it does, and each name is defined once.

As in procrastinate's queries.sql, a one-line comment right under ``-- name:`` describes the
query (and, where it is not obvious, why it is written so).
"""

import re
from collections import defaultdict
from pathlib import Path

import pytest

import invoiceflow.store
from invoiceflow.store.database import named_queries

SQL = Path(invoiceflow.store.__file__).parent / "sql"
NAME = re.compile(r"^--\s*name:\s*(\w+)\s*$")
MIGRATION = re.compile(r"^\d{3}_\w+\.sql$")


def query_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.sql") if not MIGRATION.match(p.name))


def definitions(folder: Path) -> dict[str, list[str]]:
    """Every ``-- name:`` line of the query files in ``folder``, as file:line by name."""
    found: dict[str, list[str]] = defaultdict(list)
    for path in query_files(folder):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            match = NAME.match(line)
            if match:
                found[match.group(1)].append(f"{path.relative_to(SQL)}:{number}")
    return found


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
def test_every_named_query_begins_with_a_description(dialect: str) -> None:
    queries = named_queries(dialect)
    assert queries
    undescribed = sorted(name for name, text in queries.items() if not text.startswith("--"))
    assert undescribed == [], f"{dialect}: no comment line right under -- name:"


def test_no_shared_query_is_defined_twice() -> None:
    """A second definition of a name would silently replace the first (the later file, or
    the later place in one file, wins)."""
    found = definitions(SQL)
    assert "claim_executions" in found  # the parsing found the shared queries
    assert {name: at for name, at in found.items() if len(at) > 1} == {}


@pytest.mark.parametrize("folder", [p.name for p in SQL.iterdir() if p.is_dir()])
def test_no_override_is_defined_twice_in_its_dialect(folder: str) -> None:
    found = definitions(SQL / folder)
    assert {name: at for name, at in found.items() if len(at) > 1} == {}
