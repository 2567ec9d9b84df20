"""What a request may cost the server before it is refused: authentication comes before
any body byte is read, every body has a ceiling enforced as it streams, and the head of a
request (line and headers) is bounded."""

from __future__ import annotations

from tests.api.conftest import Api
from tests.api.rawhttp import (
    answered_before_body,
    connect,
    exchange,
    head,
    read_answer,
    send_quietly,
)

JSON = ("Content-Type", "application/json")
MiB = 1024 * 1024


def test_a_missing_or_bad_key_is_refused_before_the_body_is_read(api: Api) -> None:
    for auth in ([], [("Authorization", "Bearer ifk_forged")]):
        request = head("POST", "/v1/tasks/success", JSON, ("Content-Length", str(100 * MiB)), *auth)
        with connect(api.url) as sock:
            sock.sendall(request)
            assert answered_before_body(sock)
            answer = read_answer(sock)
        assert answer.status == 401 and answer.json()["code"] == "Unauthorized"
        assert answer.headers["connection"] == "close"


def test_a_declared_length_over_the_limit_is_refused_at_once(api: Api) -> None:
    auth = ("Authorization", f"Bearer {api.key_a}")
    for path, limit in (("/v1/tasks/success", MiB), ("/v1/invoice-events", 10 * MiB)):
        request = head("POST", path, JSON, auth, ("Content-Length", str(limit + 1)))
        with connect(api.url) as sock:
            sock.sendall(request)
            assert answered_before_body(sock), path
            answer = read_answer(sock)
        assert answer.status == 413 and answer.json()["code"] == "PayloadTooLarge", path


def test_a_chunked_body_is_counted_as_it_arrives(api: Api) -> None:
    auth = ("Authorization", f"Bearer {api.key_a}")
    request = head("POST", "/v1/tasks/success", JSON, auth, ("Transfer-Encoding", "chunked"))
    chunk = b"%x\r\n%s\r\n" % (64 * 1024, b" " * 64 * 1024)
    with connect(api.url) as sock:
        start = b'{"taskToken": "t", "output": "'
        sock.sendall(request + b"%x\r\n%s\r\n" % (len(start), start))
        sent = send_quietly(sock, chunk * 32 * 16)  # 32 MiB of spaces, never finished
        answer = read_answer(sock)
    assert answer.status == 413 and answer.json()["code"] == "PayloadTooLarge"
    assert sent < 32 * MiB  # it stopped listening


def test_two_authorization_headers_are_refused(api: Api) -> None:
    answer = exchange(
        api.url,
        head(
            "GET",
            "/v1/containers",
            ("Authorization", f"Bearer {api.key_a}"),
            ("Authorization", f"Bearer {api.key_b}"),
        ),
    )
    assert answer.status == 400 and answer.json()["code"] == "DuplicateHeader"


def test_request_headers_are_limited_to_64_kib_in_all(api: Api) -> None:
    auth = ("Authorization", f"Bearer {api.key_a}")
    fits = [(f"X-Pad-{i}", "p" * 1000) for i in range(60)]
    assert exchange(api.url, head("GET", "/v1/containers", auth, *fits)).status == 200
    many = [(f"X-Pad-{i}", "p" * 1000) for i in range(70)]
    answer = exchange(api.url, head("GET", "/v1/containers", auth, *many))
    assert answer.status == 431 and answer.json()["code"] == "HeadersTooLarge"
    with connect(api.url) as sock:  # one header of 32 MiB: cut off long before its end
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ")
        sent = send_quietly(sock, b"x" * 32 * MiB)
        answer = read_answer(sock)
    assert answer.status == 431 and sent < 32 * MiB
