"""One switch chooses the database every suite runs on.

    make test                                     # SQLite, then PostgreSQL
    INVOICEFLOW_TEST_DATABASE=postgres pytest tests/engine

Unset (or ``sqlite``), tests open what they name. With ``postgres``, the plugin in
``tests/store/postgres_everywhere.py`` turns every database a test opens, by URL or as a
``SQLiteDatabase``, into a PostgreSQL schema of its own on the test server. Tests about
SQLite itself are marked ``sqlite_only``, and tests that already make PostgreSQL databases
of their own ``own_postgres``: that pass skips both, with their reason.
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
    config.addinivalue_line(
        "markers",
        "own_postgres: the test makes PostgreSQL databases or servers of its own, so it runs "
        "on PostgreSQL in every pass; the PostgreSQL pass skips it rather than repeat it",
    )


def pytest_runtest_setup(item: pytest.Item) -> None:
    if BACKEND == "sqlite":
        return
    marker = item.get_closest_marker("sqlite_only")
    if marker is not None:
        pytest.skip(f"SQLite only: {marker.args[0] if marker.args else 'about SQLite itself'}")
    if item.get_closest_marker("own_postgres") is not None:
        pytest.skip("runs on a PostgreSQL database of its own in the first pass")
