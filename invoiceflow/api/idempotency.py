"""Idempotency-Key: a repeated request gets the first one's response, not a second effect.

The first response is recorded in the same commit as the effect itself, so a crash can
never leave an effect without its record (or the reverse). Two concurrent first requests
race on the record's key: the loser's effect is undone with its transaction, and it answers
with the winner's response.

Each record keeps a SHA-256 digest of the request it answered (the body, and the file's
name for an upload). The same key with another request is refused with 422
IdempotencyKeyMismatch, as Stripe does, rather than answered with a response that is not
its own while its content is dropped. Records from before digests were kept have none and
replay for any request.
"""

from __future__ import annotations

import hashlib
import time

import orjson
from fastapi import Response

from invoiceflow.api.errors import ApiError
from invoiceflow.store import Database, Transaction

MAX_KEY = 255


def checked(key: str | None) -> str | None:
    if key is None:
        return None
    if not 1 <= len(key) <= MAX_KEY or not key.isprintable():
        raise ApiError(
            400,
            "InvalidIdempotencyKey",
            f"Idempotency-Key must be 1 to {MAX_KEY} printable characters.",
        )
    return key


def upload_digest(name: str, data: bytes) -> str:
    """The digest of an uploaded file: its name and its content. (hashlib reads ``data``
    where it is, without a copy, and lets other threads run while it does.)"""
    hasher = hashlib.sha256(name.encode())
    hasher.update(b"\0")
    hasher.update(data)
    return hasher.hexdigest()


def mismatch(route: str) -> ApiError:
    return ApiError(
        422,
        "IdempotencyKeyMismatch",
        f"This Idempotency-Key was already used on {route} with a different request; "
        "send the same request to get its first response again, or use a new key.",
    )


def replay(db: Database, tenant: str, route: str, key: str, digest: str) -> Response | None:
    with db.transaction(write=False) as tx:
        return replay_in(tx, tenant, route, key, digest)


def replay_in(tx: Transaction, tenant: str, route: str, key: str, digest: str) -> Response | None:
    """The recorded first response, read inside ``tx`` (which sees its own writes, so a
    repeat in the same batch finds the first); ApiError when the key was first used with a
    request of another ``digest``."""
    row = tx.fetchone("idempotent_response", (tenant, route, key))
    if row is None:
        return None
    status, body, headers, first = row
    if first is not None and first != digest:
        raise mismatch(route)
    return Response(
        body,
        status_code=status,
        media_type="application/json",
        headers={**orjson.loads(headers), "Idempotent-Replayed": "true"},
    )


def remember(
    tx: Transaction,
    tenant: str,
    route: str,
    key: str,
    status: int,
    body: bytes,
    headers: dict[str, str],
    digest: str,
) -> None:
    """Raises ConstraintViolation when another request with the key got there first."""
    tx.execute(
        "insert_idempotent_response",
        (
            tenant,
            route,
            key,
            status,
            body.decode(),
            orjson.dumps(headers).decode(),
            time.time(),
            digest,
        ),
    )
