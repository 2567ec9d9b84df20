"""Task tokens: 256 random bits, handed out once, stored only as a SHA-256 digest."""

from __future__ import annotations

import hashlib
import re
import secrets

_FORM = re.compile(r"^[A-Za-z0-9_-]{43}$")


def new_token() -> str:
    return secrets.token_urlsafe(32)


def well_formed(token: str) -> bool:
    return isinstance(token, str) and _FORM.match(token) is not None


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()
