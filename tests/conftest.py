"""One switch chooses the database every suite runs on.

    make test                                     # SQLite, then PostgreSQL
    INVOICEFLOW_TEST_DATABASE=postgres pytest tests/engine

Unset (or ``sqlite``), tests open what they name. With ``postgres``, the plugin in
``tests/store/postgres_everywhere.py`` turns every database a test opens, by URL or as a
``SQLiteDatabase``, into a PostgreSQL schema of its own on the test server; tests that are
about SQLite itself are marked ``sqlite_only`` and skipped, with their reason.
"""

from __future__ import annotations

import os

import pytest

BACKEND = os.environ.get("INVOICEFLOW_TEST_DATABASE", "sqlite")
if BACKEND not in ("sqlite", "postgres"):
    raise pytest.UsageError(f"INVOICEFLOW_TEST_DATABASE={BACKEND!r}: use sqlite or postgres")
if BACKEND == "postgres":
    # Before any other conftest or test module imports what the plugin replaces.
    import tests.store.postgres_everywhere  # noqa: F401


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "sqlite_only(reason): the test is about SQLite itself (files, locks, pragmas)"
    )


def pytest_runtest_setup(item: pytest.Item) -> None:
    marker = item.get_closest_marker("sqlite_only")
    if marker is not None and BACKEND != "sqlite":
        pytest.skip(f"SQLite only: {marker.args[0] if marker.args else 'about SQLite itself'}")
