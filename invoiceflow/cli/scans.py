"""Invoice files invoiceflow recognises but does not read yet: PDFs and images."""

from __future__ import annotations

from pathlib import Path

# Invoice files we recognise but do not read yet, by their first bytes.
_SCANS = (
    (b"%PDF", "a PDF"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
)


def scan_kind(path: Path) -> str | None:
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


def not_read_yet(path: Path, kind: str) -> str:
    return (
        f"{path} is {kind}: PDF and image invoices are not read yet "
        "(send X12, EDIFACT, UBL, CII, CSV or JSON)"
    )
