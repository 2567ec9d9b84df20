"""API keys: each authenticates one tenant. A key is shown once, when created; the store
keeps its SHA-256 digest, so a copy of the database does not hand out access.

Keys are long random strings, so a plain digest is enough (a slow hash guards guessable
passwords, not 256 random bits). Lookups are remembered for a second: a revoked key stops
working within that second.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
import uuid
from dataclasses import dataclass

from invoiceflow.store import Database, Transaction

PREFIX = "ifk_"
REMEMBER = 1.0  # seconds a lookup is reused


@dataclass(frozen=True)
class ApiKey:
    id: str
    tenant: str
    prefix: str
    created: float
    revoked: float | None


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create(db: Database, tenant: str) -> tuple[ApiKey, str]:
    """A new key for ``tenant``: its record, and the key itself (shown this once)."""
    with db.transaction() as tx:
        return _insert(tx, tenant)


def replace(db: Database, tenant: str) -> tuple[ApiKey, str]:
    """A new key for ``tenant`` in place of all its earlier ones, which stop working (in
    one commit): for a tenant that needs one key at a time, as the demo's."""
    with db.transaction() as tx:
        tx.execute("delete_api_keys", (tenant,))
        return _insert(tx, tenant)


def _insert(tx: Transaction, tenant: str) -> tuple[ApiKey, str]:
    if not tenant:
        raise ValueError("a key needs a tenant")
    key = PREFIX + secrets.token_urlsafe(32)
    record = ApiKey(str(uuid.uuid4()), tenant, key[:12], time.time(), None)
    tx.execute("insert_api_key", (record.id, tenant, _digest(key), record.prefix, record.created))
    return record, key


def listing(db: Database, tenant: str) -> list[ApiKey]:
    with db.transaction(write=False) as tx:
        return [ApiKey(*row) for row in tx.fetch("list_api_keys", (tenant,))]


def revoke(db: Database, tenant: str, key_id: str) -> bool:
    """Whether the tenant had such a key, not yet revoked."""
    with db.transaction() as tx:
        return bool(tx.execute("revoke_api_key", (time.time(), key_id, tenant)))


class Authenticator:
    """Which tenant a presented key belongs to, if any."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._seen: dict[str, tuple[float, str | None]] = {}
        self._lock = threading.Lock()

    def tenant(self, key: str) -> str | None:
        if not key.startswith(PREFIX) or len(key) > 200:
            return None
        digest = _digest(key)
        now = time.monotonic()
        with self._lock:
            seen = self._seen.get(digest)
        if seen is not None and now - seen[0] < REMEMBER:
            return seen[1]
        with self.db.transaction(write=False) as tx:
            row = tx.fetchone("api_key_tenant", (digest,))
        tenant = row[0] if row else None
        with self._lock:
            if len(self._seen) > 10_000:
                self._seen.clear()
            self._seen[digest] = (now, tenant)
        return tenant
