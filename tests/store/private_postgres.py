"""A PostgreSQL 15 server of a test's own, to stop, restart and cut off at will.

Tests that take the server down (restarts, lost links) cannot do it to the shared one other
tests use, so they start their own: ``initdb`` in a fresh folder, trust authentication, a
free port, Unix sockets in the data folder only (never ``/var/run``), and it is always
stopped when the ``with`` block ends, however it ends::

    with PrivatePostgres(tmp_path) as server:
        server.createdb("chaos")
        url = server.url("chaos")
        server.restart(down_for=1.5)

PostgreSQL refuses to run as root, so when the tests run as root the server's programs run
as the ``postgres`` OS user (``runuser``), and its folder is made in the system's temporary
folder, which that user can reach (a test's ``tmp_path`` is private to root). The server's
log is copied into ``folder`` when it stops, for a failing test to show.
"""

from __future__ import annotations

import atexit
import contextlib
import ipaddress
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Literal

import psycopg

__all__ = ["BIN", "PrivatePostgres", "StopMode", "missing"]

BIN = Path(os.environ.get("INVOICEFLOW_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
OS_USER = "postgres"  # whom the server runs as when we are root
START_TIMEOUT = 120  # seconds pg_ctl waits for a start (crash recovery included) or a stop

StopMode = Literal["immediate", "fast", "smart"]


def missing() -> str | None:
    """Why a private server cannot be run here (for a skip), or None when it can."""
    for program in ("initdb", "pg_ctl", "postgres"):
        if not (BIN / program).is_file():
            return f"PostgreSQL server programs not found: no {BIN / program}"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(OS_USER)
        except KeyError:
            return f"running as root and there is no {OS_USER!r} OS user to run the server as"
        if shutil.which("runuser") is None:
            return "running as root and runuser is not installed"
    return None


def free_port(host: str) -> int:
    """A TCP port nothing listens on at ``host`` now (the kernel's choice)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class PrivatePostgres:
    """One private server. ``listen`` is the address it listens on (``listen_addresses``),
    127.0.0.1 unless a test needs another (the address of a virtual link, to cut it)."""

    def __init__(
        self,
        folder: Path,
        *,
        listen: str = "127.0.0.1",
        port: int | None = None,
        settings: dict[str, str] | None = None,
    ) -> None:
        self.folder = Path(folder)
        self.listen = listen
        # The first of several addresses ("a,b"), or loopback for all of them ("*").
        first = listen.split(",")[0].strip()
        self.host = "127.0.0.1" if first in ("*", "0.0.0.0", "") else first
        self.port = port if port is not None else free_port(self.host)
        self.settings = settings or {}
        self.home = Path(tempfile.mkdtemp(prefix="invoiceflow-pg-"))
        self.data = self.home / "data"
        self.log = self.home / "server.log"
        self.running = False
        self.restarts = 0
        self._as_root = os.geteuid() == 0
        # A test process that ends without leaving the with block (an interrupt between
        # __init__ and __enter__, a forgotten close) still takes its server down with it.
        atexit.register(self.close)

    # -- running programs ---------------------------------------------------------------
    def _run(self, *args: str | Path, timeout: float = START_TIMEOUT) -> None:
        command = [str(a) for a in args]
        if self._as_root:
            command = ["runuser", "-u", OS_USER, "--", *command]
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, cwd=self.home
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}{done.stderr}"
                f"\n--- server log ---\n{self.log_text()[-4000:]}"
            )

    def init(self) -> None:
        """``initdb`` and our settings; done by ``start`` the first time."""
        if self._as_root:
            user = pwd.getpwnam(OS_USER)
            os.chown(self.home, user.pw_uid, user.pw_gid)
        self._run(
            BIN / "initdb",
            "--pgdata",
            self.data,
            "--username",
            "postgres",
            "--auth",
            "trust",
            "--encoding",
            "UTF8",
            "--locale",
            "C",
            "--no-sync",  # what initdb writes reaches the disk with the first checkpoint
            "--no-instructions",
        )
        settings = {
            "listen_addresses": f"'{self.listen}'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.data}'",
            "max_connections": "200",
            "shared_buffers": "32MB",
            "logging_collector": "off",
            "log_min_messages": "warning",
            **self.settings,
        }
        with (self.data / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write("\n# invoiceflow tests\n")
            conf.writelines(f"{k} = {v}\n" for k, v in settings.items())
        # initdb's trust lines cover the loopback addresses only: a server listening on
        # another address trusts whoever reaches it there too.
        with (self.data / "pg_hba.conf").open("a", encoding="utf-8") as hba:
            hba.write("host all all 0.0.0.0/0 trust\nhost all all ::/0 trust\n")

    # -- life ------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the server and wait until it accepts connections (after crash recovery,
        when the last stop was immediate)."""
        if not (self.data / "PG_VERSION").exists():
            self.init()
        self._run(
            BIN / "pg_ctl",
            "start",
            "--pgdata",
            self.data,
            "--log",
            self.log,
            "--wait",
            "--timeout",
            str(START_TIMEOUT),
            "--silent",
        )
        self.running = True

    def stop(self, mode: StopMode = "immediate") -> None:
        """Stop the server: ``immediate`` is a crash (no checkpoint, recovery at the next
        start, every client cut at once); ``fast`` rolls back and disconnects cleanly."""
        if not self.running:
            return
        self._run(
            BIN / "pg_ctl",
            "stop",
            "--pgdata",
            self.data,
            "--mode",
            mode,
            "--wait",
            "--timeout",
            str(START_TIMEOUT),
            "--silent",
        )
        self.running = False

    def restart(self, down_for: float = 0.0, mode: StopMode = "immediate") -> None:
        """Stop, stay down ``down_for`` seconds (a chosen outage, not a wait for anything),
        and start again."""
        self.stop(mode)
        if down_for > 0:
            time.sleep(down_for)
        self.start()
        self.restarts += 1

    def close(self) -> None:
        """Stop the server if it runs, keep its log in ``folder``, remove its files."""
        try:
            with contextlib.suppress(Exception):
                self.stop("immediate")
            if self.running:  # pg_ctl could not stop it: the postmaster's pid file can
                self._kill_postmaster()
        finally:
            if self.log.exists():
                with contextlib.suppress(OSError):
                    self.folder.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(self.log, self.folder / "postgres.log")
            shutil.rmtree(self.home, ignore_errors=True)
            atexit.unregister(self.close)

    def _kill_postmaster(self) -> None:
        with contextlib.suppress(OSError, ValueError, IndexError):
            pid = int((self.data / "postmaster.pid").read_text().split()[0])
            os.kill(pid, 9)  # SIGKILL: its children notice that it is gone, and exit
        self.running = False

    def __enter__(self) -> PrivatePostgres:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- using it --------------------------------------------------------------------------
    def url(self, dbname: str = "postgres", host: str | None = None) -> str:
        """A libpq URL for ``dbname`` as the ``postgres`` role, over TCP to ``host``
        (default: the address the server listens on)."""
        address = host or self.host
        with contextlib.suppress(ValueError):
            if ipaddress.ip_address(address).version == 6:
                address = f"[{address}]"
        return f"postgresql://postgres@{address}:{self.port}/{dbname}"

    def createdb(self, name: str) -> str:
        """Create database ``name``; its URL."""
        with psycopg.connect(self.url(), autocommit=True, connect_timeout=10) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def log_text(self) -> str:
        """What the server logged so far."""
        try:
            return self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
