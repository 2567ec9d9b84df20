"""The storage contract: what every backend must do, tested through the Database interface.

Each test runs against every backend in ``BACKENDS``; a new backend joins by adding a
fixture parameter, and must pass all of it.
"""

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from invoiceflow.store import ConstraintViolation, Database, Transaction, open_database
from invoiceflow.store.database import migrations
from invoiceflow.store.postgres import PostgresDatabase
from invoiceflow.store.sqlite import SQLiteDatabase

BACKENDS = ["sqlite-file", "sqlite-memory"]
SM = "arn:aws:states:us-east-1:000000000000:stateMachine:m"


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    url = {"sqlite-file": f"sqlite:///{tmp_path}/contract.db", "sqlite-memory": "sqlite://"}
    database = open_database(url[request.param])
    with database.transaction() as tx:
        tx.execute("insert_state_machine", (SM, "m", "{}", "", "STANDARD", 0.0))
    yield database
    database.close()


def new_execution(db: Database, name: str, wake_at: float = 0.0) -> int:
    arn = f"{SM}:{name}".replace("stateMachine", "execution")
    with db.transaction() as tx:
        row = tx.fetchone("insert_execution", (arn, SM, name, "{}", 0.0, "{}", wake_at, None, ""))
    assert row is not None
    return int(row[0])


def claim(db: Database, owner: str, now: float, limit: int = 10) -> list[int]:
    with db.transaction() as tx:
        return [r[0] for r in tx.fetch("claim_executions", (owner, now + 5, now, now, limit))]


def test_migrations_are_versioned_and_run_once(db: Database) -> None:
    db.migrate()
    db.migrate()
    with db.transaction(write=False) as tx:
        versions = [r[0] for r in tx.fetch_raw("SELECT version FROM schema_version ORDER BY 1")]
    assert versions == [v for v, _ in migrations(db.dialect)]


def test_a_failed_transaction_leaves_nothing(db: Database) -> None:
    with pytest.raises(RuntimeError), db.transaction() as tx:
        tx.execute("insert_state_machine", (SM + "2", "m2", "{}", "", "STANDARD", 0.0))
        raise RuntimeError("crash before commit")
    with db.transaction(write=False) as tx:
        assert tx.fetchone("get_state_machine", (SM + "2",)) is None
        assert tx.fetchone("get_state_machine", (SM,)) is not None


def test_execution_names_are_unique(db: Database) -> None:
    new_execution(db, "a")
    with db.transaction() as tx:
        arn = f"{SM}:a".replace("stateMachine", "execution")
        again = tx.fetchone("insert_execution", (arn, SM, "a", "{}", 0.0, "{}", 0.0, None, ""))
    assert again is None
    with pytest.raises(ConstraintViolation), db.transaction() as tx:  # same name, other ARN
        tx.execute("insert_execution", ("other-arn", SM, "a", "{}", 0.0, "{}", 0.0, None, ""))


def test_one_token_per_task_and_a_token_closes_once(db: Database) -> None:
    ex = new_execution(db, "t")
    with db.transaction() as tx:
        tx.execute("insert_token", ("h1", ex, "0.1", 0.0))
    with pytest.raises(ConstraintViolation), db.transaction() as tx:
        tx.execute("insert_token", ("h2", ex, "0.1", 0.0))
    with db.transaction() as tx:
        assert tx.fetchone("close_token", ("DONE", "h1")) == (ex, "0.1")
        assert tx.fetchone("close_token", ("DONE", "h1")) is None
        assert tx.fetchone("token_status", ("h1",)) == ("DONE", ex, "0.1")


def test_a_timer_is_set_once_and_moved_by_setting_it_again(db: Database) -> None:
    ex = new_execution(db, "w", wake_at=None)  # type: ignore[arg-type]
    with db.transaction() as tx:
        tx.execute("set_timer", (ex, 50.0, "0:wait:x", "{}"))
        tx.execute("set_timer", (ex, 20.0, "0:wait:x", "{}"))
        tx.execute("rewake", (ex,))
    with db.transaction(write=False) as tx:
        assert tx.fetch_raw("SELECT deliver_at FROM mailbox") == [(20.0,)]
        assert tx.fetchone("next_due", (0.0,)) == (20.0,)
    with db.transaction() as tx:
        tx.execute("cancel_timer", (ex, "0:wait:x"))
        tx.execute("rewake", (ex,))
        assert tx.fetchone("next_due", (0.0,)) == (None,)


def test_a_lease_excludes_other_owners_until_it_runs_out(db: Database) -> None:
    ids = [new_execution(db, f"e{i}") for i in range(3)]
    assert sorted(claim(db, "a", now=1.0)) == ids
    assert claim(db, "b", now=2.0) == []
    with db.transaction() as tx:  # a stale owner's writes are refused
        assert (
            tx.execute("save_execution", ("{}", "RUNNING", None, None, None, None, ids[0], "b"))
            == 0
        )
    assert sorted(claim(db, "b", now=7.0)) == ids  # a's leases (until 6.0) ran out
    with db.transaction() as tx:
        assert (
            tx.execute("save_execution", ("{}", "RUNNING", None, None, None, None, ids[0], "a"))
            == 0
        )
        assert (
            tx.execute("save_execution", ("{}", "RUNNING", None, None, None, None, ids[0], "b"))
            == 1
        )


def test_renewed_leases_hold_and_released_ones_free_at_once(db: Database) -> None:
    [ex] = [new_execution(db, "r")]
    assert claim(db, "a", now=1.0) == [ex]
    with db.transaction() as tx:
        assert tx.execute("renew_execution", (100.0, ex, "b")) == 0  # not b's to renew
        assert tx.execute("renew_execution", (100.0, ex, "a")) == 1
    assert claim(db, "b", now=50.0) == []
    with db.transaction() as tx:
        tx.execute("release_execution_leases", ("a",))
    assert claim(db, "b", now=50.0) == [ex]


def test_concurrent_claims_never_overlap(db: Database) -> None:
    ids = {new_execution(db, f"c{i}") for i in range(200)}
    got: dict[str, list[int]] = {}

    def take(owner: str) -> None:
        mine: list[int] = []
        while batch := claim(db, owner, now=1.0, limit=7):
            mine += batch
        got[owner] = mine

    threads = [threading.Thread(target=take, args=(f"o{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    everything = [i for mine in got.values() for i in mine]
    assert sorted(everything) == sorted(ids)


def test_tasks_are_leased_and_finished_by_their_owner_only(db: Database) -> None:
    ex = new_execution(db, "k")
    with db.transaction() as tx:
        tx.execute("insert_task", (ex, "0.1", "arn:x", "{}", None, 0.0, None))
        tx.execute("insert_task", (ex, "0.1", "arn:x", "{}", None, 0.0, None))  # no duplicate
        [(row_id, *_, tenant)] = tx.fetch("due_tasks", (1.0, 2, 5))
        assert tenant == ""
        assert tx.execute("claim_task", ("a", 10.0, row_id, 1.0)) == 1
        assert tx.execute("claim_task", ("b", 10.0, row_id, 1.0)) == 0  # leased until 10
        assert tx.fetch("due_tasks", (1.0, 2, 5)) == []
        assert tx.execute("finish_task", (ex, "0.1", "b")) == 0
        assert tx.execute("release_task", (2.0, row_id, "a")) == 1
        assert tx.execute("claim_task", ("b", 10.0, row_id, 2.0)) == 1
        assert tx.execute("finish_task", (ex, "0.1", "a")) == 0
        assert tx.execute("finish_task", (ex, "0.1", "b")) == 1


def test_history_pages_keep_their_order(db: Database) -> None:
    ex = new_execution(db, "h")
    with db.transaction() as tx:
        tx.execute("insert_history", (ex, 1, 2, "[1,2]"))
        tx.execute("insert_history", (ex, 3, 5, "[3,4,5]"))
    with db.transaction(write=False) as tx:
        assert tx.fetch("history", (ex, 2, 100)) == [("[3,4,5]",)]
        assert tx.fetch("history", (ex, 0, 1)) == [("[1,2]",)]  # only the rows asked for
        assert tx.fetch("history_reverse", (ex, 3, 0)) == [("[1,2]",)]
        assert tx.fetch("history_reverse", (ex, 6, 4)) == [("[3,4,5]",)]
        assert tx.fetch("history_last", (ex,)) == [(5,)]
    with pytest.raises(ConstraintViolation), db.transaction() as tx:
        tx.execute("insert_history", (ex, 3, 3, "[3]"))


def test_a_lazy_commit_is_committed_and_a_durable_one_carries_it(db: Database) -> None:
    with db.transaction(durable=False) as tx:
        tx.execute("insert_state_machine", (SM + "lazy", "lazy", "{}", "", "STANDARD", 0.0))
    with db.transaction(write=False) as tx:  # visible at once, to every connection
        assert tx.fetchone("get_state_machine", (SM + "lazy",)) is not None
    with pytest.raises(ValueError), db.transaction(durable=False) as tx:
        tx.execute("insert_state_machine", (SM + "gone", "gone", "{}", "", "STANDARD", 0.0))
        raise ValueError("rolled back like any other")
    with db.transaction() as tx:
        assert tx.fetchone("get_state_machine", (SM + "gone",)) is None


def _machines(db: Database) -> set[str]:
    with db.transaction(write=False) as tx:
        return {row[0] for row in tx.fetch_raw("SELECT name FROM state_machines")}


def _add_machine(tx: Transaction, name: str) -> None:
    tx.execute("insert_state_machine", (f"{SM}-{name}", name, "{}", "", "STANDARD", 0.0))


def test_a_savepoint_undoes_its_part_alone(db: Database) -> None:
    with db.transaction() as tx:
        with tx.savepoint() as part:
            _add_machine(tx, "undone")
            part.rollback()
            _add_machine(tx, "kept")
        with pytest.raises(ConstraintViolation), tx.savepoint():
            _add_machine(tx, "nested")
            with tx.savepoint():
                _add_machine(tx, "kept")  # a duplicate: this part and its parent undone
        _add_machine(tx, "after")
    assert _machines(db) == {"m", "kept", "after"}


def test_named_parameters_take_a_mapping(db: Database) -> None:
    insert = (
        "INSERT INTO state_machines (arn, name, definition, role_arn, type, created)"
        " VALUES (:arn, :name, '{}', '', 'STANDARD', :at)"
    )
    with db.transaction() as tx:
        tx.execute_raw(insert, {"arn": f"{SM}-a", "name": "a", "at": 5.0})
        tx.executemany_raw(insert, [{"arn": f"{SM}-{n}", "name": n, "at": 6.0} for n in "bc"])
        rows = tx.fetch_raw(
            "SELECT name FROM state_machines WHERE (:name IS NULL OR name = :name)"
            " AND created >= :at ORDER BY name",
            {"name": None, "at": 5.5},
        )
    assert rows == [("b",), ("c",)]


def test_a_commit_wakes_its_channels_listeners_at_once(db: Database) -> None:
    one, every = db.listen("messages/1"), db.listen("messages")
    with one, every, db.listen("messages/2", "executions") as other:
        with db.transaction() as tx:
            tx.notify("messages/1")
        assert one.wait(5) and every.wait(5)
        with db.transaction() as tx:
            tx.notify("executions")
        assert other.wait(5)


def _twin(db: Database) -> Database | None:
    """Another handle on the same stored data, as another process would open it."""
    if isinstance(db, SQLiteDatabase):
        return None if db.path == ":memory:" else SQLiteDatabase(db.path)
    if isinstance(db, PostgresDatabase):
        return PostgresDatabase(db.url)
    raise AssertionError(f"no twin for {db!r}")


def test_a_commit_in_another_process_wakes_listeners_here(db: Database) -> None:
    other = _twin(db)
    if other is None:
        pytest.skip("a private in-memory database has no other process")
    try:
        with db.listen("executions") as wakeup:
            wakeup.wait(0.5)  # whatever the listener's first connection fired
            began = time.monotonic()
            with other.transaction() as tx:
                _add_machine(tx, "elsewhere")
                tx.notify("executions")
            assert wakeup.wait(5)
            assert time.monotonic() - began < 1.0
    finally:
        other.close()


def test_a_commit_elsewhere_just_after_the_first_listen_is_not_missed(db: Database) -> None:
    """The first ``listen`` of a process starts its watch of other processes: a commit
    landing before that watch has looked once must still wake the listener."""
    for attempt in range(10):
        here = _twin(db)
        if here is None:
            pytest.skip("a private in-memory database has no other process")
        try:
            with here.listen("executions") as wakeup:
                with db.transaction() as tx:
                    _add_machine(tx, f"first-{attempt}")
                    tx.notify("executions")
                assert wakeup.wait(1.0), f"attempt {attempt}"
        finally:
            here.close()


def test_what_runs_later_runs_by_key_before_the_commit_and_not_if_undone(db: Database) -> None:
    ids = [new_execution(db, f"later-{i}", wake_at=100.0) for i in range(3)]
    with db.transaction() as tx:
        for i in reversed(ids):
            tx.later(i, "wake", (5.0, i, 5.0))
        with pytest.raises(RuntimeError), tx.savepoint():
            tx.later(ids[0], "wake", (1.0, ids[0], 1.0))
            raise RuntimeError("undone, with what it deferred")
    with db.transaction(write=False) as tx:
        woken = {row[0]: row[1] for row in tx.fetch_raw("SELECT id, wake_at FROM executions")}
    assert [woken[i] for i in ids] == [5.0, 5.0, 5.0]
