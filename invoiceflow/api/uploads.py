"""Reading an uploaded file: a multipart field ``file``, or the raw body named by
X-Filename. The size limit holds while the body streams in: a declared length over it is
refused before reading, and a body that grows past it is cut off at the limit."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from email.message import Message
from email.utils import collapse_rfc2231_value
from typing import Any
from urllib.parse import unquote

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from invoiceflow.api.errors import ApiError

# Media types accepted as a raw file body; the content decides the format, not the type.
RAW_TYPES = {
    "",
    "application/octet-stream",
    "application/json",
    "application/xml",
    "text/xml",
    "text/csv",
    "text/plain",
    "application/edi-x12",
    "application/edifact",
}
MULTIPART_SLACK = 64 * 1024  # room for the multipart framing around the file


class _TooLarge(Exception):
    pass


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "PayloadTooLarge", f"Files may be at most {limit} bytes.")


def x_filename(raw: str | None) -> str | None:
    """The name an X-Filename header gives: percent-encoded UTF-8 (``%C3%A9t%C3%A9.csv``),
    or UTF-8 sent as it is (which arrives decoded as Latin-1)."""
    if raw is None:
        return None
    with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):  # else Latin-1 it was
        raw = raw.encode("latin-1").decode("utf-8")
    try:
        return unquote(raw, errors="strict")
    except UnicodeDecodeError:
        raise ApiError(
            400, "InvalidFileName", "X-Filename must be UTF-8, percent-encoded."
        ) from None


def part_name(disposition: str | None, plain: str | None) -> str | None:
    """The file name of a multipart part: RFC 5987's ``filename*=UTF-8''...`` when given
    (Starlette reads only ``filename``, the ASCII fallback browsers send beside it)."""
    if disposition and "filename*" in disposition.lower():
        header = Message()
        header["content-disposition"] = disposition
        for key, value in header.get_params([], header="content-disposition"):
            if key == "filename" and isinstance(value, tuple):  # the RFC 2231 form
                return collapse_rfc2231_value(value)
    return plain


def _file_name(raw: str | None) -> str:
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not name or len(name) > 255 or not name.isprintable():
        raise ApiError(400, "InvalidFileName", "Name the file (1 to 255 printable characters).")
    return name


@dataclass(frozen=True)
class Upload:
    name: str
    data: bytes
    profile: str | None = None  # a multipart form's ``profile`` field


async def read_file(request: Request, limit: int, header_name: str | None) -> Upload:
    """The uploaded file, its name and (from a multipart form) the profile it names;
    ApiError for anything else."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + MULTIPART_SLACK:
        raise _too_large(limit)
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    profile = None
    if media == "multipart/form-data":
        name, data, profile = await _multipart(request, limit)
    elif media in RAW_TYPES:
        name = _file_name(x_filename(header_name))
        data = await _raw(request, limit)
    else:
        raise ApiError(
            415,
            "UnsupportedMediaType",
            "Send the file as multipart/form-data (field `file`) or as the raw body with "
            "an X-Filename header.",
        )
    if not data:
        raise ApiError(400, "EmptyFile", "The file is empty.")
    return Upload(name, data, profile)


async def _raw(request: Request, limit: int) -> bytes:
    parts = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise _too_large(limit)
        parts.append(chunk)
    return b"".join(parts)


async def _multipart(request: Request, limit: int) -> tuple[str, bytes, str | None]:
    seen = 0

    async def receive() -> Any:
        nonlocal seen
        message = await request.receive()
        seen += len(message.get("body", b""))
        if seen > limit + MULTIPART_SLACK:
            raise _TooLarge
        return message

    counted = Request(request.scope, receive)
    try:
        form = await counted.form(max_files=1, max_fields=10)
    except _TooLarge:
        raise _too_large(limit) from None
    except HTTPException as exc:
        if exc.status_code == 413:  # the body limit, counting as the body streamed in
            raise
        raise ApiError(400, "InvalidMultipart", str(exc.detail)) from None
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ApiError(422, "ValidationError", "file: the form needs a `file` field.")
        profile = form.get("profile")
        if profile is not None and not isinstance(profile, str):
            raise ApiError(422, "ValidationError", "profile: a profile's name, not a file.")
        data = await upload.read()
    finally:
        await form.close()  # spooled parts are temporary files
    if len(data) > limit:
        raise _too_large(limit)
    disposition = upload.headers.get("content-disposition")
    return _file_name(part_name(disposition, upload.filename)), data, profile or None
