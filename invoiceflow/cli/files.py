"""Invoice files: read them here (parse) or hand them to the pipeline (submit)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from invoiceflow.cli.app import app
from invoiceflow.cli.common import (
    DbOption,
    JsonOption,
    TenantOption,
    emit,
    emit_line,
    fail,
    open_pipeline,
)
from invoiceflow.cli.scans import not_read_yet, scan_kind
from invoiceflow.functions import default_registry
from invoiceflow.limits import MAX_FILE

if TYPE_CHECKING:
    from invoiceflow.pipeline import Pipeline
    from invoiceflow.pipeline.containers import Container
    from invoiceflow.pipeline.profiles import Chosen


@app.command("parse")
def parse_cmd(
    files: Annotated[
        list[Path] | None, typer.Argument(help="Invoice files to read.", show_default=False)
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON invoice per line, then a JSON summary.")
    ] = False,
    schema: Annotated[
        bool, typer.Option("--schema", help="Print the invoice JSON Schema and exit.")
    ] = False,
    profile: Annotated[
        Path | None, typer.Option(help="A YAML/JSON profile naming a CSV file's columns.")
    ] = None,
) -> None:
    """Read invoice files (X12 810, EDIFACT INVOIC, UBL, CII, CSV, JSON) and show the
    invoices in them."""
    from invoiceflow import digitize

    if schema:
        emit(digitize.json_schema())
        return
    try:
        rules = digitize.load_profile(profile) if profile else None
    except digitize.DigitizeError as exc:
        raise typer.BadParameter(str(exc)) from None
    summary: dict[str, Any] = {"files": 0, "invoices": 0, "problems": 0, "unreadable": []}
    for path in files or []:
        summary["files"] += 1
        kind = scan_kind(path)
        if kind is not None:
            message = not_read_yet(path, kind)
            summary["unreadable"].append(
                {"file": str(path), "code": "NotReadYet", "message": message, "location": None}
            )
            if not as_json:
                typer.echo(f"{path}: cannot be read: {message}", err=True)
            continue
        try:
            for invoice in digitize.parse(path, rules):
                summary["invoices"] += 1
                summary["problems"] += len(invoice.problems)
                if as_json:
                    typer.echo(digitize.to_json(invoice).decode())
                else:
                    t = invoice.totals
                    typer.echo(
                        f"{path}: {invoice.invoice_number} {invoice.issue_date or '-'} "
                        f"{t.payable if t.payable is not None else '-'} "
                        f"{invoice.currency or ''} ({len(invoice.lines)} lines, "
                        f"{len(invoice.problems)} problems)"
                    )
        except digitize.DigitizeError as exc:
            summary["unreadable"].append({"file": str(path), **_problem(exc)})
            if not as_json:
                typer.echo(f"{path}: cannot be read: {exc}", err=True)
    if as_json:
        emit_line({"summary": summary})
    else:
        typer.echo(
            f"{summary['files']} files, {summary['invoices']} invoices, "
            f"{summary['problems']} problems, {len(summary['unreadable'])} unreadable"
        )
    raise typer.Exit(1 if summary["unreadable"] else 0)


def _problem(exc: Any) -> dict[str, Any]:
    p = exc.problem
    return {"code": p.code, "message": p.message, "location": p.location}


@app.command("submit")
def submit_cmd(
    files: Annotated[
        list[Path], typer.Argument(help="Invoice files, or folders of them.", show_default=False)
    ],
    tenant: TenantOption = "default",
    wait: Annotated[
        bool,
        typer.Option("--wait", help="Wait until each is Done or Error, printing each as it ends."),
    ] = False,
    as_json: JsonOption = False,
    profile: Annotated[
        str | None,
        typer.Option(
            "--profile",
            help="Read the files with this profile: a YAML/JSON file, or the name of one "
            "stored with `profiles set`. Without it, a stored profile matching a file's name "
            "or supplier is used.",
        ),
    ] = None,
    database_url: DbOption = None,
) -> None:
    """Receive files: each becomes a container whose workflow starts at once. A folder
    stands for the files directly inside it (not its subfolders, nor hidden files), in
    name order."""
    from invoiceflow.pipeline import submit

    paths = _expand(files)
    for path in paths:
        kind = scan_kind(path)
        if kind is not None:
            fail(not_read_yet(path, kind))
        try:
            size = path.stat().st_size
        except OSError as exc:
            fail(f"cannot read {path}: {exc.strerror}")
        if size > MAX_FILE:
            fail(f"{path} is {size:,} bytes; a file may have at most {MAX_FILE:,}")
    pipeline = open_pipeline(database_url)
    chosen = _profile(pipeline, tenant, profile) if profile is not None else None
    received = []
    for path in paths:
        try:
            data = path.read_bytes()
        except OSError as exc:
            fail(f"cannot read {path}: {exc.strerror}")
        received.append(
            submit.receive(pipeline, path.name, data, tenant=tenant, source="cli", profile=chosen)
        )
    if not wait:
        for c in received:
            _report(c, as_json)
        return
    ended: list[Container] = []
    with _Progress(len(received)) as progress:
        for c in submit.as_finished(pipeline, default_registry(), [c.id for c in received]):
            _report(c, as_json)
            progress.advance(c)
            ended.append(c)
    if len(ended) < len(received):
        fail(
            f"{len(received) - len(ended)} files still in work; see `invoiceflow containers list`",
            1,
        )
    if any(c.state == "Error" for c in ended):
        raise typer.Exit(1)


def _profile(pipeline: Pipeline, tenant: str, given: str) -> Chosen:
    """--profile: a profile file's checked content, or the tenant's stored profile of that
    name; anything else is one line."""
    from invoiceflow.digitize import DigitizeError
    from invoiceflow.digitize.profiles import read_profile
    from invoiceflow.pipeline import profiles

    path = Path(given)
    try:
        if path.is_file():
            return profiles.checked(read_profile(path), path.name)
        if path.suffix.lower() in (".yaml", ".yml", ".json") or "/" in given:
            fail(f"--profile {given}: no such file")
        return profiles.named(pipeline.engine.db, tenant, given)
    except DigitizeError as exc:
        fail(f"--profile {given}: {exc.problem.message}")
    except profiles.ProfileError as exc:
        fail(f"--profile {given}: {exc}")


_SUMMARY_KEYS = (
    "id",
    "name",
    "state",
    "reason",
    "invoices",
    "needs_review",
    "review_count",
    "profile",
    "execution_arn",
)


def _report(c: Container, as_json: bool) -> None:
    if as_json:
        emit_line({k: v for k, v in c.describe().items() if k in _SUMMARY_KEYS})
    else:
        review = f" ({c.review_count} need review)" if c.needs_review else ""
        typer.echo(
            f"{c.name}: {c.state}{f' ({c.reason})' if c.reason else ''}, "
            f"{c.created_count} invoices{review}, container {c.id}"
        )


class _Progress:
    """Files done of all and invoices created so far, as a bar on a terminal's stderr;
    nothing when stderr is not a terminal, so pipes and logs get only the results."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.invoices = 0
        self.bar: Progress | None = None
        self.task: TaskID | None = None

    def __enter__(self) -> _Progress:
        console = Console(stderr=True)
        if console.is_terminal:
            self.bar = Progress(
                TextColumn("files"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[invoices]} invoices"),
                TimeElapsedColumn(),
                console=console,
                transient=True,
            )
            self.bar.start()
            self.task = self.bar.add_task("files", total=self.total, invoices=0)
        return self

    def advance(self, container: Container) -> None:
        self.invoices += container.created_count
        if self.bar is not None and self.task is not None:
            self.bar.update(self.task, advance=1, invoices=self.invoices)

    def __exit__(self, *_: object) -> None:
        if self.bar is not None:
            self.bar.stop()


def _expand(files: list[Path]) -> list[Path]:
    """Each file as given; each folder as the regular, not hidden, files directly in it,
    sorted by name."""
    out: list[Path] = []
    for path in files:
        if not path.is_dir():
            out.append(path)
            continue
        inside = sorted(
            (p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")),
            key=lambda p: p.name,
        )
        if not inside:
            fail(f"{path} is a folder with no files in it")
        out.extend(inside)
    return out
