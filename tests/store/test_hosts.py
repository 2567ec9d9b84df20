"""Several hosts for real: ``invoiceflow worker`` processes in network namespaces of their
own share a private PostgreSQL over virtual links, and one host's link is cut mid-run.

Each host is a network namespace joined by a veth pair to a bridge in the test's namespace,
where the server listens. Cutting a host takes the bridge's end of its pair down: its
packets go nowhere, and nothing tells either side (as when a cable is pulled or a switch
port dies). The cut lands while one of the host's commits is under way, so the server is
left with its open transaction and row locks. After a long cut (30 s) TCP has given up on
the host's connections at both ends: its leases have run out and the other hosts have
taken its work over while it was away. After a short one (12 s) its connections survive and
its commit goes through late, long after its leases ran out, and must not write over what
the others did meanwhile. Either way it then takes its share of executions started once it
is back.

The workflows run per step (see ``invoiceflow.engine.durability``), and their handlers
(``tests.store.host_handlers``) log every attempt with the host that made it. What the
contract promises is checked with exact counts: every transition once (each history has
its events once, numbered without gaps), every keyed effect once, and only handlers of
executions the cut host held ran again, each at most once more, never a Task after its
successor started. Every execution succeeds, none is left running, and nothing is left behind.

Namespaces need root and iproute2's ``ip``; without them (or without PostgreSQL's server
programs) the test is skipped, and says why.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from invoiceflow.engine import Engine
from invoiceflow.engine.client import StepFunctionsClient
from invoiceflow.store.postgres import PostgresDatabase
from tests.crash_workers import wait_for
from tests.store import host_handlers
from tests.store.private_postgres import PrivatePostgres, missing

ROOT = Path(__file__).resolve().parents[2]
HOSTS = ("a", "b", "c")
CUT_HOST = "a"
EXECUTIONS = 300
LEASE = 2.0  # seconds: a cut host's work is free for the others this long after its last renewal
# Seconds the link stays down. A long cut outlasts the TCP user timeout and keepalive
# probes of both ends of a connection (20 s, see invoiceflow.store.postgres): the server
# lets go of the cut host's transaction, and its row locks, while the host is away, the
# others take its work over, and the host has to connect again. A short cut does not: the
# host's connections survive, and its commit that was under way goes through when the link
# returns, long after its leases ran out, without writing over what the others did since.
LONG_CUT = 30.0
SHORT_CUT = 12.0
# Each execution waits this many seconds plus n // SPREAD after its charge before its
# deliveries: the work comes in steadily, before and during the cut, for about 40 s.
FIRST_WAIT = 3
SPREAD = 8
LATE = 60  # executions started once the cut host is back
CUT_AFTER = 2 * SPREAD  # executions whose deliveries are done before the cut

DEFINITION: dict[str, Any] = {
    "StartAt": "Charge",
    "States": {
        "Charge": {
            "Type": "Task",
            "Resource": "host_charge",
            "Parameters": {"name.$": "$$.Execution.Name", "n.$": "$.n"},
            "ResultPath": "$.charge",
            "Next": "Spread",
        },
        "Spread": {"Type": "Wait", "SecondsPath": "$.delay", "Next": "Deliver"},
        "Deliver": {
            "Type": "Map",
            "ItemsPath": "$.charge.items",
            "ItemSelector": {"name.$": "$$.Execution.Name", "item.$": "$$.Map.Item.Value"},
            "ItemProcessor": {
                "StartAt": "Ship",
                "States": {"Ship": {"Type": "Task", "Resource": "host_deliver", "End": True}},
            },
            "ResultPath": "$.shipped",
            "Next": "Report",
        },
        "Report": {
            "Type": "Pass",
            "Parameters": {"n.$": "$.n", "amount.$": "$.charge.amount", "shipped.$": "$.shipped"},
            "End": True,
        },
    },
}
KEYS = ("charge", "deliver:0", "deliver:1", "deliver:2")  # each execution's effects


# -- the network -------------------------------------------------------------------------


def ip(*args: str) -> str:
    """Run iproute2's ``ip``; its output, or RuntimeError with what it said."""
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


@dataclass(frozen=True)
class Host:
    name: str
    namespace: str
    link: str  # the bridge's end of the host's veth pair: what a cut takes down
    address: str


@dataclass(frozen=True)
class Network:
    bridge: str
    server: str  # the server's address, on the bridge in the test's own namespace
    hosts: dict[str, Host]

    def cut(self, host: str) -> None:
        ip("link", "set", self.hosts[host].link, "down")

    def mend(self, host: str) -> None:
        ip("link", "set", self.hosts[host].link, "up")


def free_subnet() -> str:
    """The first three numbers of a 10.x.y.0/24 no interface here is in: test runs at the
    same time each get their own."""
    used = ip("-4", "-o", "addr", "show")
    rng = random.Random()
    for _ in range(100):
        prefix = f"10.{rng.randrange(64, 255)}.{rng.randrange(256)}"
        if f" {prefix}." not in used:
            return prefix
    raise RuntimeError("no free 10.x.y.0/24 subnet found")


def kill_everything_in(namespace: str) -> None:
    """SIGKILL what still runs in one of our namespaces (the workers we started there, if a
    failure left them): a namespace with processes in it outlives its deletion."""
    with contextlib.suppress(RuntimeError):
        for pid in ip("netns", "pids", namespace).split():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)


@pytest.fixture
def network() -> Iterator[Network]:
    """A bridge with the server's address and one namespace per host linked to it, each
    named uniquely for this run, all removed however the test ends."""
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root")
    if shutil.which("ip") is None:
        pytest.skip("iproute2's ip is not installed")
    if reason := missing():
        pytest.skip(reason)
    tag = uuid.uuid4().hex[:6]
    bridge = f"ifbr{tag}"
    namespaces: list[str] = []
    bridged = False
    try:
        first = f"invoiceflow-{tag}-{HOSTS[0]}"
        try:
            ip("netns", "add", first)
        except RuntimeError as exc:
            pytest.skip(f"network namespaces cannot be made here: {exc}")
        namespaces.append(first)
        prefix = free_subnet()
        ip("link", "add", bridge, "type", "bridge")
        bridged = True
        ip("addr", "add", f"{prefix}.1/24", "dev", bridge)
        ip("link", "set", bridge, "up")
        hosts = {}
        for i, name in enumerate(HOSTS):
            namespace = f"invoiceflow-{tag}-{name}"
            if namespace not in namespaces:
                ip("netns", "add", namespace)
                namespaces.append(namespace)
            link = f"ifv{tag}{name}"
            ip("link", "add", link, "type", "veth", "peer", "name", "eth0", "netns", namespace)
            ip("link", "set", link, "master", bridge)
            ip("link", "set", link, "up")
            address = f"{prefix}.{10 + i}"
            ip("-n", namespace, "addr", "add", f"{address}/24", "dev", "eth0")
            ip("-n", namespace, "link", "set", "eth0", "up")
            ip("-n", namespace, "link", "set", "lo", "up")
            hosts[name] = Host(name, namespace, link, address)
        yield Network(bridge, f"{prefix}.1", hosts)
    finally:
        for namespace in namespaces:
            kill_everything_in(namespace)
            with contextlib.suppress(RuntimeError):
                ip("netns", "del", namespace)  # its end of the veth pair goes, and so the other
        if bridged:
            with contextlib.suppress(RuntimeError):
                ip("link", "del", bridge)


# -- the server and the workers ------------------------------------------------------------


@pytest.fixture
def server(network: Network, tmp_path: Path) -> Iterator[PrivatePostgres]:
    """A private server listening on the bridge only: the hosts reach it over their links.
    Its settings are the defaults (no server-side keepalives), as most servers run."""
    with PrivatePostgres(tmp_path / "postgres", listen=network.server) as pg:
        yield pg


class Workers:
    """One ``invoiceflow worker`` process per host, started inside its namespace; output
    goes to files in ``folder`` (shown when something fails)."""

    def __init__(self, network: Network, folder: Path, effects: Path) -> None:
        self.network = network
        self.folder = folder
        self.effects = effects
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def log(self, host: str) -> str:
        return (self.folder / f"host-{host}.log").read_text(errors="replace")

    def start(self, url: str) -> None:
        """Start every host's worker and wait until each says it is ready."""
        for host in self.network.hosts.values():
            command = [
                *("ip", "netns", "exec", host.namespace),
                *(sys.executable, "-m", "invoiceflow", "worker"),
                *("--database-url", url, "--handlers", "tests.store.host_handlers"),
                *("--lease", str(LEASE), "--durability", "per-step"),
                *("--name", f"host-{host.name}"),
            ]
            env = {
                **os.environ,
                "INVOICEFLOW_HOSTS_EFFECTS": str(self.effects),
                "INVOICEFLOW_HOSTS_HOST": host.name,
            }
            with (self.folder / f"host-{host.name}.log").open("wb") as out:
                self.procs[host.name] = subprocess.Popen(
                    command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
                )

        def ready() -> bool:
            for name, proc in self.procs.items():
                assert proc.poll() is None, f"host {name}'s worker ended:\n{self.log(name)}"
            return all(" ready, database " in self.log(name) for name in self.procs)

        wait_for(ready, 120, "every worker to be ready")

    def stop(self) -> dict[str, int | None]:
        """SIGTERM every worker and wait for it; how each ended (None: it had to be killed)."""
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        ended: dict[str, int | None] = {}
        for name, proc in self.procs.items():
            try:
                ended[name] = proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                ended[name] = None
        return ended

    def kill(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()


@pytest.fixture
def workers(network: Network, tmp_path: Path) -> Iterator[Workers]:
    """The hosts' workers (started by the test), and a log of what their handlers did."""
    effects = tmp_path / "effects.db"
    with sqlite3.connect(effects) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        for statement in host_handlers.SCHEMA:
            conn.execute(statement)
    team = Workers(network, tmp_path, effects)
    try:
        yield team
    finally:
        team.kill()


# -- the test ------------------------------------------------------------------------------


@dataclass
class Attempt:
    seq: int
    key: str
    host: str
    began: float
    ended: float | None


def attempts(effects: Path) -> list[Attempt]:
    with contextlib.closing(sqlite3.connect(effects, timeout=60)) as conn:
        rows = conn.execute("SELECT seq, key, host, began, ended FROM attempts ORDER BY seq")
        return [Attempt(*row) for row in rows]


def scalar(db: PostgresDatabase, query: str, *params: Any) -> Any:
    with db.transaction(write=False) as tx:
        return tx.fetch_raw(query, params)[0][0]


def progress(db: PostgresDatabase, ids: list[int]) -> dict[int, tuple[int, str]]:
    """Each execution's newest history event and its status."""
    with db.transaction(write=False) as tx:
        rows = tx.fetch_raw(
            "SELECT e.id, COALESCE(MAX(h.last_id), 0), e.status FROM executions e"
            " LEFT JOIN history h ON h.execution_id = e.id"
            f" WHERE e.id IN ({', '.join('?' * len(ids))}) GROUP BY e.id, e.status",
            ids,
        )
    return {row[0]: (row[1], row[2]) for row in rows}


def sessions_of(db: PostgresDatabase, address: str) -> list[tuple[Any, ...]]:
    """What the server believes the cut host's connections are doing (for a failure)."""
    with db.transaction(write=False) as tx:
        return tx.fetch_raw(
            "SELECT pid, state, now() - xact_start, left(query, 80) FROM pg_stat_activity"
            " WHERE host(client_addr) = ?",
            (address,),
        )


@pytest.mark.own_postgres
@pytest.mark.parametrize("cut", [SHORT_CUT, LONG_CUT], ids=["short-cut", "long-cut"])
def test_a_host_cut_off_mid_commit_is_taken_over_and_rejoins_without_repeating_anything(
    network: Network, server: PrivatePostgres, workers: Workers, cut: float
) -> None:
    url = server.createdb("hosts")
    db = PostgresDatabase(url)
    try:
        db.migrate()
        client = Engine.open(db).client
        arn = client.create_state_machine(
            name="hosts", definition=json.dumps(DEFINITION), durability="per-step"
        )["stateMachineArn"]
        workers.start(url)
        arns: dict[str, str] = {}

        def start(first: int, count: int, wait: int) -> None:
            """Start executions e{first}... whose deliveries begin ``wait`` seconds after
            their charges, SPREAD a second."""
            for n in range(first, first + count):
                started = client.start_execution(
                    stateMachineArn=arn,
                    name=f"e{n}",
                    input=json.dumps({"n": n, "delay": wait + (n - first) // SPREAD}),
                )
                arns[f"e{n}"] = started["executionArn"]

        start(0, EXECUTIONS, FIRST_WAIT)
        run(network, db, client, workers, arns, cut, lambda: start(EXECUTIONS, LATE, 0))
    finally:
        db.close()


def run(
    network: Network,
    db: PostgresDatabase,
    client: StepFunctionsClient,
    workers: Workers,
    arns: dict[str, str],
    cut: float,
    start_late: Callable[[], None],
) -> None:
    effects = workers.effects
    cut_host = network.hosts[CUT_HOST]
    owner = f"host-{CUT_HOST}"
    begun = time.monotonic()

    # Mid-run: every charge made and the first executions' deliveries done (the effects
    # log is outside the network: reading it costs the database nothing).
    def ledger() -> int:
        with contextlib.closing(sqlite3.connect(effects, timeout=60)) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM ledger").fetchone()[0])

    wait_for(lambda: ledger() >= EXECUTIONS + 3 * CUT_AFTER, 120, "the run to be under way")

    def in_flight() -> list[str]:
        with contextlib.closing(sqlite3.connect(effects, timeout=60)) as conn:
            rows = conn.execute(
                "SELECT key FROM attempts WHERE host = ? AND ended IS NULL", (CUT_HOST,)
            )
            return [key for (key,) in rows]

    # The cut lands in the middle of one of the host's commits, the hardest moment: its
    # transaction holds row locks that the server keeps after the host is gone. To be sure
    # of it, the test holds a lock every commit needs (history pages are written last in
    # one) until the host's commit waits for it, cuts the link, and lets go: the server
    # then finishes the statement and waits for a host that will not answer. It takes the
    # lock while a handler the host runs inline is at work, so that the commit held up is
    # likely the one that records its result: then that handler runs again elsewhere.
    inline = tuple(f":{key}" for key in KEYS[:3])
    wait_for(
        lambda: any(key.endswith(inline) for key in in_flight()),
        60,
        f"a handler at work on host {CUT_HOST}",
    )
    with psycopg.connect(db.url) as lock:
        lock.execute("LOCK TABLE history IN SHARE MODE")
        ours = lock.info.backend_pid

        def waiting() -> bool:
            return bool(
                scalar(
                    db,
                    "SELECT COUNT(*) FROM pg_stat_activity WHERE host(client_addr) = ?"
                    " AND ? = ANY(pg_blocking_pids(pid))",
                    cut_host.address,
                    ours,
                )
            )

        wait_for(waiting, 60, f"a commit of host {CUT_HOST} to be under way")
        network.cut(CUT_HOST)
        cut_at = time.time()
    # What the cut host held: its executions and tasks leased in the database, and the
    # executions of the handlers it was running. The others must take all of it over
    # while it is away.
    with db.transaction(write=False) as tx:
        held = {
            row[0]
            for row in tx.fetch_raw(
                "SELECT id FROM executions WHERE lease_owner = ? AND status = 'RUNNING'"
                " UNION SELECT execution_id FROM tasks WHERE lease_owner = ?",
                (owner, owner),
            )
        }
        ids = dict(tx.fetch_raw("SELECT name, id FROM executions"))
    running_then = in_flight()
    held |= {ids[key.split(":")[0]] for key in running_then}
    assert held, "the cut host held nothing when cut"
    before = progress(db, sorted(held))

    def taken_over() -> bool:
        now = progress(db, sorted(held))
        return all(now[i][0] > before[i][0] or now[i][1] != "RUNNING" for i in held)

    stuck_sessions: list[tuple[Any, ...]] = []
    try:
        wait_for(taken_over, cut - 1, "the other hosts to take the cut host's work over")
        took_over = time.time() - cut_at
    except AssertionError:
        took_over = None
        stuck_sessions = sessions_of(db, cut_host.address)
    time.sleep(max(0.0, cut_at + cut - time.time()))  # the cut lasts that long
    network.mend(CUT_HOST)
    mended_at = time.time()

    # The host is back once its pool's connections (new ones, after a long cut) run
    # statements again (its listener reconnects on its own): then the last executions
    # start, for it to take its share of.
    def back() -> bool:
        return bool(
            scalar(
                db,
                "SELECT COUNT(*) FROM pg_stat_activity WHERE host(client_addr) = ?"
                " AND state_change > to_timestamp(?) AND query NOT LIKE 'LISTEN%'",
                cut_host.address,
                mended_at,
            )
        )

    wait_for(back, 90, f"host {CUT_HOST} to connect again")
    rejoined = time.time() - mended_at
    start_late()

    def running() -> int:
        return int(scalar(db, "SELECT COUNT(*) FROM executions WHERE status = 'RUNNING'"))

    with contextlib.suppress(AssertionError):
        wait_for(lambda: running() == 0, 90, "every execution to end")
    left_running = running()
    still = progress(db, sorted(held))
    ended = workers.stop()
    elapsed = time.monotonic() - begun
    tried = attempts(effects)
    logs = {name: workers.log(name) for name in HOSTS}
    print(
        f"\nrun: cut {cut:.0f} s; {elapsed:.1f} s after the executions started; cut host held "
        f"{len(held)} executions ({len(running_then)} handlers in flight); taken over in "
        f"{took_over if took_over is None else round(took_over, 1)} s; back "
        f"{rejoined:.1f} s after the link; "
        f"attempts {len(tried)} by host {dict(Counter(a.host for a in tried))}"
    )

    # The others took everything the cut host held over while it was away.
    assert cut < LONG_CUT or took_over is not None, (
        f"executions held by the cut host did not move while it was away: before {before},"
        f" after the cut {still}; its sessions on the server {stuck_sessions}"
    )
    # None stuck, all ended as they should, every transition once.
    assert left_running == 0, f"{left_running} executions still RUNNING\n{logs[CUT_HOST][-3000:]}"
    for name, arn in arns.items():
        n = int(name[1:])
        described = client.describe_execution(executionArn=arn)
        assert described["status"] == "SUCCEEDED", (name, described)
        assert json.loads(described["output"]) == {
            "n": n,
            "amount": n % 7 + 1,
            "shipped": [0, 10, 20],
        }
        events = client.get_execution_history(executionArn=arn, maxResults=1000)["events"]
        assert [e["id"] for e in events] == list(range(1, len(events) + 1)), name
        types = Counter(e["type"] for e in events)
        assert types["LambdaFunctionScheduled"] == types["LambdaFunctionSucceeded"] == 4, name
        assert types["LambdaFunctionFailed"] == types["LambdaFunctionTimedOut"] == 0, name
        assert types["ExecutionSucceeded"] == types["WaitStateExited"] == 1, name
    # Every keyed effect once.
    with contextlib.closing(sqlite3.connect(effects)) as conn:
        ledger_keys = [key for (key,) in conn.execute("SELECT key FROM ledger")]
    expected = {f"{name}:{key}" for name in arns for key in KEYS}
    assert len(ledger_keys) == len(expected) and set(ledger_keys) == expected
    # Only handlers of what the cut host held ran again, once more at most, the cut host
    # taking part (before the cut, or after it, for a task whose lease ran out while its
    # commit waited for the link), and never a Task after the next one began (per step, a
    # committed result is never redone).
    by_key: defaultdict[str, list[Attempt]] = defaultdict(list)
    for attempt in tried:
        by_key[attempt.key].append(attempt)
    assert set(by_key) == expected
    repeated = {key: tries for key, tries in by_key.items() if len(tries) > 1}
    held_names = {name for name, i in ids.items() if i in held}
    for key, tries in repeated.items():
        assert len(tries) == 2, (key, tries)
        assert any(a.host == CUT_HOST for a in tries), (key, tries)
        assert key.split(":")[0] in held_names, (key, tries)
    for name in arns:
        charges = by_key[f"{name}:charge"]
        deliveries = [a for key in KEYS[1:] for a in by_key[f"{name}:{key}"]]
        assert max(a.seq for a in charges) < min(a.seq for a in deliveries), name
        again = {key.split(":", 1)[1] for key in repeated if key.split(":")[0] == name}
        assert again <= {"charge"} or "charge" not in again, (name, again)
    # Nothing left behind.
    with db.transaction(write=False) as tx:
        assert tx.fetch_raw("SELECT COUNT(*) FROM tasks") == [(0,)]
        assert tx.fetch_raw("SELECT COUNT(*) FROM mailbox") == [(0,)]
        assert tx.fetch_raw("SELECT COUNT(*) FROM executions WHERE lease_owner IS NOT NULL") == [
            (0,)
        ]
    # The cut host noticed, kept going, rejoined and did its share afterwards; every
    # worker stopped cleanly when asked.
    assert any(a.host == CUT_HOST and a.began > mended_at for a in tried), logs[CUT_HOST][-3000:]
    assert ended == dict.fromkeys(HOSTS, 0), (ended, {k: v[-2000:] for k, v in logs.items()})
    hosts_of = {key: [a.host for a in tries] for key, tries in repeated.items()}
    print(f"handlers run again (by hosts, in order): {hosts_of}")
