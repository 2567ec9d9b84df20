"""Supplier profiles through the pipeline: kept per tenant, named when a file is received
or chosen for it, and recorded on its container.

A file is read with the profile it is given (a stored one's name, or a profile file's
content), else with the first of the tenant's stored profiles, in name order, whose
``match_file`` pattern (a glob such as ``acme-*.csv``, case-insensitive) matches the file's
name, else the first whose ``match_supplier`` (a name or id, case-insensitive) occurs in the
file's first 64 KiB, else with none. The choice is made before the container is, and the
container keeps the profile's name and content: running it again reads the file the same
way, whatever became of the stored profile since.
"""

from __future__ import annotations

import fnmatch
import json
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from invoiceflow.digitize import DigitizeError
from invoiceflow.digitize.profiles import check_profile, to_mapping
from invoiceflow.store import Database, Transaction

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
SNIFF = 64 * 1024  # bytes of a file searched for a profile's supplier
MAX_PATTERN = 255
MAX_PROFILES = 200  # per tenant: every upload without a named profile tries their patterns


class ProfileError(ValueError):
    """A profile that cannot be used, or a name that names none; the message is one
    sentence that says which and why."""


@dataclass(frozen=True)
class Chosen:
    """The profile a file is read with: its name and checked content (a JSON object)."""

    name: str
    content: str


@dataclass(frozen=True)
class StoredProfile:
    tenant: str
    name: str
    profile: dict[str, Any]
    match_supplier: str | None
    match_file: str | None
    created: float
    updated: float

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "tenant": self.tenant,
            "profile": self.profile,
            "match_supplier": self.match_supplier,
            "match_file": self.match_file,
            "created": datetime.fromtimestamp(self.created, UTC).isoformat(),
            "updated": datetime.fromtimestamp(self.updated, UTC).isoformat(),
        }

    def chosen(self) -> Chosen:
        return Chosen(self.name, json.dumps(self.profile, sort_keys=True))


def checked(data: Any, name: str = "profile") -> Chosen:
    """``data`` (a parsed YAML/JSON mapping) as a profile the readers can use, or
    ProfileError naming what is wrong."""
    if not isinstance(data, dict):
        raise ProfileError("A profile is a mapping with a 'columns' mapping.")
    try:
        profile = check_profile(data)
    except DigitizeError as exc:
        raise ProfileError(exc.problem.message) from None
    return Chosen(name, json.dumps(to_mapping(profile), sort_keys=True))


def put(
    db: Database,
    tenant: str,
    name: str,
    data: Any,
    *,
    match_supplier: str | None = None,
    match_file: str | None = None,
) -> StoredProfile:
    """Store (or replace) the tenant's profile ``name``, checked first."""
    if not NAME.match(name):
        raise ProfileError(
            f"profile name {name!r}: use 1 to 64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit."
        )
    try:
        content = checked(data, name).content
    except ProfileError as exc:
        raise ProfileError(f"profile {name}: {exc}") from None
    supplier = (match_supplier or "").strip() or None
    pattern = (match_file or "").strip() or None
    if supplier is not None and len(supplier) < 3:
        raise ProfileError(f"profile {name}: match_supplier must be at least 3 characters.")
    if pattern is not None and (len(pattern) > MAX_PATTERN or "/" in pattern):
        raise ProfileError(
            f"profile {name}: match_file is a file name pattern (such as 'acme-*.csv'), without "
            f"folders, of at most {MAX_PATTERN} characters."
        )
    now = time.time()
    with db.transaction() as tx:
        [(others,)] = tx.fetch("count_other_profiles", (tenant, name))
        if others >= MAX_PROFILES:
            raise ProfileError(
                f"profile {name}: tenant {tenant} has {others} profiles already, the most "
                "it may have; delete one first."
            )
        tx.execute("put_profile", (tenant, name, content, supplier, pattern, now, now))
        stored = get(tx, tenant, name)
    assert stored is not None
    return stored


def get(tx: Transaction, tenant: str, name: str) -> StoredProfile | None:
    row = tx.fetchone("get_profile", (tenant, name))
    return _stored(row) if row else None


def listing(db: Database, tenant: str) -> list[StoredProfile]:
    with db.transaction(write=False) as tx:
        return [_stored(r) for r in tx.fetch("list_profiles", (tenant,))]


def delete(db: Database, tenant: str, name: str) -> bool:
    """Forget the tenant's profile; whether there was one."""
    with db.transaction() as tx:
        return bool(tx.execute("delete_profile", (tenant, name)))


def named(db: Database, tenant: str, name: str) -> Chosen:
    """The tenant's stored profile ``name``, or ProfileError."""
    with db.transaction(write=False) as tx:
        found = get(tx, tenant, name)
    if found is None:
        raise ProfileError(f"tenant {tenant} has no profile named {name!r}")
    return found.chosen()


def choose(db: Database, tenant: str, file_name: str, data: bytes) -> Chosen | None:
    """The stored profile a file is read with when none is named (see the module's
    docstring), or None."""
    with db.transaction(write=False) as tx:
        matchers = tx.fetch("profile_matchers", (tenant,))
    for name, _, pattern in matchers:
        if pattern and fnmatch.fnmatch(file_name.lower(), pattern.lower()):
            return named(db, tenant, name)
    suppliers = [(name, supplier) for name, supplier, _ in matchers if supplier]
    if suppliers:
        head = data[:SNIFF]
        texts = {
            head.decode("utf-8", errors="replace").casefold(),
            head.decode("latin-1").casefold(),
        }
        for name, supplier in suppliers:
            if any(supplier.casefold() in text for text in texts):
                return named(db, tenant, name)
    return None


def _stored(row: tuple[Any, ...]) -> StoredProfile:
    tenant, name, content, supplier, pattern, created, updated = row
    return StoredProfile(tenant, name, json.loads(content), supplier, pattern, created, updated)
