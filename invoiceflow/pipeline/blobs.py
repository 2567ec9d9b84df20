"""The blob store: received files kept whole, by content, outside the workflow.

Workflows carry a container id, never the file (state payloads are capped at 256 KiB). Files
are stored once per content (the SHA-256 names them), written to a temporary name and
renamed into place, so a crash never leaves half a file under a real name; the file and
then its folder are flushed before ``put`` returns, so the container that the caller then
commits never names a file a power cut could take back.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


class BlobStore:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def put(self, data: bytes) -> tuple[str, str]:
        """Store ``data``; returns (key, sha256 hex)."""
        digest = hashlib.sha256(data).hexdigest()
        key = f"{digest[:2]}/{digest}"
        path = self.root / key
        if not path.exists():
            new_folder = not path.parent.exists()
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(data)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            _flush_folder(path.parent)
            if new_folder:
                _flush_folder(self.root)
        return key, digest

    def path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"blob key {key!r} points outside the store")
        return path


def _flush_folder(folder: Path) -> None:
    """Makes the names in ``folder`` (a rename into it) survive a power cut."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
