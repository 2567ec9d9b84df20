"""The command line: validate definitions, run and inspect executions, run workers."""

from __future__ import annotations

import importlib
import json
import signal
import sys
import threading
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from invoiceflow.engine import ClientError, Engine
from invoiceflow.engine.runtime import LEASE
from invoiceflow.engine.validate import validate
from invoiceflow.engine.worker import MAX_FAILURES
from invoiceflow.functions import default_registry

app = typer.Typer(help="invoiceflow: durable invoice workflows.", no_args_is_help=True)


def _release() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("invoiceflow")
    except PackageNotFoundError:
        return "unknown"


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"invoiceflow {_release()}")
        raise typer.Exit()


@app.callback()
def _options(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """invoiceflow: durable invoice workflows."""


sfn = typer.Typer(help="Run and inspect state machine executions.", no_args_is_help=True)
app.add_typer(sfn, name="sfn")

DbOption = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar="INVOICEFLOW_DATABASE_URL",
        help="Database URL (default sqlite:///invoiceflow.db).",
    ),
]
HandlersOption = Annotated[
    list[str] | None,
    typer.Option(
        "--handlers", help="Import this module first (it registers handlers); repeatable."
    ),
]


def _print(value: Any) -> None:
    typer.echo(json.dumps(value, default=str, indent=None))


def _fail(message: str, code: int = 2) -> NoReturn:
    """A mistake the user can fix: one line on stderr, no traceback."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _import(modules: list[str] | None) -> None:
    sys.path.insert(0, str(Path.cwd()))
    for module in modules or []:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module and not module.startswith(f"{exc.name}."):
                raise  # the module was found; something it imports is missing
            _fail(f"--handlers {module}: no module named {module!r} (from {Path.cwd()})")


def _database_path(database_url: str | None) -> str:
    """The absolute path of the database (or ``:memory:``), the URL refused in one line."""
    from invoiceflow.store import DatabaseURLError, database_path

    try:
        return database_path(database_url)
    except DatabaseURLError as exc:
        _fail(str(exc))


def _engine(database_url: str | None) -> Engine:
    from invoiceflow.store import open_database

    _database_path(database_url)
    return Engine.open(open_database(database_url), invoker=default_registry())


# Invoice files we recognise but do not read yet, by their first bytes.
_SCANS = (
    (b"%PDF", "a PDF"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
)


def _scan_kind(path: Path) -> str | None:
    """``"a PDF"``, ``"a JPEG image"``... for a file that is one, else None."""
    try:
        with path.open("rb") as f:
            head = f.read(16)
    except OSError:
        return None
    for magic, kind in _SCANS:
        if head.startswith(magic):
            return kind
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"heim"):
        return "a HEIC image"
    return None


def _not_read_yet(path: Path, kind: str) -> str:
    return (
        f"{path} is {kind}: PDF and image invoices are not read yet "
        "(send X12, EDIFACT, UBL, CII, CSV or JSON)"
    )


def _pipeline(database_url: str | None) -> Any:
    from invoiceflow.pipeline import open_pipeline

    return open_pipeline(_engine(database_url), default_registry())


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise typer.BadParameter(f"cannot read {path}: {exc}") from None


@app.command("validate")
def validate_cmd(
    files: list[Path], as_json: Annotated[bool, typer.Option("--json")] = False
) -> None:
    """List every problem of each definition; exit 1 if any has one."""
    report = {
        str(f): [{"path": p.path, "message": p.message, "code": p.code} for p in validate(_read(f))]
        for f in files
    }
    if as_json:
        _print(report)
    else:
        for name, problems in report.items():
            typer.echo(f"{name}: {'OK' if not problems else f'{len(problems)} problem(s)'}")
            for p in problems:
                typer.echo(f"  {p['path']}: {p['message']}")
    raise typer.Exit(1 if any(report.values()) else 0)


@sfn.command("run")
def run_cmd(
    definition: Path,
    input: Annotated[str, typer.Option("--input", help="Execution input (JSON).")] = "{}",
    history: Annotated[bool, typer.Option("--history", help="Include the history.")] = False,
    time_skipping: Annotated[bool, typer.Option("--time-skipping/--real-time")] = True,
    handlers: HandlersOption = None,
) -> None:
    """Run a definition to completion in-process and print how it ended, as JSON."""
    from invoiceflow import testing
    from invoiceflow.engine.executions import payload_problem

    _import(handlers)
    problem = payload_problem(input)  # not JSON, too large or too deep: before it is parsed
    if problem is not None:
        _fail(f"--input is not an execution input: {problem}")
    value = json.loads(input)
    text = _read(definition)
    problems = validate(text)
    if problems:
        _print({"status": "INVALID", "problems": [str(p) for p in problems]})
        raise typer.Exit(2)
    result = testing.run(
        text, value, handlers=default_registry().handlers, time_skipping=time_skipping
    )
    out: dict[str, Any] = {"status": result.status}
    if result.status == "SUCCEEDED":
        out["output"] = result.output
    else:
        out["error"], out["cause"] = result.error, result.cause
    if history:
        out["history"] = result.history
    _print(out)
    raise typer.Exit(0 if result.status == "SUCCEEDED" else 1)


def _call(fn: Any, **kwargs: Any) -> None:
    try:
        _print(fn(**kwargs))
    except ClientError as exc:
        typer.echo(f"error: {exc.code}: {exc.response['Error']['Message']}", err=True)
        raise typer.Exit(1) from None


@sfn.command("create")
def create_cmd(name: str, definition: Path, database_url: DbOption = None) -> None:
    """Create (or, unchanged, confirm) a state machine from a definition file."""
    _call(
        _engine(database_url).client.create_state_machine, name=name, definition=_read(definition)
    )


@sfn.command("start")
def start_cmd(
    state_machine_arn: str,
    input: str = "{}",
    name: str | None = None,
    database_url: DbOption = None,
) -> None:
    """Start an execution; a worker advances it."""
    _call(
        _engine(database_url).client.start_execution,
        stateMachineArn=state_machine_arn,
        input=input,
        **({"name": name} if name else {}),
    )


@sfn.command("describe")
def describe_cmd(execution_arn: str, database_url: DbOption = None) -> None:
    _call(_engine(database_url).client.describe_execution, executionArn=execution_arn)


@sfn.command("history")
def history_cmd(execution_arn: str, database_url: DbOption = None) -> None:
    _call(_engine(database_url).client.get_execution_history, executionArn=execution_arn)


@sfn.command("list")
def list_cmd(
    state_machine_arn: str, status: str | None = None, database_url: DbOption = None
) -> None:
    _call(
        _engine(database_url).client.list_executions,
        stateMachineArn=state_machine_arn,
        **({"statusFilter": status} if status else {}),
    )


@sfn.command("stop")
def stop_cmd(
    execution_arn: str,
    error: str | None = None,
    cause: str | None = None,
    database_url: DbOption = None,
) -> None:
    _call(
        _engine(database_url).client.stop_execution,
        executionArn=execution_arn,
        **({"error": error} if error else {}),
        **({"cause": cause} if cause else {}),
    )


@sfn.command("redrive")
def redrive_cmd(execution_arn: str, database_url: DbOption = None) -> None:
    _call(_engine(database_url).client.redrive_execution, executionArn=execution_arn)


@app.command("worker")
def worker_cmd(
    database_url: DbOption = None,
    handlers: HandlersOption = None,
    batch: int = 100,
    name: Annotated[
        str | None,
        typer.Option(help="A stable name; restarting under it takes its leases over at once."),
    ] = None,
    lease: Annotated[
        float, typer.Option(help="Seconds until a dead worker's work is taken over.")
    ] = LEASE,
    max_failures: Annotated[
        int,
        typer.Option(
            min=1,
            help="Passes in a row that may fail (the store unreachable) before the worker "
            "exits with status 1, for its supervisor to restart it.",
        ),
    ] = MAX_FAILURES,
) -> None:
    """Advance executions, fire timers, run handlers and feed queues to their handlers
    until stopped (SIGINT/SIGTERM)."""
    # A stop asked for while starting up is honoured too. The handler only sets a flag: it
    # runs on the main thread, which must never be inside a lock the handler would take.
    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.set())
    from invoiceflow.functions.worker import full_worker

    _import(handlers)
    path = _database_path(database_url)
    pipeline = _pipeline(database_url)
    worker = full_worker(
        pipeline.engine.runtime, default_registry(), batch=batch, name=name, lease=lease
    )
    worker.max_failures = max_failures
    loop = threading.Thread(target=worker.run, name="worker")
    loop.start()
    typer.echo(f"invoiceflow worker {worker.owner} ready, database {path}", err=True)
    while loop.is_alive():
        if stopping.is_set():
            worker.stop()
        loop.join(0.1)
    if worker.error is not None:
        # A supervisor restarts a process that ends in failure, not one that ends cleanly.
        typer.echo(f"invoiceflow worker {worker.owner} failed: {worker.error!r}", err=True)
        raise typer.Exit(1)


@app.command("parse")
def parse_cmd(
    files: Annotated[list[Path] | None, typer.Argument()] = None,
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
        _print(digitize.json_schema())
        return
    try:
        rules = digitize.load_profile(profile) if profile else None
    except digitize.DigitizeError as exc:
        raise typer.BadParameter(str(exc)) from None
    summary: dict[str, Any] = {"files": 0, "invoices": 0, "problems": 0, "unreadable": []}
    for path in files or []:
        summary["files"] += 1
        kind = _scan_kind(path)
        if kind is not None:
            message = _not_read_yet(path, kind)
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
        _print({"summary": summary})
    else:
        typer.echo(
            f"{summary['files']} files, {summary['invoices']} invoices, "
            f"{summary['problems']} problems, {len(summary['unreadable'])} unreadable"
        )
    raise typer.Exit(1 if summary["unreadable"] else 0)


def _problem(exc: Any) -> dict[str, Any]:
    p = exc.problem
    return {"code": p.code, "message": p.message, "location": p.location}


containers_app = typer.Typer(help="Received files and how they ended.", no_args_is_help=True)
invoices_app = typer.Typer(help="Invoices created from received files.", no_args_is_help=True)
app.add_typer(containers_app, name="containers")
app.add_typer(invoices_app, name="invoices")
TenantOption = Annotated[str, typer.Option("--tenant", help="Whose files these are.")]
JsonOption = Annotated[bool, typer.Option("--json", help="JSON instead of text.")]


@app.command("submit")
def submit_cmd(
    files: list[Path],
    tenant: TenantOption = "default",
    wait: Annotated[bool, typer.Option("--wait", help="Wait until each is Done or Error.")] = False,
    as_json: JsonOption = False,
    database_url: DbOption = None,
) -> None:
    """Receive files: each becomes a container whose workflow starts at once. A folder
    stands for the files directly inside it (not its subfolders, nor hidden files), in
    name order."""
    from invoiceflow.pipeline import submit

    paths = _expand(files)
    for path in paths:
        kind = _scan_kind(path)
        if kind is not None:
            _fail(_not_read_yet(path, kind))
    pipeline = _pipeline(database_url)
    received = []
    for path in paths:
        try:
            data = path.read_bytes()
        except OSError as exc:
            _fail(f"cannot read {path}: {exc.strerror}")
        received.append(submit.receive(pipeline, path.name, data, tenant=tenant, source="cli"))
    if wait:
        received = submit.wait(pipeline, default_registry(), [c.id for c in received])
    for c in received:
        out = {k: v for k, v in c.describe().items() if k in _SUMMARY_KEYS}
        if as_json:
            _print(out)
        else:
            typer.echo(
                f"{c.name}: {c.state}{f' ({c.reason})' if c.reason else ''}, "
                f"{c.created_count} invoices, container {c.id}"
            )
    if wait and any(c.state == "Error" for c in received):
        raise typer.Exit(1)


_SUMMARY_KEYS = ("id", "name", "state", "reason", "invoices", "execution_arn")


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
            _fail(f"{path} is a folder with no files in it")
        out.extend(inside)
    return out


@containers_app.command("list")
def containers_list(
    tenant: TenantOption = "default",
    state: Annotated[str | None, typer.Option(help="New, Processing, Done or Error.")] = None,
    limit: int = 100,
    as_json: JsonOption = False,
    database_url: DbOption = None,
) -> None:
    from invoiceflow.pipeline import containers

    found = containers.listing(_engine(database_url).db, tenant, state, limit=limit)
    for c in found:
        if as_json:
            _print(c.describe())
        else:
            typer.echo(f"{c.id}  {c.state:<10} {c.created_count:>5} invoices  {c.name}")


@containers_app.command("show")
def containers_show(container_id: str, database_url: DbOption = None) -> None:
    from invoiceflow.pipeline import containers

    db = _engine(database_url).db
    with db.transaction(write=False) as tx:
        found = containers.get(tx, container_id)
    if found is None:
        typer.echo(f"no container {container_id}", err=True)
        raise typer.Exit(1)
    _print(found.describe())


@containers_app.command("retry")
def containers_retry(
    container_id: str,
    wait: Annotated[bool, typer.Option("--wait")] = False,
    database_url: DbOption = None,
) -> None:
    """Run a container in Error again (its parse results and invoices are reused)."""
    from invoiceflow.pipeline import containers, submit

    pipeline = _pipeline(database_url)
    with pipeline.engine.db.transaction(write=False) as tx:
        found = containers.get(tx, container_id)
    if found is None or found.state != "Error":
        typer.echo(f"container {container_id} is not in Error", err=True)
        raise typer.Exit(1)
    started = submit.start(pipeline, container_id)
    if wait:
        [started] = submit.wait(pipeline, default_registry(), [container_id])
    _print(started.describe())


@invoices_app.command("list")
def invoices_list(
    tenant: TenantOption = "default",
    container: Annotated[str | None, typer.Option(help="Only this container's.")] = None,
    limit: int = 100,
    as_json: JsonOption = False,
    database_url: DbOption = None,
) -> None:
    from invoiceflow.pipeline import containers

    db = _engine(database_url).db
    with db.transaction(write=False) as tx:
        rows = tx.fetch("list_invoices", (tenant, container, container, limit))
    for row in rows:
        inv = containers.invoice_from_row(row)
        if as_json:
            _print(inv.describe())
        else:
            typer.echo(
                f"{inv.id}  {inv.number:<20} {inv.issue_date or '-':<10} "
                f"{inv.total or '-':>12} {inv.currency or ''}  {inv.supplier or ''}"
            )


@invoices_app.command("show")
def invoices_show(invoice_id: str, database_url: DbOption = None) -> None:
    from invoiceflow.pipeline import containers

    db = _engine(database_url).db
    with db.transaction(write=False) as tx:
        row = tx.fetchone("get_invoice", (invoice_id,))
    if row is None:
        typer.echo(f"no invoice {invoice_id}", err=True)
        raise typer.Exit(1)
    _print(containers.invoice_from_row(row).describe())


tenants_app = typer.Typer(help="What happens after each tenant's invoices are created.")
app.add_typer(tenants_app, name="tenants")


@tenants_app.command("set")
def tenants_set(
    tenant: str,
    webhook_url: Annotated[str | None, typer.Option(help="POST each invoice here.")] = None,
    webhook_secret: Annotated[str | None, typer.Option(help="HMAC key for the signature.")] = None,
    export_folder: Annotated[Path | None, typer.Option(help="Write each invoice here.")] = None,
    export_format: Annotated[str, typer.Option(help="json or csv.")] = "json",
    flag_duplicates: Annotated[bool, typer.Option(help="Mark likely duplicates.")] = False,
    database_url: DbOption = None,
) -> None:
    """Configure a tenant's post-creation actions (replacing what was set before)."""
    from invoiceflow.pipeline import actions

    if bool(webhook_url) != bool(webhook_secret):
        raise typer.BadParameter("a webhook needs both --webhook-url and --webhook-secret")
    settings = actions.Settings(
        webhook=actions.Webhook(webhook_url, webhook_secret)
        if webhook_url and webhook_secret
        else None,
        export=actions.Export(str(export_folder), export_format) if export_folder else None,
        flag_duplicates=flag_duplicates,
    )
    try:
        actions.save_settings(_engine(database_url).db, tenant, settings)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


@tenants_app.command("show")
def tenants_show(tenant: str, database_url: DbOption = None) -> None:
    import msgspec

    from invoiceflow.pipeline import actions

    settings = actions.load_settings(_engine(database_url).db, tenant)
    shown = msgspec.to_builtins(settings)
    if settings.webhook:
        shown["webhook"]["secret"] = "********"
    _print({"tenant": tenant, **shown})


keys_app = typer.Typer(help="API keys: each authenticates one tenant.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
RequiredTenant = Annotated[str, typer.Option("--tenant", help="The tenant the key is for.")]


@keys_app.command("create")
def keys_create(
    tenant: RequiredTenant, as_json: JsonOption = False, database_url: DbOption = None
) -> None:
    """Create a key; it is shown this once (only its digest is stored)."""
    from invoiceflow.api import keys

    record, key = keys.create(_engine(database_url).db, tenant)
    if as_json:
        _print({"id": record.id, "tenant": tenant, "key": key})
    else:
        typer.echo(key)
        typer.echo(f"key {record.id} for tenant {tenant}; keep it: it is not shown again", err=True)


@keys_app.command("list")
def keys_list(
    tenant: RequiredTenant, as_json: JsonOption = False, database_url: DbOption = None
) -> None:
    from invoiceflow.api import keys

    for record in keys.listing(_engine(database_url).db, tenant):
        if as_json:
            _print(record.__dict__)
        else:
            state = "revoked" if record.revoked else "active"
            typer.echo(f"{record.id}  {record.prefix}...  {state}")


@keys_app.command("revoke")
def keys_revoke(key_id: str, tenant: RequiredTenant, database_url: DbOption = None) -> None:
    from invoiceflow.api import keys

    if not keys.revoke(_engine(database_url).db, tenant, key_id):
        typer.echo(f"tenant {tenant} has no active key {key_id}", err=True)
        raise typer.Exit(1)


@app.command("serve")
def serve_cmd(
    database_url: DbOption = None,
    handlers: HandlersOption = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (0: any free one).")] = 8000,
    max_upload: Annotated[int, typer.Option(help="Largest file accepted, in bytes.")] = 50
    * 1024
    * 1024,
    json_logs: Annotated[
        bool | None, typer.Option("--json-logs/--pretty-logs", help="Default: JSON unless a TTY.")
    ] = None,
    access_log: Annotated[bool, typer.Option(help="Log every request.")] = False,
    drain_timeout: Annotated[
        int,
        typer.Option(
            min=0, help="Seconds after SIGTERM for requests and handlers to finish, at most."
        ),
    ] = 30,
) -> None:
    """Run the HTTP API, the workers and the timers in one process (until SIGTERM/SIGINT)."""
    from invoiceflow.serve import CannotStart, serve

    _import(handlers)
    _database_path(database_url)
    try:
        serve(
            database_url,
            host,
            port,
            max_upload=max_upload,
            json_logs=json_logs,
            access_log=access_log,
            drain_timeout=drain_timeout,
        )
    except CannotStart as exc:
        _fail(str(exc), 1)


@app.command("info")
def info_cmd(as_json: JsonOption = False, database_url: DbOption = None) -> None:
    """Show the version, the database and what it holds: containers by state, invoices,
    executions by status and the messages on each queue."""
    from invoiceflow.store import open_database

    path = _database_path(database_url)
    if path != ":memory:" and not Path(path).is_file():
        _fail(f"no database at {path}", 1)
    release = _release()
    db = open_database(database_url)
    try:
        with db.transaction(write=False) as tx:
            containers = {row[0]: row[1] for row in tx.fetch("containers_by_state")}
            [(invoices,)] = tx.fetch("invoices_created")
            executions = {row[0]: row[1] for row in tx.fetch("executions_by_status")}
            queues = {
                row[0]: row[1]
                for row in tx.fetch_raw(
                    "SELECT q.name, COUNT(m.id) FROM queues q"
                    " LEFT JOIN messages m ON m.queue_id = q.id GROUP BY q.id, q.name"
                    " ORDER BY q.name"
                )
            }
    finally:
        db.close()
    report = {
        "version": release,
        "database": path,
        "containers": dict(sorted(containers.items())),
        "invoices": invoices,
        "executions": dict(sorted(executions.items())),
        "queues": queues,
    }
    if as_json:
        _print(report)
        return

    def counts(found: dict[str, int]) -> str:
        listed = ", ".join(f"{key} {n}" for key, n in found.items())
        return f"{sum(found.values())}" + (f" ({listed})" if listed else "")

    typer.echo(f"invoiceflow {release}")
    typer.echo(f"database    {path}")
    typer.echo(f"containers  {counts(report['containers'])}")
    typer.echo(f"invoices    {invoices}")
    typer.echo(f"executions  {counts(report['executions'])}")
    typer.echo(f"queues      {len(queues)}")
    for name, n in queues.items():
        typer.echo(f"  {name}  {n} messages")


@app.command("demo")
def demo_cmd(database_url: DbOption = None) -> None:
    """Run sample invoice workflows on the embedded store and show how they ended."""
    from invoiceflow import demo

    _database_path(database_url)
    demo.main(database_url)


def main() -> None:
    app()
