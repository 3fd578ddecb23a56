"""Uploaded files: checking what an upload really is, storing it, and removing it again.

The type of an upload is read from its first bytes. The file name and the content type the
browser sent are never trusted: a file called ``cat.png`` may be an HTML page, and serving
it from our origin would let it run scripts as us. SVG is refused for the same reason.
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from fedi.domain.errors import ServiceError
from fedi.domain.image_processing import process_image
from fedi.settings import Settings


@dataclass(frozen=True)
class ImageType:
    """A recognised image format: the file extension we store it under and its media type."""

    extension: str
    media_type: str


PNG = ImageType("png", "image/png")
JPEG = ImageType("jpg", "image/jpeg")
GIF = ImageType("gif", "image/gif")
WEBP = ImageType("webp", "image/webp")

MEDIA_TYPES = {kind.extension: kind.media_type for kind in (PNG, JPEG, GIF, WEBP)}
# What a stored upload path looks like: "<folder>/<32 hex>.<ext>". The media route only
# serves names of this shape, so no path trick (.., encoded slashes) can reach other files.
STORED_NAME = re.compile(r"^(avatars|images)/[0-9a-f]{32}\.(png|jpg|gif|webp)$")


def detect_image_type(data: bytes) -> ImageType | None:
    """The image format of ``data`` judged by its magic bytes, or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    return None


def check_image(data: bytes, max_bytes: int, *, field: str = "avatar") -> ImageType:
    """The type of an uploaded image, or ``ServiceError`` for an empty, too large or
    unrecognised file (anything but PNG, JPEG, GIF and WebP)."""
    if not data:
        raise ServiceError("The file is empty.", field=field)
    if len(data) > max_bytes:
        raise ServiceError(
            "The image is too large (at most %(size)s).", field=field,
            size=human_size(max_bytes),
        )
    kind = detect_image_type(data)
    if kind is None:
        raise ServiceError("Please upload a PNG, JPEG, GIF or WebP image.", field=field)
    return kind


def store_image(settings: Settings, folder: str, data: bytes, max_bytes: int) -> str:
    """Check ``data`` is a PNG, JPEG, GIF or WebP of at most ``max_bytes`` and store it.

    The image is decoded and re-encoded (upright, shrunk, without metadata) before it is
    written. Returns the path relative to the uploads folder (``avatars/<hex>.png``). Raises
    ``ServiceError(field="avatar")`` for an empty, too large, unrecognised or unreadable file.
    """
    check_image(data, max_bytes)
    # Re-encoded with Pillow: no EXIF (a home's GPS position) is ever stored or served, and
    # a phone photo shrinks to the size pages show (fedi/domain/image_processing.py).
    processed = process_image(data, folder)
    relative = f"{folder}/{secrets.token_hex(16)}.{processed.extension}"
    if not STORED_NAME.match(relative):
        raise ValueError(f"unsupported upload folder {folder!r}")
    target = settings.uploads_dir / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    # Write to a temporary name first, so a half-written file is never served.
    temporary = target.with_suffix(target.suffix + ".part")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "wb") as handle:
        handle.write(processed.data)
    temporary.replace(target)
    return relative


def delete_upload(settings: Settings, relative: str | None) -> None:
    """Remove a stored upload; unknown or malformed paths are ignored."""
    if not relative or not STORED_NAME.match(relative):
        return
    try:
        (settings.uploads_dir / relative).unlink()
    except FileNotFoundError:
        pass


def upload_path(settings: Settings, relative: str) -> Path | None:
    """The file of a stored upload if ``relative`` is a well-formed stored name, else None."""
    if not STORED_NAME.match(relative):
        return None
    return settings.uploads_dir / relative


def media_url(settings: Settings, relative: str) -> str:
    """The public, absolute URL of a stored upload."""
    return settings.url(f"/media/{relative}")


def media_type_of(relative: str) -> str:
    """The media type of a stored upload, from the extension we gave it ourselves."""
    return MEDIA_TYPES.get(relative.rsplit(".", 1)[-1], "application/octet-stream")


def human_size(size: int) -> str:
    """A byte count for people: "2 MB", "500 kB"."""
    if size >= 1_000_000:
        return f"{size / 1_000_000:g} MB"
    if size >= 1000:
        return f"{size / 1000:g} kB"
    return f"{size} B"
