"""`invoiceflow demo` runs the main job on the bundled files through `invoiceflow serve`
and reports how each ended."""

from pathlib import Path

import pytest

from invoiceflow import demo
from invoiceflow.engine import Engine
from invoiceflow.pipeline import containers
from invoiceflow.store import open_database


def test_demo_processes_every_bundled_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path}/demo.db"
    demo.main(url)
    found = containers.listing(Engine.open(open_database(url)).db, demo.TENANT)
    states = {c.name: (c.state, c.created_count) for c in found}
    event = [name for name in states if name.startswith("event-")]
    assert len(event) == 1 and states.pop(event[0]) == ("Done", 1)
    assert len(states) == len(demo.files())
    assert states["scanned-by-mistake.pdf"] == ("Error", 0)
    assert states["acme-export.csv"] == ("Done", 5)
    assert all(state == "Done" for name, (state, _) in states.items() if not name.endswith(".pdf"))
