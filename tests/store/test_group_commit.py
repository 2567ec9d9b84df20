"""Concurrent writers share commits without seeing or losing each other's outcomes."""

import threading
import time
from pathlib import Path

import pytest

from invoiceflow.store.database import Transaction
from invoiceflow.store.sqlite import SQLiteDatabase

pytestmark = pytest.mark.sqlite_only("group commit is how SQLite's one writer shares commits")


@pytest.fixture
def db(tmp_path: Path) -> SQLiteDatabase:
    database = SQLiteDatabase(str(tmp_path / "g.db"))
    with database.transaction() as tx:
        tx.execute_raw("CREATE TABLE t (k TEXT PRIMARY KEY)")
    return database


def keys(db: SQLiteDatabase) -> set[str]:
    with db.transaction(write=False) as tx:
        return {r[0] for r in tx.fetch_raw("SELECT k FROM t")}


def test_every_writer_sees_its_write_durable_when_it_returns(db: SQLiteDatabase) -> None:
    missing: list[str] = []

    def write(n: int) -> None:
        for i in range(50):
            key = f"{n}-{i}"
            with db.transaction() as tx:
                tx.execute_raw("INSERT INTO t VALUES (?)", (key,))
            if key not in keys(db):  # another connection must see it at once
                missing.append(key)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert missing == []
    assert len(keys(db)) == 400


def test_waiting_writers_share_one_commit_and_a_failure_stays_its_own(db: SQLiteDatabase) -> None:
    release = threading.Event()
    errors: list[BaseException] = []

    def first() -> None:
        with db.transaction() as tx:
            tx.execute_raw("INSERT INTO t VALUES ('first')")
            release.wait()

    def other(key: str) -> None:
        try:
            with db.transaction() as tx:
                tx.execute_raw("INSERT INTO t VALUES (?)", (key,))
                if key == "bad":
                    raise ValueError("this block fails")
        except ValueError as exc:
            errors.append(exc)

    before = db.commits
    threads = [threading.Thread(target=first)]
    threads += [threading.Thread(target=other, args=(k,)) for k in ("a", "bad", "b")]
    for t in threads:
        t.start()
        time.sleep(0.05)  # let each queue behind the first
    release.set()
    for t in threads:
        t.join()
    assert keys(db) == {"first", "a", "b"}
    assert len(errors) == 1
    assert db.commits - before < 4


def test_a_nested_write_transaction_is_refused(db: SQLiteDatabase) -> None:
    with db.transaction(), pytest.raises(RuntimeError), db.transaction():
        pass


def level(tx: Transaction) -> int:
    return int(tx.fetch_raw("PRAGMA synchronous")[0][0])


def test_a_durable_block_never_joins_an_unflushed_commit(db: SQLiteDatabase) -> None:
    release = threading.Event()
    seen: dict[str, int] = {}

    def write(key: str, durable: bool, hold: bool = False) -> None:
        with db.transaction(durable=durable) as tx:
            tx.execute_raw("INSERT INTO t VALUES (?)", (key,))
            seen[key] = level(tx)
            if hold:
                release.wait()

    before = db.commits
    threads = [threading.Thread(target=write, args=("lazy", False, True))]
    threads += [threading.Thread(target=write, args=k) for k in (("sure", True), ("after", False))]
    for t in threads:
        t.start()
        time.sleep(0.05)
    release.set()
    for t in threads:
        t.join()
    assert keys(db) == {"lazy", "sure", "after"}
    # FULL is 2, NORMAL 1: the unflushed block committed alone, the later one rode along
    # with the durable block's flushed commit.
    assert seen == {"lazy": 1, "sure": 2, "after": 2}
    assert db.commits - before == 2
