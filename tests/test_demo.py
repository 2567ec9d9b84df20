"""`invoiceflow demo` runs the main job on the bundled files through `invoiceflow serve`,
reports how each ended and the path one took through the workflow, and can run again
without piling anything up."""

import re
import subprocess
from pathlib import Path

import pytest

from invoiceflow import demo
from invoiceflow.api import keys
from invoiceflow.engine import Engine
from invoiceflow.pipeline import containers
from invoiceflow.store import open_database

ROOT = Path(__file__).resolve().parents[1]
ARN = re.compile(r"^arn:aws:states:[^:]+:\d+:execution:process-file:\S+$")


def test_demo_processes_every_bundled_file_and_can_run_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path}/invoiceflow.db"
    demo.main(url)
    first = capsys.readouterr().out
    db = Engine.open(open_database(url)).db
    found = containers.listing(db, demo.TENANT)
    states = {c.name: (c.state, c.created_count) for c in found}
    event = [name for name in states if name.startswith("event-")]
    assert len(event) == 1 and states.pop(event[0]) == ("Done", 1)
    assert len(states) == len(demo.files())
    assert states["scanned-by-mistake.pdf"] == ("Error", 0)
    assert states["acme-export.csv"] == ("Done", 5)
    assert [c.name for c in found if c.needs_review] == ["globex.json"]
    assert all(state == "Done" for name, (state, _) in states.items() if not name.endswith(".pdf"))

    lines = first.splitlines()
    [arn] = [line for line in lines if ARN.match(line)]
    assert arn == next(c.execution_arn for c in found if c.name == demo.SHOWN)
    shown = " ".join(lines[lines.index(arn) + 1 :])
    assert "ParseFile → HowLarge → CreateInvoices" in shown and "Verify → Done." in shown
    assert [line for line in lines if len(line) > demo.WIDTH and line != arn] == []

    demo.main(url)  # again: the same containers, one key
    capsys.readouterr()
    assert len(containers.listing(db, demo.TENANT)) == len(found)
    assert len(keys.listing(db, demo.TENANT)) == 1
    left = sorted(p.name + ("/" if p.is_dir() else "") for p in tmp_path.iterdir())
    ignored = subprocess.run(
        ["git", "check-ignore", "--no-index", *left], cwd=ROOT, capture_output=True, text=True
    ).stdout.split()
    assert ignored == left  # nothing the demo leaves shows in `git status`
