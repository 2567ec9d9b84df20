"""Post-creation actions: webhooks through outages, exports, duplicate flags."""

import csv
import hashlib
import hmac
import http.server
import io
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from invoiceflow.digitize import parse
from invoiceflow.pipeline import actions
from invoiceflow.pipeline.submit import start, wait
from invoiceflow.queues import tenants
from invoiceflow.samples import SAMPLES
from tests.pipeline.test_pipeline import World, sample


class Receiver:
    """A webhook receiver on 127.0.0.1 that can be switched off (503) and on."""

    def __init__(self) -> None:
        self.up = True
        self.received: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if not receiver.up:
                    self.send_response(503)
                    self.end_headers()
                    return
                receiver.received.append((dict(self.headers), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/invoices"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def w(tmp_path: Path) -> Iterator[World]:
    world = World(tmp_path)
    yield world
    world.db.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def test_a_webhook_down_for_a_while_delays_but_loses_nothing(
    tmp_path: Path, receiver: Receiver
) -> None:
    w = World(tmp_path, max_receives=6)  # tries at about 0, 1, 2... seconds
    actions.save_settings(
        w.db, "default", actions.Settings(webhook=actions.Webhook(receiver.url, "s3cret"))
    )
    receiver.up = False
    threading.Timer(1.5, lambda: setattr(receiver, "up", True)).start()
    [container] = w.submit(sample("x12/bots-810-004010-01.x12"))
    assert (container.state, container.created_count) == ("Done", 2)
    numbers = sorted(json.loads(body)["invoice_number"] for _, body in receiver.received)
    assert numbers == ["465266", "465267"]
    headers, body = receiver.received[0]
    expected = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert headers["X-Invoiceflow-Signature"] == expected
    assert headers["Idempotency-Key"] == json.loads(body)["id"]
    w.db.close()


def test_a_webhook_that_stays_down_sends_the_container_to_error(
    w: World, receiver: Receiver
) -> None:
    actions.save_settings(
        w.db, "default", actions.Settings(webhook=actions.Webhook(receiver.url, "k"))
    )
    receiver.up = False
    [container] = w.submit(sample("ubl/en16931-ubl-tc434-example2.xml"))
    assert container.state == "Error" and "post-creation" in (container.reason or "")
    assert "Last error (attempt 2): webhook: " in (container.reason or "")
    assert "answered 503" in (container.reason or "")
    queues = w.pipeline.engine.runtime.queues
    dlq = queues.get("invoiceflow-post-creation-dlq")
    # handled (the task was failed) and kept to be looked at, out of its handler's way
    assert (queues.counts(dlq)["visible"], queues.counts(dlq)["in_flight"]) == (0, 1)
    [kept] = tenants.peek(queues, dlq, "default", 10)
    assert kept.dead_letter_source == "invoiceflow-post-creation"
    receiver.up = True
    start(w.pipeline, container.id)
    [again] = wait(w.pipeline, w.registry, [container.id], timeout=60)
    assert (again.state, again.created_count) == ("Done", 1)
    assert len(receiver.received) == 1


def test_exports_json_and_formula_safe_csv(w: World, tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    actions.save_settings(
        w.db, "default", actions.Settings(export=actions.Export(str(folder), "csv"))
    )
    csv_file = (
        b"invoice_number,invoice_date,currency,supplier,description,qty,unit_price,amount\n"
        b'EX-1,2024-01-02,EUR,Evil Corp,=HYPERLINK("http://x"),1,-5.00,-5.00\n'
    )
    [container] = w.submit(("evil.csv", csv_file))
    assert container.state == "Done"
    [exported] = (folder / "default").glob("*.csv")
    rows = list(csv.reader(io.StringIO(exported.read_text())))
    description = rows[1][rows[0].index("description")]
    assert description.startswith("'=HYPERLINK")
    assert rows[1][rows[0].index("amount")] == "-5.00"  # a number stays a number
    [back] = parse(exported)  # the export reads back as the common CSV shape
    assert back.invoice_number == "EX-1" and back.lines[0].net_amount == -5


def test_likely_duplicates_across_files_are_flagged(w: World) -> None:
    actions.save_settings(w.db, "default", actions.Settings(flag_duplicates=True))
    first, second = w.submit(
        sample("ubl/en16931-ubl-tc434-example1.xml"), sample("cii/en16931-CII_example1.xml")
    )
    [a] = w.invoices(first.id)
    [b] = w.invoices(second.id)
    # one of the two is the original, the other points at it
    assert sorted([a[-1] is None, b[-1] is None]) == [False, True]
    original, repeat = (a, b) if a[-1] is None else (b, a)
    assert repeat[-1] == original[0]


def test_the_csv_cell_rule() -> None:
    assert [actions.safe_cell(v) for v in ("=1+1", "+1", "-12.50", "@SUM", "plain", None)] == [
        "'=1+1",
        "+1",
        "-12.50",
        "'@SUM",
        "plain",
        "",
    ]
    assert SAMPLES.exists()
