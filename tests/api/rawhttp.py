"""HTTP/1.1 by hand over a socket, for what a well-behaved client cannot send: duplicate
or oversized headers, declared lengths that never arrive, bodies that go on for ever."""

from __future__ import annotations

import select
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import orjson

PATIENCE = 20.0  # seconds a test waits for an answer that should come at once


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict[str, str]:
        found: dict[str, str] = orjson.loads(self.body)
        return found


def connect(url: str) -> socket.socket:
    parts = urlsplit(url)
    assert parts.hostname == "127.0.0.1" and parts.port is not None
    return socket.create_connection((parts.hostname, parts.port), timeout=PATIENCE)


def head(method: str, path: str, *headers: tuple[str, str | bytes]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1".encode(), b"Host: 127.0.0.1"]
    for name, value in headers:
        lines.append(name.encode() + b": " + (value.encode() if isinstance(value, str) else value))
    return b"\r\n".join(lines) + b"\r\n\r\n"


def answered_before_body(sock: socket.socket) -> bool:
    """Whether the server says something while the client still owes it the body."""
    readable, _, _ = select.select([sock], [], [], PATIENCE)
    return bool(readable)


def read_answer(sock: socket.socket) -> Answer:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before an answer: {data!r}")
        data += chunk
    top, _, rest = data.partition(b"\r\n\r\n")
    status_line, *lines = top.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return Answer(int(status_line.split()[1]), headers, rest[:length])


def send_quietly(sock: socket.socket, data: bytes) -> int:
    """Sends what the server takes; how many bytes it took before it hung up."""
    sent = 0
    view = memoryview(data)
    try:
        while sent < len(data):
            sent += sock.send(view[sent : sent + (1 << 20)])
    except OSError:  # the server refused the rest and closed: what we hope for
        pass
    return sent


def exchange(url: str, request: bytes) -> Answer:
    with connect(url) as sock:
        sock.sendall(request)
        return read_answer(sock)
