"""Every command, argument and option of the command line says in a line what it is for,
so ``--help`` answers a person at every level."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import typer

from invoiceflow.cli import app


def leaves(command: Any, path: str = "invoiceflow") -> Iterator[tuple[str, Any]]:
    """Each runnable command under ``command`` (typer's groups are click-like, with
    ``commands``), with the words that call it."""
    if hasattr(command, "commands"):
        for name, sub in command.commands.items():
            yield from leaves(sub, f"{path} {name}")
    else:
        yield path, command


def test_every_command_and_parameter_has_a_description() -> None:
    root = typer.main.get_command(app)
    missing = []
    for path, command in leaves(root):
        if not (command.help or command.short_help):
            missing.append(path)
        missing += [f"{path} {p.name}" for p in command.params if not getattr(p, "help", None)]
    assert missing == []
    assert len(list(leaves(root))) > 20
