"""The PostgreSQL backend against a real server: the storage contract, then the engine and
the queues on it, with several workers sharing one database.

Each test gets a database of its own, created with a random name and dropped afterwards.
The server is ``INVOICEFLOW_TEST_POSTGRES`` (a URL without a database name), by default
the local one; without a server these tests are skipped.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest

from invoiceflow.engine import Engine
from invoiceflow.engine.worker import Worker
from invoiceflow.functions import Registry
from invoiceflow.pipeline import Settings, open_pipeline
from invoiceflow.pipeline.blobs import BlobStore
from invoiceflow.pipeline.submit import receive, wait
from invoiceflow.queues import Queues, SQSClient
from invoiceflow.samples import SAMPLES
from invoiceflow.store import ConstraintViolation, Database
from invoiceflow.store.database import migrations, named_queries, split_statements
from invoiceflow.store.postgres import PostgresDatabase, Statement, translate
from tests.postgres_server import SERVER, server_up
from tests.postgres_server import url as url  # the fixture: a fresh database per test
from tests.store import test_contract as contract

ROOT = Path(__file__).resolve().parents[2]
SM = contract.SM


# Without a server these tests skip on a developer's machine, but not under CI, whose
# .ci/run starts PostgreSQL: there a missing server fails them.
pytestmark = [
    pytest.mark.skipif(
        not os.environ.get("CI") and not server_up(), reason=f"no PostgreSQL server at {SERVER}"
    ),
    pytest.mark.own_postgres,
]

# The contract's own tests, run here with this module's ``db`` fixture: every test a
# backend must pass, on PostgreSQL.
for _name in dir(contract):
    if _name.startswith("test_"):
        globals()[_name] = getattr(contract, _name)


def at_once(work: Callable[[Any], None], each: Iterable[Any]) -> list[BaseException]:
    """``work(x)`` for every ``x``, each on a thread of its own, all let go together (as
    processes on several machines would race); what they raised."""
    items = list(each)
    start = threading.Barrier(len(items))
    raised: list[BaseException] = []

    def run(item: Any) -> None:
        start.wait()
        try:
            work(item)
        except BaseException as exc:
            raised.append(exc)

    threads = [threading.Thread(target=run, args=(item,)) for item in items]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return raised


@pytest.fixture
def db(url: str) -> Iterator[Database]:
    database = PostgresDatabase(url)
    database.migrate()
    with database.transaction() as tx:
        tx.execute("insert_state_machine", (SM, "m", "{}", "", "STANDARD", 0.0))
    yield database
    database.close()


def versions(db: Database) -> list[int]:
    with db.transaction(write=False) as tx:
        return [r[0] for r in tx.fetch_raw("SELECT version FROM schema_version ORDER BY 1")]


# -- translation ---------------------------------------------------------------------------


def test_placeholders_become_psycopg_ones_and_percent_signs_stay_literal() -> None:
    assert translate("SELECT a FROM t WHERE b = ? AND c LIKE '50%' AND d = 7 % ?") == (
        Statement("SELECT a FROM t WHERE b = %s AND c LIKE '50%%' AND d = 7 %% %s", None),
    )
    # a ? in a literal, a quoted name or a comment is no parameter
    assert translate("SELECT '?', \"a?\" -- why?\n, ?") == (
        Statement("SELECT '?', \"a?\" -- why?\n, %s", None),
    )


def test_is_null_gets_a_type_and_numbered_parameters_take_their_places() -> None:
    assert translate("SELECT 1 WHERE (? IS NULL OR s = ?) AND ? is not null") == (
        Statement(
            "SELECT 1 WHERE (CAST(%s AS TEXT) IS NULL OR s = %s) AND CAST(%s AS TEXT) is not null",
            None,
        ),
    )
    [statement] = translate("WITH x AS (SELECT ?3 LIMIT ?3) UPDATE t SET a = ?1, b = ?2")
    assert statement.order == (2, 2, 0, 1)
    assert statement.arguments(("a", "b", 5)) == [5, 5, "a", "b"]


def test_several_statements_run_in_order_with_the_same_parameters(db: Database) -> None:
    assert [s.text for s in translate("SELECT ?2; SELECT ?1;")] == ["SELECT %s", "SELECT %s"]
    with db.transaction() as tx:
        tx.execute_raw("CREATE TABLE seen (v TEXT)")
        rows = tx.fetch_raw(
            "INSERT INTO seen VALUES (?2); SELECT v || ?1 FROM seen", ("!", "first")
        )
    assert rows == [("first!",)]


def test_raw_sql_with_percent_signs_and_parameters(db: Database) -> None:
    with db.transaction(write=False) as tx:
        assert tx.fetch_raw("SELECT '100%' || ?, 7 % 3", ("!",)) == [("100%!", 1)]
        assert tx.fetch_raw("SELECT ? IS NULL, ? IS NULL", (None, 1.5)) == [(True, False)]


def _overrides() -> list[str]:
    shared, ours = named_queries("sqlite"), named_queries("postgres")
    return sorted(name for name in ours if ours[name] != shared.get(name))


def test_every_override_takes_the_shared_parameters_and_gives_the_shared_columns(
    db: Database, tmp_path: Path
) -> None:
    """An override must follow its shared query when that one changes: the same number of
    parameters, the same columns back (run on empty tables; NULL or 0 for every parameter)."""
    shared, ours = named_queries("sqlite"), named_queries("postgres")
    assert {"claim_executions", "claim_task", "receive_messages", "claim_slot"} <= set(_overrides())
    lite = sqlite3.connect(tmp_path / "columns.db", isolation_level=None)
    for _version, text in migrations("sqlite"):
        for statement in split_statements(text):
            lite.execute(statement)
    assert isinstance(db, PostgresDatabase)
    with psycopg.connect(db.url, autocommit=True) as conn:
        for name in _overrides():
            assert name in shared, f"{name} overrides no shared query"
            count = shared[name].count("?")
            lite.execute("BEGIN")
            expected = lite.execute(shared[name], [0] * count).description
            lite.execute("ROLLBACK")
            statements = translate(ours[name])
            taken = {i for s in statements for i in (s.order or range(s.text.count("%s")))}
            assert max(taken, default=-1) < count, f"{name} takes more parameters than shared"
            conn.execute("BEGIN")
            cursor = conn.cursor()
            for s in statements:
                cursor.execute(s.text, s.arguments([None] * count))
            conn.execute("ROLLBACK")
            got = [c.name for c in cursor.description or ()]
            want = [c[0] for c in expected or ()]
            assert len(got) == len(want), name
            # SQLite names an expression by its text; PostgreSQL by its function
            assert [g for g, w in zip(got, want, strict=True) if w.isidentifier()] == [
                w for w in want if w.isidentifier()
            ], name


def test_every_named_query_runs_on_postgresql(db: Database) -> None:
    """Every query, shared or overridden, with NULL for each parameter on empty tables, in a
    transaction rolled back: a shared query in SQLite's own syntax fails here, and needs a
    PostgreSQL version under sql/postgres/. Only refusals by the schema (NULL where a
    column needs a value) are expected."""
    assert isinstance(db, PostgresDatabase)
    failures = []
    with psycopg.connect(db.url, autocommit=True) as conn:
        for name, text in sorted(named_queries("postgres").items()):
            statements = translate(text)
            names = {name: None for s in statements for name in s.names}
            nulls = names or [None] * max(
                max(s.order) + 1 if s.order else s.text.count("%s") for s in statements
            )
            conn.execute("BEGIN")
            try:
                for s in statements:
                    conn.execute(s.text, s.arguments(nulls))
            except psycopg.errors.IntegrityError:
                pass
            except psycopg.Error as exc:
                failures.append(f"{name}: {exc}")
            finally:
                conn.execute("ROLLBACK")
    assert failures == []


# -- the contract --------------------------------------------------------------------------


def test_unique_check_and_foreign_key_violations_are_constraint_violations(
    db: Database,
) -> None:
    with pytest.raises(ConstraintViolation), db.transaction() as tx:  # unique
        tx.execute("insert_state_machine", (SM, "again", "{}", "", "STANDARD", 0.0))
    with pytest.raises(ConstraintViolation), db.transaction() as tx:  # check
        tx.execute("set_durability", ("sometimes", SM))
    with pytest.raises(ConstraintViolation), db.transaction() as tx:  # foreign key
        tx.execute(
            "insert_execution", ("arn:e", "arn:nowhere", "e", "{}", 0.0, "{}", 0.0, None, "")
        )
    with pytest.raises(ConstraintViolation), db.transaction() as tx:  # not null
        tx.execute_raw("INSERT INTO queues (name) VALUES (?)", ("q",))
    with db.transaction(write=False) as tx:  # nothing of it stayed
        assert tx.fetch_raw("SELECT COUNT(*) FROM executions") == [(0,)]
        assert tx.fetchone("get_state_machine", (SM,))[1] == "m"  # type: ignore[index]


def test_a_savepoint_keeps_the_transaction_after_a_violation(db: Database) -> None:
    with db.transaction() as tx:
        tx.execute_raw("SAVEPOINT piece")
        with pytest.raises(ConstraintViolation):
            tx.execute("insert_state_machine", (SM, "again", "{}", "", "STANDARD", 0.0))
        tx.execute_raw("ROLLBACK TO piece")
        tx.execute_raw("RELEASE piece")
        tx.execute("insert_state_machine", (SM + "2", "m2", "{}", "", "STANDARD", 0.0))
    with db.transaction(write=False) as tx:
        assert tx.fetchone("get_state_machine", (SM + "2",)) is not None


def test_a_read_only_transaction_refuses_to_write(db: Database) -> None:
    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction), db.transaction(write=False) as tx:
        tx.execute("insert_state_machine", (SM + "2", "m2", "{}", "", "STANDARD", 0.0))
    with db.transaction(write=False) as tx:
        assert tx.fetch_raw("SHOW transaction_read_only") == [("on",)]
    with db.transaction() as tx:
        assert tx.fetch_raw("SHOW transaction_read_only") == [("off",)]


def test_a_thread_opens_one_write_transaction_at_a_time(db: Database) -> None:
    with db.transaction() as tx:
        with pytest.raises(RuntimeError), db.transaction():
            pass
        with db.transaction(write=False) as reading:  # reads may look meanwhile
            assert reading.fetch_raw("SELECT 1") == [(1,)]
        tx.execute("insert_state_machine", (SM + "2", "m2", "{}", "", "STANDARD", 0.0))
    with db.transaction():  # and the next one opens
        pass


def test_a_lazy_commit_skips_only_its_own_flush(db: Database) -> None:
    with db.transaction(durable=False) as tx:
        assert tx.fetch_raw("SHOW synchronous_commit") == [("off",)]
    with db.transaction() as tx:  # SET LOCAL: the next transaction on the connection flushes
        assert tx.fetch_raw("SHOW synchronous_commit") == [("on",)]


def test_a_lost_connection_is_transient_and_the_pool_recovers(db: Database) -> None:
    with pytest.raises(db.transient_errors), db.transaction() as tx:
        tx.fetch_raw("SELECT pg_terminate_backend(pg_backend_pid())")
    for _ in range(3):  # whichever pooled connection comes next works
        with db.transaction(write=False) as tx:
            assert tx.fetch_raw("SELECT 1") == [(1,)]


def test_connections_the_server_dropped_meanwhile_are_replaced_unseen(
    db: Database, url: str
) -> None:
    """As after a server restart: every pooled connection is gone, and the next
    transactions still run."""
    with db.transaction(write=False) as a, db.transaction(write=False) as b:  # two in the pool
        pids = a.fetch_raw("SELECT pg_backend_pid()") + b.fetch_raw("SELECT pg_backend_pid()")
    with psycopg.connect(url, autocommit=True) as admin:
        for (pid,) in pids:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    for _ in range(3):
        with db.transaction() as tx:
            assert tx.fetch_raw("SELECT 1") == [(1,)]


def test_migrate_is_idempotent_and_in_steps(url: str) -> None:
    db = PostgresDatabase(url)
    try:
        db.migrate(until=3)
        assert versions(db) == [1, 2, 3]
        db.migrate()
        db.migrate()
        assert versions(db) == [v for v, _ in migrations("postgres")]
    finally:
        db.close()


def test_migrate_from_threads_at_once(url: str) -> None:
    databases = [PostgresDatabase(url) for _ in range(4)]
    errors = at_once(lambda db: db.migrate(), databases)
    try:
        assert errors == []
        assert versions(databases[0]) == [v for v, _ in migrations("postgres")]
    finally:
        for db in databases:
            db.close()


def test_migrate_from_processes_at_once(url: str) -> None:
    script = (
        "import sys\n"
        "from invoiceflow.store.postgres import PostgresDatabase\n"
        "db = PostgresDatabase(sys.argv[1])\n"
        "db.migrate()\n"
        "db.close()\n"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script, url], cwd=ROOT, stderr=subprocess.PIPE)
        for _ in range(3)
    ]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()
    db = PostgresDatabase(url)
    try:
        assert versions(db) == [v for v, _ in migrations("postgres")]
    finally:
        db.close()


def test_concurrent_claims_from_separate_pools_never_overlap(db: Database, url: str) -> None:
    """As the contract's test, but each claimer with a pool of its own, as on two machines."""
    ids = {contract.new_execution(db, f"c{i}") for i in range(300)}
    got: dict[str, list[int]] = {}
    others = [PostgresDatabase(url) for _ in range(4)]

    def take(owner: str, mine_db: Database) -> None:
        mine: list[int] = []
        while batch := contract.claim(mine_db, owner, now=1.0, limit=5):
            mine += batch
        got[owner] = mine

    assert at_once(lambda i: take(f"o{i}", others[i]), range(len(others))) == []
    for d in others:
        d.close()
    everything = [i for mine in got.values() for i in mine]
    assert sorted(everything) == sorted(ids)


def test_a_task_claimed_by_one_worker_is_skipped_by_another(db: Database, url: str) -> None:
    ex = contract.new_execution(db, "k")
    with db.transaction() as tx:
        tx.execute("insert_task", (ex, "0.1", "arn:x", "{}", None, 0.0, None))
        [(row_id, *_)] = tx.fetch("due_tasks", (1.0, 2, 5))
    other = PostgresDatabase(url)
    try:
        with db.transaction() as tx:
            assert tx.execute("claim_task", ("a", 10.0, row_id, 1.0)) == 1
            with other.transaction() as tx2:  # not waiting for a's uncommitted claim
                assert tx2.execute("claim_task", ("b", 10.0, row_id, 1.0)) == 0
        with other.transaction() as tx2:  # nor taking it once a's claim committed
            assert tx2.execute("claim_task", ("b", 10.0, row_id, 1.0)) == 0
    finally:
        other.close()


@pytest.mark.parametrize("row_wake", [0.0, 5.0])  # before or after the event's time
@pytest.mark.parametrize("poster_first", [True, False])
def test_an_event_posted_while_its_execution_is_saved_wakes_it(
    db: Database, url: str, row_wake: float, poster_first: bool
) -> None:
    """A worker saving an execution recomputes its wake-up from the mailbox while another
    transaction posts an event to it (enqueue, wake): whoever locks the row first, the
    event's wake-up survives both commits."""
    ex = contract.new_execution(db, "x", wake_at=row_wake)
    with db.transaction() as tx:
        tx.execute_raw(
            "UPDATE executions SET lease_owner = 'w', lease_until = 100 WHERE id = ?", (ex,)
        )
        tx.execute_raw("DELETE FROM mailbox WHERE execution_id = ?", (ex,))
    save = ("{}", "RUNNING", None, None, None, None, ex, "w")
    elsewhere = PostgresDatabase(url)  # a thread opens one write transaction at a time
    poster_cm, worker_cm = db.transaction(), elsewhere.transaction()
    poster, worker = poster_cm.__enter__(), worker_cm.__enter__()

    def wake() -> None:
        poster.execute("wake", (1.0, ex, 1.0))

    def saving() -> None:
        worker.execute("save_execution", save)

    poster.execute("enqueue", (ex, 1.0, "{}"))
    first, first_cm, second, second_cm = (
        (wake, poster_cm, saving, worker_cm)
        if poster_first
        else (saving, worker_cm, wake, poster_cm)
    )
    first()
    blocked = threading.Thread(target=second)
    blocked.start()
    blocked.join(0.3)
    waited = blocked.is_alive()  # for the first one's lock on the row
    first_cm.__exit__(None, None, None)
    blocked.join()
    second_cm.__exit__(None, None, None)
    elsewhere.close()
    assert waited
    with db.transaction(write=False) as tx:
        assert tx.fetch_raw("SELECT wake_at FROM executions WHERE id = ?", (ex,)) == [(1.0,)]


# -- the engine on PostgreSQL --------------------------------------------------------------

WORKFLOW: dict[str, Any] = {
    "StartAt": "Double",
    "States": {
        "Double": {"Type": "Task", "Resource": "double", "ResultPath": "$.d", "Next": "Big?"},
        "Big?": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.d", "NumericGreaterThan": 10, "Next": "Each"}],
            "Default": "Small",
        },
        "Small": {"Type": "Pass", "Result": "small", "ResultPath": "$.size", "End": True},
        "Each": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "ItemProcessor": {
                "StartAt": "Inc",
                "States": {"Inc": {"Type": "Task", "Resource": "inc", "End": True}},
            },
            "ResultPath": "$.incremented",
            "Next": "Pause",
        },
        "Pause": {"Type": "Wait", "Seconds": 0, "Next": "Done"},
        "Done": {"Type": "Succeed"},
    },
}


def run_workers(engines: list[Engine], arns: list[str], timeout: float = 120.0) -> None:
    workers = [Worker(e.runtime, name=f"w{i}") for i, e in enumerate(engines)]
    threads = [threading.Thread(target=w.run) for w in workers]
    for t in threads:
        t.start()
    sfn = engines[0].client
    try:
        deadline = time.monotonic() + timeout
        while any(sfn.describe_execution(executionArn=a)["status"] == "RUNNING" for a in arns):
            assert time.monotonic() < deadline, "executions still running"
            time.sleep(0.05)
    finally:
        for w in workers:
            w.stop()
        for t in threads:
            t.join()


def registry(calls: Counter[str]) -> Registry:
    lock = threading.Lock()
    handlers = Registry()

    def double(event: Any, _ctx: Any) -> Any:
        with lock:
            calls[f"double {event['name']}"] += 1
        return event["n"] * 2

    def inc(event: Any, _ctx: Any) -> Any:
        with lock:
            calls["inc"] += 1
        return event + 1

    handlers.register("double", double)
    handlers.register("inc", inc)
    return handlers


def test_workflows_run_to_completion(db: Database) -> None:
    calls: Counter[str] = Counter()
    engine = Engine.open(db, invoker=registry(calls))
    sfn = engine.client
    sm = sfn.create_state_machine(name="flow", definition=json.dumps(WORKFLOW))["stateMachineArn"]
    inputs = {
        "big": {"name": "big", "n": 6, "items": [1, 2, 3]},
        "small": {"name": "small", "n": 2},
    }
    arns = {
        k: sfn.start_execution(stateMachineArn=sm, name=k, input=json.dumps(v))["executionArn"]
        for k, v in inputs.items()
    }
    run_workers([engine], list(arns.values()))
    big = sfn.describe_execution(executionArn=arns["big"])
    assert big["status"] == "SUCCEEDED"
    assert json.loads(big["output"])["incremented"] == [2, 3, 4]
    small = sfn.describe_execution(executionArn=arns["small"])
    assert json.loads(small["output"])["size"] == "small"
    events = [e["type"] for e in sfn.get_execution_history(executionArn=arns["big"])["events"]]
    assert events[0] == "ExecutionStarted" and events[-1] == "ExecutionSucceeded"
    assert "MapStateEntered" in events and "WaitStateExited" in events
    assert calls == Counter({"double big": 1, "double small": 1, "inc": 3})


def test_two_workers_share_the_work_and_run_each_task_once(db: Database, url: str) -> None:
    calls: Counter[str] = Counter()
    second = PostgresDatabase(url)
    engines = [
        Engine.open(db, invoker=registry(calls)),
        Engine.open(second, invoker=registry(calls)),
    ]
    sfn = engines[0].client
    sm = sfn.create_state_machine(name="flow", definition=json.dumps(WORKFLOW))["stateMachineArn"]
    count = 60
    arns = [
        sfn.start_execution(
            stateMachineArn=sm,
            name=f"e{i}",
            input=json.dumps({"name": f"e{i}", "n": i, "items": [i]}),
        )["executionArn"]
        for i in range(count)
    ]
    try:
        run_workers(engines, arns)
    finally:
        second.close()
    assert {sfn.describe_execution(executionArn=a)["status"] for a in arns} == {"SUCCEEDED"}
    assert {k: v for k, v in calls.items() if k != "inc"} == {
        f"double e{i}": 1 for i in range(count)
    }
    assert calls["inc"] == count - 6  # e6 and up go through the Map (2 * 6 > 10)
    with db.transaction(write=False) as tx:
        assert tx.fetch_raw("SELECT COUNT(*) FROM tasks") == [(0,)]
        assert tx.fetch_raw("SELECT COUNT(*) FROM executions WHERE lease_owner IS NOT NULL") == [
            (0,)
        ]


# -- queues on PostgreSQL ------------------------------------------------------------------


def test_send_receive_delete_and_visibility(db: Database) -> None:
    now = [1000.0]
    sqs = SQSClient(Queues(db, clock=lambda: now[0]))
    url = sqs.create_queue(QueueName="q", Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
    for i in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{i}")
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert sorted(m["Body"] for m in got) == ["m0", "m1", "m2"]
    assert sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []) == []
    first, second, third = got
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"])
    sqs.change_message_visibility(
        QueueUrl=url, ReceiptHandle=second["ReceiptHandle"], VisibilityTimeout=0
    )
    [again] = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert again["Body"] == second["Body"]
    assert again["ReceiptHandle"] != second["ReceiptHandle"]
    now[0] += 31  # the visibility timeouts run out
    late = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert sorted(m["Body"] for m in late) == [second["Body"], third["Body"]]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=third["ReceiptHandle"])  # an old handle
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["ApproximateNumberOfMessagesNotVisible"] == "2"


def test_dead_letters_after_max_receives(db: Database) -> None:
    now = [1000.0]
    sqs = SQSClient(Queues(db, clock=lambda: now[0]))
    dlq = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2})
    url = sqs.create_queue(
        QueueName="q", Attributes={"VisibilityTimeout": "5", "RedrivePolicy": policy}
    )["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="poison")
    for _ in range(2):
        assert len(sqs.receive_message(QueueUrl=url)["Messages"]) == 1
        now[0] += 6
    assert sqs.receive_message(QueueUrl=url).get("Messages", []) == []
    [dead] = sqs.receive_message(QueueUrl=dlq)["Messages"]
    assert dead["Body"] == "poison"


def test_receivers_on_separate_pools_never_share_a_message(db: Database, url: str) -> None:
    sqs = SQSClient(Queues(db))
    qurl = sqs.create_queue(QueueName="q", Attributes={"VisibilityTimeout": "300"})["QueueUrl"]
    bodies = [f"m{i}" for i in range(400)]
    for i in range(0, len(bodies), 10):
        sqs.send_message_batch(
            QueueUrl=qurl,
            Entries=[{"Id": str(j), "MessageBody": b} for j, b in enumerate(bodies[i : i + 10])],
        )
    pools = [PostgresDatabase(url) for _ in range(4)]
    got: list[str] = []
    lock = threading.Lock()

    def drain(pool: Database) -> None:
        client = SQSClient(Queues(pool))
        while messages := client.receive_message(QueueUrl=qurl, MaxNumberOfMessages=7).get(
            "Messages", []
        ):
            with lock:
                got.extend(m["Body"] for m in messages)

    assert at_once(drain, pools) == []
    for p in pools:
        p.close()
    assert sorted(got) == sorted(bodies)


def test_fifo_receivers_never_hold_two_messages_of_a_group(db: Database, url: str) -> None:
    sqs = SQSClient(Queues(db))
    attributes = {"FifoQueue": "true", "VisibilityTimeout": "300"}
    qurl = sqs.create_queue(QueueName="q.fifo", Attributes=attributes)["QueueUrl"]
    for group in range(5):
        for i in range(4):
            sqs.send_message(
                QueueUrl=qurl,
                MessageBody=f"{group}.{i}",
                MessageGroupId=f"g{group}",
                MessageDeduplicationId=f"{group}.{i}",
            )
    pools = [PostgresDatabase(url) for _ in range(4)]
    got: list[str] = []
    lock = threading.Lock()

    def take(pool: Database) -> None:
        client = SQSClient(Queues(pool))
        for _ in range(5):
            messages = client.receive_message(QueueUrl=qurl, MaxNumberOfMessages=1)
            with lock:
                got.extend(m["Body"] for m in messages.get("Messages", []))

    assert at_once(take, pools) == []
    for p in pools:
        p.close()
    # nothing was deleted: each group gave its first message, and only that one
    assert sorted(got) == [f"{group}.0" for group in range(5)]


def test_fifo_sends_of_one_deduplication_id_store_one_message(db: Database, url: str) -> None:
    sqs = SQSClient(Queues(db))
    attributes = {"FifoQueue": "true"}
    qurl = sqs.create_queue(QueueName="d.fifo", Attributes=attributes)["QueueUrl"]
    pools = [PostgresDatabase(url) for _ in range(4)]
    ids: list[str] = []

    def send(pool: Database) -> None:
        client = SQSClient(Queues(pool))
        sent = client.send_message(
            QueueUrl=qurl, MessageBody="once", MessageGroupId="g", MessageDeduplicationId="d"
        )
        ids.append(sent["MessageId"])

    assert at_once(send, pools) == []
    for p in pools:
        p.close()
    assert len(set(ids)) == 1
    with db.transaction(write=False) as tx:
        assert tx.fetch_raw("SELECT COUNT(*) FROM messages") == [(1,)]


# -- the invoice pipeline on PostgreSQL ------------------------------------------------------


def test_files_reach_done_and_their_invoices_list_by_total(db: Database, tmp_path: Path) -> None:
    handlers = Registry()
    engine = Engine.open(db, invoker=handlers)
    settings = Settings(visibility_timeout=1, max_receives=2)
    pipeline = open_pipeline(engine, handlers, blobs=BlobStore(tmp_path), settings=settings)
    names = [
        "x12/oopfactory-Example3_MultiInvoice.x12",
        "ubl/en16931-ubl-tc434-example2.xml",
        "edifact/pydifact-invoice1.edi",
    ]
    ids = [receive(pipeline, n, (SAMPLES / n).read_bytes()).id for n in names]
    ended = wait(pipeline, handlers, ids, timeout=120)
    assert [(c.state, c.parsed_count, c.created_count) for c in ended] == [
        ("Done", 2, 2),
        ("Done", 1, 1),
        ("Done", 1, 1),
    ]

    def page(least: float | None, most: float | None, duplicate: int | None) -> list[str]:
        filters = {"tenant": "default", "total_min": least, "total_max": most}
        filters |= {"duplicate": duplicate, "before": 1e300, "before_id": "~", "limit": 100}
        filters |= dict.fromkeys(("container", "supplier", "issued_from", "issued_to"))
        with db.transaction(write=False) as tx:
            rows = tx.fetch("page_invoices", filters)
        return sorted(str(r[8]) for r in rows)

    totals = page(None, None, None)
    assert len(totals) == 4
    assert page(None, None, 0) == totals and page(None, None, 1) == []
    middle = sorted(totals, key=Decimal)[1]
    assert page(float(middle), float(middle), None) == [middle]  # exact, not rounded
    assert page(float(max(totals, key=Decimal)) + 0.01, None, None) == []


def test_processes_opening_the_pipeline_at_once_all_get_it(db: Database, url: str) -> None:
    """Each with a pool of its own, as on several machines: creating the same state machines
    and queues at the same moment is no error for any of them."""
    others = [PostgresDatabase(url) for _ in range(4)]
    arns: set[str] = set()

    def open_one(mine: Database) -> None:
        arns.add(open_pipeline(Engine.open(mine), Registry()).state_machine_arn)

    failed = at_once(open_one, others)
    for d in others:
        d.close()
    assert failed == [] and len(arns) == 1


def test_the_command_line_runs_the_pipeline_on_postgresql(url: str, tmp_path: Path) -> None:
    """``INVOICEFLOW_DATABASE_URL=postgresql://...`` is all it takes: files are received,
    processed and listed, and ``info`` names the database without a password."""
    env = {**os.environ, "INVOICEFLOW_DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    env["INVOICEFLOW_FILES"] = str(tmp_path / "files")

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "invoiceflow", *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    sample = str(SAMPLES / "x12" / "oopfactory-Example3_MultiInvoice.x12")
    done = cli("submit", "--wait", "--json", sample)
    assert done.returncode == 0, done.stderr
    ended = json.loads(done.stdout)
    assert (ended["state"], ended["invoices"]) == ("Done", 2)
    listed = cli("invoices", "list", "--json").stdout.splitlines()
    assert sorted(json.loads(line)["invoice_number"] for line in listed) == ["465266", "465267"]
    info = json.loads(cli("info", "--json").stdout)
    assert info["database"] == url and info["containers"] == {"Done": 1}
    assert not (tmp_path / "invoiceflow.db").exists()
