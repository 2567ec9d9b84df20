"""The README runs as written.

Its fenced blocks run in order, in a copy of the repository's files (what a fresh clone
holds) with ``.venv`` linked to the environment running this test, as after ``make demo``,
and a fresh SQLite database (``INVOICEFLOW_DATABASE_URL``). ``sh``, ``bash`` and ``console``
blocks (``console``: the lines after ``$ ``) run in bash with ``set -e -o pipefail``, each
block seeing the variables the blocks before it set; ``python`` blocks run in one Python
session, each seeing the names the ones before it defined. Every block must exit 0.

An HTML comment right before a block changes that:

- ``<!-- skip: REASON -->``: not run (the reason is required);
- ``<!-- expect-fail -->``: must exit non-zero;
- ``<!-- background -->``: started, waited for (``invoiceflow serve`` until its ``/readyz``
  answers, anything else until it logs that it is ready), and stopped with SIGTERM at the
  next ``##`` section or the end, where it must exit 0;
- ``<!-- file: PATH -->``: the block is that file's content, word for word.

The server's address ``127.0.0.1:8000`` in the README is replaced by a free port, and
``invoiceflow serve`` in a background block is given that port.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
RUNNER = Path(__file__).resolve().parent / "readme_python.py"
SHELLS = ("sh", "bash", "console")
MARKER = re.compile(r"<!--\s*(skip|expect-fail|background|file)\s*(?::\s*(.*?))?\s*-->")
ADDRESS = "127.0.0.1:8000"
BLOCK_TIMEOUT = 120.0
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 40.0
# What bash sets on its own, not a block's doing.
BASH_OWN = {"SHLVL", "_", "PWD", "OLDPWD"}


@dataclass
class Block:
    line: int  # of the opening fence, counted from 1
    lang: str
    code: str
    marks: dict[str, str] = field(default_factory=dict)
    section: str = ""

    def where(self) -> str:
        return f"README.md:{self.line} ({self.lang} block under {self.section!r})"


def blocks(text: str) -> Iterator[Block]:
    """The fenced blocks of ``text`` with the markers right before each; a marker that is
    not right before a block is a mistake, and refused."""
    lines = text.splitlines()
    marks: dict[str, str] = {}
    section = ""
    i = 0
    while i < len(lines):
        line = lines[i]
        found = MARKER.fullmatch(line.strip())
        if found:
            marks[found[1]] = found[2] or ""
        elif line.startswith("```"):
            end = next((j for j in range(i + 1, len(lines)) if lines[j].startswith("```")), None)
            if end is None:
                raise ValueError(f"README.md:{i + 1}: a fence that is never closed")
            code = "\n".join(lines[i + 1 : end]) + "\n"
            yield Block(i + 1, line[3:].strip(), code, marks, section)
            marks = {}
            i = end
        elif line.strip():
            if marks:
                raise ValueError(f"README.md:{i + 1}: {sorted(marks)} is not right before a block")
            if line.startswith("## "):
                section = line[3:].strip()
        i += 1
    if marks:
        raise ValueError(f"README.md: {sorted(marks)} at the end, before no block")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fresh_clone(target: Path) -> None:
    """The repository's files as a clone has them (tracked ones, and new ones not ignored,
    so that uncommitted work is tested too), with .venv standing for the one make made."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if not source.is_file():  # deleted in the working tree
            continue
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target / name)
    (target / ".venv").symlink_to(sys.prefix, target_is_directory=True)


class Failed(Exception):
    pass


class Session:
    """A reader at a shell in ``cwd``: shell variables carry over from block to block, as
    do the names defined by Python blocks, and background processes run until stopped."""

    def __init__(self, cwd: Path, env: dict[str, str], port: int) -> None:
        self.cwd = cwd
        self.env = env
        self.port = port
        self.logs = cwd.parent / "logs"
        self.logs.mkdir()
        self.background: list[tuple[Block, subprocess.Popen[bytes], Path]] = []
        self.python: subprocess.Popen[str] | None = None
        self.python_log: IO[str] | None = None

    def run(self, block: Block) -> None:
        if self.background and block.section != self.background[0][0].section:
            self.stop_background()
        if "file" in block.marks:
            expected = (self.cwd / block.marks["file"]).read_text(encoding="utf-8")
            if block.code != expected:
                raise Failed(f"{block.where()} is not {block.marks['file']} as it is")
        if "skip" in block.marks:
            if not block.marks["skip"]:
                raise Failed(f"{block.where()}: a skip marker needs a reason")
            return
        if block.lang in SHELLS:
            self.shell(block)
        elif block.lang == "python":
            self.run_python(block)

    def code(self, block: Block) -> str:
        code = block.code
        if block.lang == "console":
            code = "".join(line[2:] + "\n" for line in code.splitlines() if line.startswith("$ "))
        return code.replace(ADDRESS, f"127.0.0.1:{self.port}")

    def shell(self, block: Block) -> None:
        if "background" in block.marks:
            self.start(block)
            return
        state = self.cwd.parent / "state"
        script = f"set -a\ntrap 'env -0 > {state}' EXIT\nset -e -o pipefail\n{self.code(block)}"
        try:
            done = subprocess.run(
                ["bash", "--noprofile", "--norc", "-c", script],
                cwd=self.cwd,
                env=self.env,
                capture_output=True,
                text=True,
                timeout=BLOCK_TIMEOUT,
            )
        except subprocess.TimeoutExpired:
            raise Failed(f"{block.where()} still ran after {BLOCK_TIMEOUT} s") from None
        output = (
            f"exit status {done.returncode}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
        )
        if "expect-fail" in block.marks:
            if done.returncode == 0:
                raise Failed(f"{block.where()} is marked expect-fail but exited 0\n{output}")
        elif done.returncode != 0:
            raise Failed(f"{block.where()} failed:\n{block.code}\n{output}")
        if state.exists():
            pairs = (item.split("=", 1) for item in state.read_text().split("\0") if "=" in item)
            self.env = {k: v for k, v in pairs if k not in BASH_OWN}
            state.unlink()

    def start(self, block: Block) -> None:
        code = self.code(block)
        serves = "invoiceflow serve" in code
        if serves:
            code = code.replace("invoiceflow serve", f"invoiceflow serve --port {self.port}")
        log = self.logs / f"background-{block.line}.log"
        with log.open("wb") as sink:
            process = subprocess.Popen(
                ["bash", "--noprofile", "--norc", "-c", code],
                cwd=self.cwd,
                env=self.env,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.background.append((block, process, log))
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise Failed(f"{block.where()} exited at once:\n{log.read_text()}")
            if self.ready(serves, log):
                return
            time.sleep(0.1)
        raise Failed(f"{block.where()} was not ready in {READY_TIMEOUT} s:\n{log.read_text()}")

    def ready(self, serves: bool, log: Path) -> bool:
        if not serves:
            return " ready" in log.read_text()
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/readyz", timeout=2) as r:
                return bool(r.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def stop_background(self) -> None:
        problems = []
        for block, process, log in self.background:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                status = process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                problems.append(f"{block.where()} did not stop on SIGTERM:\n{log.read_text()}")
                continue
            if status != 0:
                problems.append(f"{block.where()} ended with {status}:\n{log.read_text()}")
        self.background = []
        if problems:
            raise Failed("\n".join(problems))

    def run_python(self, block: Block) -> None:
        if self.python is None:
            self.python_log = (self.logs / "python.log").open("w")
            self.python = subprocess.Popen(
                [sys.executable, str(RUNNER)],
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self.python_log,
                text=True,
            )
        assert self.python.stdin is not None and self.python.stdout is not None
        request = {"code": self.code(block), "env": self.env, "name": block.where()}
        self.python.stdin.write(json.dumps(request) + "\n")
        self.python.stdin.flush()
        if not select.select([self.python.stdout], [], [], BLOCK_TIMEOUT)[0]:
            raise Failed(f"{block.where()} still ran after {BLOCK_TIMEOUT} s")
        answer: dict[str, Any] = json.loads(self.python.stdout.readline() or '{"ok": false}')
        failed = not answer["ok"]
        if failed != ("expect-fail" in block.marks):
            raise Failed(
                f"{block.where()} {'failed' if failed else 'did not fail'}:\n"
                f"{block.code}\n{answer.get('error', 'the session ended')}"
            )

    def close(self) -> None:
        if self.python is not None:
            assert self.python.stdin is not None and self.python.stdout is not None
            self.python.stdin.close()
            try:
                self.python.wait(30)
            except subprocess.TimeoutExpired:  # a block still running
                self.python.kill()
                self.python.wait()
            self.python.stdout.close()
        if self.python_log is not None:
            self.python_log.close()
        self.stop_background()


def run_all(text: str, tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    clone.mkdir()
    fresh_clone(clone)
    env = {k: v for k, v in os.environ.items() if not k.startswith("INVOICEFLOW_")}
    env["INVOICEFLOW_DATABASE_URL"] = f"sqlite:///{clone / 'invoiceflow.db'}"
    session = Session(clone, env, free_port())
    try:
        for block in blocks(text):
            began = time.monotonic()
            session.run(block)
            print(f"{block.where()}: {time.monotonic() - began:.1f} s")
    except Failed:
        with contextlib.suppress(Failed):  # the first failure is the one to show
            session.close()
        raise
    session.close()


def test_readme_runs_as_written(tmp_path: Path) -> None:
    problem = None
    try:
        run_all(README.read_text(encoding="utf-8"), tmp_path)
    except Failed as exc:
        problem = str(exc)
    if problem is not None:
        pytest.fail(problem, pytrace=False)


@pytest.mark.parametrize(
    "text",
    [
        "```sh\ntrue\nfalse\n```\n",
        "<!-- expect-fail -->\n```sh\ntrue\n```\n",
        "```python\nraise ValueError\n```\n",
        "<!-- skip -->\n```sh\ntrue\n```\n",
        "<!-- background -->\n```sh\nexit 3\n```\n",
    ],
    ids=["fails", "expected-to-fail", "python-fails", "skip-without-reason", "exits-at-once"],
)
def test_a_block_that_does_not_do_what_it_says_fails(text: str, tmp_path: Path) -> None:
    with pytest.raises(Failed):
        run_all(text, tmp_path)


def test_a_marker_belongs_right_before_a_block() -> None:
    with pytest.raises(ValueError, match="not right before a block"):
        list(blocks("<!-- skip: reason -->\nSome text.\n```sh\ntrue\n```\n"))
