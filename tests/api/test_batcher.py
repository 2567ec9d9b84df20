"""Writes of concurrent requests share a transaction; a piece that fails is undone alone."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from invoiceflow.api.batcher import Batcher
from invoiceflow.store import Transaction
from invoiceflow.store.sqlite import SQLiteDatabase


@pytest.mark.sqlite_only("it counts SQLite's grouped commits")
def test_pieces_share_commits_and_fail_alone(tmp_path: Path) -> None:
    db = SQLiteDatabase(str(tmp_path / "b.db"))
    with db.transaction() as tx:
        tx.execute_raw("CREATE TABLE t (k TEXT PRIMARY KEY)")
    batcher = Batcher(db.transaction)

    def insert(key: str) -> Callable[[Transaction], str]:
        def work(tx: Transaction) -> str:
            tx.execute_raw("INSERT INTO t VALUES (?)", (key,))
            if key.startswith("bad"):
                raise ValueError(key)
            return key

        return work

    async def main() -> list[object]:
        keys = [f"k{i}" for i in range(200)] + ["bad-1", "k0"]
        return await asyncio.gather(
            *(batcher.run(insert(k)) for k in keys),
            return_exceptions=True,
        )

    before = db.commits
    outcomes = asyncio.run(main())
    batcher.stop()
    assert outcomes[:200] == [f"k{i}" for i in range(200)]
    assert isinstance(outcomes[200], ValueError)
    assert type(outcomes[201]).__name__ == "ConstraintViolation"  # k0 again
    with db.transaction(write=False) as tx:
        stored = {r[0] for r in tx.fetch_raw("SELECT k FROM t")}
    assert stored == {f"k{i}" for i in range(200)}
    assert db.commits - before < 50  # far fewer commits than pieces
    db.close()


def test_a_failed_commit_fails_every_piece(tmp_path: Path) -> None:
    db = SQLiteDatabase(str(tmp_path / "c.db"))

    class Broken(Exception):
        pass

    def transaction() -> object:
        raise Broken

    batcher = Batcher(transaction)  # type: ignore[arg-type]

    async def main() -> None:
        await batcher.run(lambda tx: None)

    with pytest.raises(Broken):
        asyncio.run(main())
    batcher.stop()
    db.close()
