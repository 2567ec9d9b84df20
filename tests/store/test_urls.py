"""Database URLs: what each form opens, and the ones refused before anything is created."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from invoiceflow.store import DatabaseURLError, database_location, database_path, open_database


def test_a_relative_path_is_resolved_from_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert database_path("sqlite:///data.db") == str(tmp_path / "data.db")
    assert database_path("sqlite:////" + str(tmp_path / "x.db").lstrip("/")) == str(
        tmp_path / "x.db"
    )


def test_a_folder_that_does_not_exist_is_refused_and_not_created(tmp_path: Path) -> None:
    with pytest.raises(DatabaseURLError, match="does not exist"):
        open_database(f"sqlite:///{tmp_path}/missing/x.db")
    assert not (tmp_path / "missing").exists()


def test_an_empty_path_is_refused() -> None:
    with pytest.raises(DatabaseURLError, match="names no file"):
        open_database("sqlite:///")


@pytest.mark.parametrize("url", ["mysql://h/db", "invoiceflow.db", "sqlite:/x.db"])
def test_an_unsupported_url_lists_the_supported_ones(url: str) -> None:
    with pytest.raises(DatabaseURLError, match=r"sqlite:///PATH .* and postgresql://"):
        open_database(url)


def test_a_postgresql_server_that_cannot_be_reached_is_one_sentence() -> None:
    with pytest.raises(DatabaseURLError) as caught:
        open_database("postgresql://invoiceflow:s3cret@127.0.0.1:1/none")
    said = str(caught.value)
    assert said.startswith("cannot reach postgresql://invoiceflow:***@127.0.0.1:1/none: ")
    assert "s3cret" not in said and "\n" not in said


def test_a_postgresql_url_is_shown_without_its_password() -> None:
    shown = database_location("postgresql://app:pw@db.internal:5433/invoices?sslmode=require")
    assert shown == "postgresql://app:***@db.internal:5433/invoices?sslmode=require"
    assert database_location("postgres://app@db/x") == "postgres://app@db/x"


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_in_memory_databases_still_open(url: str, tmp_path: Path) -> None:
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        db = open_database(url)
        with db.transaction(write=False) as tx:
            assert tx.fetch_raw("SELECT 1") == [(1,)]
        db.close()
    finally:
        os.chdir(cwd)
    assert list(tmp_path.iterdir()) == []
