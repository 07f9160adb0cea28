"""Stored images: the type comes from the content (Pillow must decode it as one of the
allowed formats), never from the file name or the browser's claim; size and pixel count
are capped before anything is kept."""

from __future__ import annotations

import io
import secrets
from pathlib import Path
from typing import IO

from flask import current_app
from flask_babel import gettext as _
from PIL import Image, UnidentifiedImageError

from portal.errors import ServiceError

MAX_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 40_000_000  # a decompression bomb is refused before it is decoded
FORMATS = {
    "PNG": ("png", "image/png"),
    "JPEG": ("jpg", "image/jpeg"),
    "WEBP": ("webp", "image/webp"),
}


class UploadError(ServiceError):
    """A file that is not an image the portal takes."""


def folder() -> Path:
    path = Path(current_app.config["PORTAL_UPLOAD_PATH"]) / "materials"
    path.mkdir(parents=True, exist_ok=True)
    return path


def check(stream: IO[bytes]) -> tuple[bytes, str, str]:
    """The upload's bytes, extension and MIME type; :class:`UploadError` when it is too
    big or not a PNG, JPEG or WebP image."""
    data = stream.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise UploadError(_("The file is larger than %(mb)d MB.", mb=MAX_BYTES // (1024 * 1024)))
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = image.format
            width, height = image.size
            if kind not in FORMATS or width * height > MAX_PIXELS:
                raise UploadError(_("Upload a PNG, JPEG or WebP image."))
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as exc:
        raise UploadError(_("Upload a PNG, JPEG or WebP image.")) from exc
    extension, mime = FORMATS[kind]
    return data, extension, mime


def store(stream: IO[bytes]) -> tuple[str, str]:
    """Check and keep the upload under a random name; returns (file name, MIME type)."""
    data, extension, mime = check(stream)
    name = f"{secrets.token_hex(16)}.{extension}"
    (folder() / name).write_bytes(data)
    return name, mime


def path(name: str) -> Path:
    return folder() / name
