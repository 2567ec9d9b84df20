"""What one `invoiceflow serve` process accepts over HTTP: uploads per second (small CSV
files, raw body) and invoice-event submissions per second, with p50/p99 latency of the
calls, under load from a second process on 127.0.0.1 (a closed loop of keep-alive
connections). The serve process does the work it accepts at the same time.

Prints human lines, then one JSON object as the last line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from latency import p50_p99
from machine import machine

from invoiceflow.digitize import parse, to_json
from invoiceflow.samples import SAMPLES

ROOT = Path(__file__).resolve().parent.parent
INVOICE = to_json(next(iter(parse(SAMPLES / "ubl" / "en16931-ubl-tc434-example1.xml"))))
CSV = b"invoice_number,invoice_date,currency,supplier,description,qty,unit_price\n"


def csv_file(n: int) -> bytes:
    return CSV + f"U-{n},2026-11-01,EUR,Bench Supplier,Item,1,{n % 90 + 10}.00\n".encode()


async def _connection(
    port: int, request: Any, count: int, latencies: list[float], statuses: dict[int, int]
) -> None:
    """One keep-alive connection sending ``count`` requests, one at a time."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for n in range(count):
        began = time.perf_counter()
        writer.write(request(n))
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        await reader.readexactly(length)
        latencies.append((time.perf_counter() - began) * 1000)
        statuses[status] = statuses.get(status, 0) + 1
    writer.close()


def _load(port: int, key: str, kind: str, total: int, connections: int, out: Any) -> None:
    auth = f"Authorization: Bearer {key}\r\n"

    def request(n: int) -> bytes:
        if kind == "events":
            body, extra = INVOICE, "Content-Type: application/json\r\n"
            path = "/v1/invoice-events"
        else:
            body, extra = csv_file(n), f"Content-Type: text/csv\r\nX-Filename: u{n}.csv\r\n"
            path = "/v1/containers"
        head = f"POST {path} HTTP/1.1\r\nHost: bench\r\n{auth}{extra}"
        return head.encode() + f"Content-Length: {len(body)}\r\n\r\n".encode() + body

    async def run() -> tuple[float, list[float], dict[int, int]]:
        latencies: list[float] = []
        statuses: dict[int, int] = {}
        each = total // connections
        began = time.perf_counter()
        await asyncio.gather(
            *(_connection(port, request, each, latencies, statuses) for _ in range(connections))
        )
        return time.perf_counter() - began, latencies, statuses

    out.put(asyncio.run(run()))


def measure(port: int, key: str, kind: str, total: int, connections: int) -> dict[str, Any]:
    spawn = multiprocessing.get_context("spawn")
    results = spawn.Queue()
    proc = spawn.Process(target=_load, args=(port, key, kind, total, connections, results))
    proc.start()
    elapsed, latencies, statuses = results.get()
    proc.join()
    accepted = sum(v for k, v in statuses.items() if k in (201, 202))
    return {
        "requests": len(latencies),
        "connections": connections,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "accepted_per_s": round(accepted / elapsed),
        **p50_p99(latencies),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--uploads", type=int, default=5_000)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="invoiceflow-bench-") as tmp:
        speed = machine(Path(tmp))
        url = f"sqlite:///{tmp}/api.db"
        cli = [sys.executable, "-m", "invoiceflow"]
        key = (
            subprocess.run(
                [*cli, "keys", "create", "--tenant", "bench", "--database-url", url],
                cwd=ROOT,
                capture_output=True,
                check=True,
            )
            .stdout.decode()
            .strip()
        )
        serve = [*cli, "serve", "--port", "0", "--json-logs", "--database-url", url]
        with subprocess.Popen(serve, cwd=ROOT, stderr=subprocess.PIPE) as server:
            try:
                assert server.stderr is not None
                port = int(json.loads(server.stderr.readline())["url"].rsplit(":", 1)[1])
                measure(port, key, "events", 500, args.connections)  # warm up
                events = measure(port, key, "events", args.events, args.connections)
                print("invoice events:", events, flush=True)
                uploads = measure(port, key, "uploads", args.uploads, args.connections)
                print("uploads:", uploads, flush=True)
            finally:
                server.terminate()
                server.wait(timeout=60)
    print(json.dumps({"machine": speed, "events": events, "uploads": uploads}))


if __name__ == "__main__":
    main()
