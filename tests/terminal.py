"""Running the real command line with stdout or stderr on a pseudo-terminal, to see what a
person at a terminal sees (a progress bar, indented JSON) rather than what a pipe gets."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path
from typing import Literal

from tests.test_cli_errors import ROOT


def on_terminal(
    cwd: Path, *args: str, stream: Literal["stdout", "stderr"]
) -> tuple[subprocess.CompletedProcess[str], str]:
    """Run ``invoiceflow ARGS`` with ``stream`` on a terminal and the other one piped; the
    finished process and what the terminal showed (line ends as ``\\n``)."""
    env = {k: v for k, v in os.environ.items() if k != "INVOICEFLOW_DATABASE_URL"}
    env |= {"PYTHONPATH": str(ROOT), "COLUMNS": "100", "TERM": "xterm"}
    leader, follower = pty.openpty()
    with os.fdopen(leader, "rb", buffering=0) as screen:
        try:
            done = subprocess.run(
                [sys.executable, "-m", "invoiceflow", *args],
                cwd=cwd,
                env=env,
                text=True,
                timeout=120,
                **{stream: follower, "stdout" if stream == "stderr" else "stderr": subprocess.PIPE},
            )
        finally:
            os.close(follower)
        shown = b""
        while True:
            try:
                chunk = screen.read(65536)
            except OSError:  # the terminal's other end is closed: all is read
                break
            if not chunk:
                break
            shown += chunk
    return done, shown.decode(errors="replace").replace("\r\n", "\n")
