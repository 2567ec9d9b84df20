"""``invoiceflow keys``: a listing with a header, and a word when there is nothing."""

from __future__ import annotations

from pathlib import Path

from tests.test_cli_errors import one_line_error, run


def test_keys_are_listed_with_their_state(tmp_path: Path) -> None:
    empty = run(tmp_path, "keys", "list", "--tenant", "acme")
    assert empty.returncode == 0 and empty.stdout == "" and "has no keys" in empty.stderr
    key = run(tmp_path, "keys", "create", "--tenant", "acme").stdout.strip()
    header, row = run(tmp_path, "keys", "list", "--tenant", "acme").stdout.splitlines()
    assert header.split() == ["ID", "KEY", "CREATED", "STATE"]
    key_id, prefix, _, state = row.split()
    assert key.startswith(prefix.removesuffix("...")) and state == "active"
    assert run(tmp_path, "keys", "revoke", key_id, "--tenant", "acme").returncode == 0
    [row] = run(tmp_path, "keys", "list", "--tenant", "acme").stdout.splitlines()[1:]
    assert row.split()[3] == "revoked"
    again = run(tmp_path, "keys", "revoke", key_id, "--tenant", "acme")
    assert "no active key" in one_line_error(again)
