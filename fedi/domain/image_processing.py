"""Uploaded images made safe and small with Pillow: decoded, turned upright, shrunk, re-encoded.

A phone photo carries EXIF (the GPS position of someone's home, the camera's serial number)
and is 3 to 12 MB at 4000 pixels wide; a page shows it at most 1600 pixels wide. Every
upload is therefore decoded and written anew: only pixels survive (no EXIF, XMP, comments or
trailing bytes), the EXIF orientation is applied first so the picture stays upright, and the
longest side is limited per use (avatars are small). JPEG stays JPEG, PNG and WebP keep their
transparency, a still GIF stays a GIF. An animated GIF keeps its frames (GIF has no EXIF)
and is re-encoded frame by frame only when it must shrink, up to a frame limit.

A file that does not decode, or that decodes to more pixels than :data:`MAX_PIXELS` (a
"decompression bomb": a few kB that unpack to gigabytes), is refused with a message.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError

from fedi.domain.errors import ServiceError

# 50 megapixels: more than any phone's main camera writes by default (48 MP binned to 12).
MAX_PIXELS = 50_000_000
# The longest side kept per upload folder.
MAX_SIDE = {"avatars": 512, "images": 1600}
JPEG_QUALITY = 85
MAX_GIF_FRAMES = 200


@dataclass(frozen=True)
class Processed:
    """A re-encoded image: its bytes, file extension and size in pixels."""

    data: bytes
    extension: str
    width: int
    height: int


def _refuse(field: str) -> ServiceError:
    return ServiceError("This image could not be read. Please try another file.", field=field)


def _too_many_pixels(field: str) -> ServiceError:
    return ServiceError(
        "The image has too many pixels (at most %(count)s million).",
        field=field, count=MAX_PIXELS // 1_000_000,
    )


def process_image(data: bytes, folder: str, *, field: str = "avatar") -> Processed:
    """Decode ``data`` and encode it again without metadata, upright and at most
    ``MAX_SIDE[folder]`` pixels on its longest side; ``ServiceError`` when it is no image
    we can read or has more than :data:`MAX_PIXELS` pixels."""
    max_side = MAX_SIDE.get(folder, MAX_SIDE["images"])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.width * image.height > MAX_PIXELS:
                raise _too_many_pixels(field)
            if image.format == "GIF" and getattr(image, "n_frames", 1) > 1:
                return _animated_gif(image, max_side, field)
            if image.format == "JPEG":
                # Decode at a reduced scale straight away: a 48 MP photo never needs to be
                # held in memory at full size to become 1600 pixels wide.
                image.draft("RGB", (max_side, max_side))
            image.load()
            original_format = image.format
            upright = ImageOps.exif_transpose(image) or image
    except ServiceError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow's own guard fired first (it checks while reading the header).
        raise _too_many_pixels(field) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise _refuse(field) from exc
    upright.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return _encode(upright, original_format)


def _encode(image: Image.Image, original_format: str | None) -> Processed:
    """Write ``image`` as JPEG (photos), PNG, GIF or WebP, with no metadata attached."""
    out = io.BytesIO()
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    )
    if original_format == "GIF":
        # Still GIFs stay GIF (a palette, perhaps one transparent colour).
        if image.mode not in ("P", "L"):
            image = image.convert("RGBA" if has_alpha else "RGB").convert(
                "P", palette=Image.Palette.ADAPTIVE
            )
        image.info.pop("comment", None)
        image.save(out, "GIF", transparency=image.info.get("transparency"))
        extension = "gif"
    elif original_format == "WEBP":
        image = image.convert("RGBA" if has_alpha else "RGB")
        image.save(out, "WEBP", quality=JPEG_QUALITY, method=4)
        extension = "webp"
    elif original_format == "JPEG" or (not has_alpha and original_format not in ("PNG", "GIF")):
        image = image.convert("RGB")
        image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
        extension = "jpg"
    else:
        if image.mode not in ("RGB", "RGBA", "L", "LA", "P"):
            image = image.convert("RGBA" if has_alpha else "RGB")
        # A fresh image without ``info``: Pillow would otherwise copy text chunks over.
        clean = Image.new(image.mode, image.size)
        if image.mode == "P":
            clean.putpalette(image.getpalette() or [])
            if "transparency" in image.info:
                clean.info["transparency"] = image.info["transparency"]
        clean.paste(image)
        clean.save(out, "PNG", optimize=True,
                   transparency=clean.info.get("transparency"))
        extension = "png"
        image = clean
    return Processed(out.getvalue(), extension, image.width, image.height)


def _animated_gif(image: Image.Image, max_side: int, field: str) -> Processed:
    """An animated GIF, its frames shrunk when larger than ``max_side``."""
    if getattr(image, "n_frames", 1) > MAX_GIF_FRAMES:
        raise ServiceError(
            "The animation has too many frames (at most %(count)s).",
            field=field, count=MAX_GIF_FRAMES,
        )
    frames = []
    durations = []
    for frame in ImageSequence.Iterator(image):
        copy = frame.convert("RGBA")
        copy.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
        frames.append(copy)
        durations.append(frame.info.get("duration", 100))
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=durations,
                   loop=image.info.get("loop", 0), disposal=2)
    return Processed(out.getvalue(), "gif", frames[0].width, frames[0].height)
