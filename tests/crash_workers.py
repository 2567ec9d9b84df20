"""Worker processes for the SIGKILL tests: ``invoiceflow worker`` on one database, killed
at random moments and started again, as a supervisor restarts a crashed process.

The kills are random but replayable: ``seeded()`` takes ``CRASH_SEED`` when set and prints
the seed it used, so a failure's output says how to run the same kills again.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

ROOT = Path(__file__).resolve().parents[1]


def seeded(variable: str = "CRASH_SEED") -> tuple[int, random.Random]:
    """The seed of this run's random choices (the environment's ``variable``, else a new
    one), printed as ``variable=seed`` to replay them, and a generator drawing from it."""
    seed = int(os.environ.get(variable, time.time_ns()))
    print(f"{variable}={seed}")
    return seed, random.Random(seed)


def wait_for(
    condition: Callable[[], object], timeout: float, what: str, poll: float = 0.02
) -> None:
    """Returns once ``condition()`` holds; fails naming ``what`` if it still does not after
    ``timeout`` seconds. Polls: the processes it waits on tell nothing but their rows."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not after {timeout} s"
        time.sleep(poll)


def logged_worker(url: str, log: Path, timeout: float = 60) -> subprocess.Popen[bytes]:
    """One ``invoiceflow worker`` on ``url``, its output in ``log``, once it has said it is
    ready (killed if it has not within ``timeout`` seconds)."""
    command = [sys.executable, "-m", "invoiceflow", "worker", "--database-url", url]
    with log.open("wb") as out:
        proc = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=out)
    try:
        wait_for(
            lambda: b" ready, database " in log.read_bytes() or proc.poll() is not None,
            timeout,
            "the worker's ready line",
        )
        assert proc.poll() is None, log.read_text()
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    return proc


class Workers:
    """``count`` processes of ``invoiceflow worker --database-url URL``, named ``w0``, ``w1``,
    ...; ``args`` go to each command line and ``env`` to each environment. Used as a context
    manager: whatever is left running at the end is stopped. A subclass runs another
    command by overriding ``command``."""

    def __init__(
        self,
        url: str,
        count: int,
        *,
        args: list[str] | None = None,
        env: dict[str, str] | None = None,
        lease: float = 2.0,
    ) -> None:
        self.url, self.args, self.lease = url, args or [], lease
        self.env = {**os.environ, **(env or {})}
        self.running: dict[str, subprocess.Popen[bytes]] = {}
        self.kills = 0
        self._names = 0
        for _ in range(count):
            self.start()

    def start(self, name: str | None = None) -> str:
        """Starts a worker under ``name``, else under a name not used before (so it takes
        no leases over: a dead worker's work waits for them to run out)."""
        if name is None:
            name, self._names = f"w{self._names}", self._names + 1
        self.running[name] = subprocess.Popen(self.command(name), cwd=ROOT, env=self.env)
        return name

    def command(self, name: str) -> list[str]:
        """The command line of the process ``name``."""
        command = [sys.executable, "-m", "invoiceflow", "worker", "--database-url", self.url]
        return [*command, "--name", name, "--lease", str(self.lease), *self.args]

    def kill(self, rng: random.Random, *, rename: bool | None = None, replace: bool = True) -> str:
        """SIGKILLs one worker the generator picks and (unless not to ``replace`` it) starts
        its replacement, under the same name (it takes the dead one's leases over at once)
        or, if ``rename`` (by default drawn too), under a new one; the replacement's name,
        else the victim's."""
        self.check()
        name = rng.choice(sorted(self.running))
        if rename is None:
            rename = rng.random() < 0.5
        victim = self.running.pop(name)
        victim.send_signal(signal.SIGKILL)
        assert victim.wait(timeout=30) == -signal.SIGKILL
        self.kills += 1
        return self.start(None if rename else name) if replace else name

    def reap(self) -> dict[str, int]:
        """The workers that have ended (a handler may kill its own process), with their
        exit statuses, no longer counted as running."""
        ended = {name: p.returncode for name, p in self.running.items() if p.poll() is not None}
        for name in ended:
            del self.running[name]
        return ended

    def until(self, condition: Callable[[], object], timeout: float, what: str) -> None:
        """``wait_for(condition, ...)``, failing at once if a worker ends by itself."""

        def met() -> object:
            self.check()
            return condition()

        wait_for(met, timeout, what)

    def check(self) -> None:
        """Fails if a worker has ended by itself (a worker dies only when a test kills it)."""
        ended = {name: p.returncode for name, p in self.running.items() if p.poll() is not None}
        assert ended == {}, f"workers exited on their own: {ended}"

    def stop(self) -> None:
        """Asks every worker to stop (SIGTERM, as a supervisor does) and waits for them;
        one that does not stop in 30 s is killed."""
        for process in self.running.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.running.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.running.clear()

    def __enter__(self) -> Workers:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()
