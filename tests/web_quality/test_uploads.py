"""Image uploads: decoded, turned upright, shrunk and re-encoded without metadata (Pillow);
a photo over the limit comes back on its form with a message and everything typed kept."""

from __future__ import annotations

import io
import os
import struct
import zlib
from typing import Any

import pytest
from PIL import Image
from profile_helpers import csrf_from, get_actor, login, make_person, multipart

from fedi.app import create_app
from fedi.domain.errors import ServiceError
from fedi.domain.image_processing import MAX_PIXELS, process_image
from fedi.settings import Settings

GPS_IFD = 0x8825
ORIENTATION = 0x0112


def phone_photo(width: int = 4000, height: int = 3000) -> bytes:
    """A JPEG like a phone writes: big, with a camera model, GPS position and orientation 6
    (the camera was held upright; the pixels are stored sideways)."""
    image = Image.new("RGB", (width, height), (30, 120, 200))
    image.paste((250, 200, 0), (0, 0, width // 4, height // 4))  # a marker top-left
    exif = Image.Exif()
    exif[0x0110] = "Phone 15"
    exif[ORIENTATION] = 6
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (52.0, 4.0, 50.0)})
    out = io.BytesIO()
    image.save(out, "JPEG", quality=95, exif=exif.tobytes())
    return out.getvalue()


def test_phone_photo_is_upright_small_and_without_exif() -> None:
    original = phone_photo()
    assert b"Phone 15" in original
    processed = process_image(original, "images")
    assert processed.extension == "jpg"
    stored = Image.open(io.BytesIO(processed.data))
    # Orientation 6 applied: the 4000x3000 landscape pixels become a portrait picture.
    assert stored.size == (1200, 1600) == (processed.width, processed.height)
    assert not dict(stored.getexif())
    assert b"Phone 15" not in processed.data and b"Exif" not in processed.data
    assert len(processed.data) < len(original)
    avatar = process_image(original, "avatars")
    assert max(Image.open(io.BytesIO(avatar.data)).size) == 512


def test_png_keeps_transparency_and_loses_text_chunks() -> None:
    image = Image.new("RGBA", (300, 200), (0, 0, 0, 0))
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Jan Jansen, Dorpsstraat 1")
    out = io.BytesIO()
    image.save(out, "PNG", pnginfo=info)
    assert b"Dorpsstraat" in out.getvalue()
    processed = process_image(out.getvalue(), "images")
    assert processed.extension == "png"
    assert b"Dorpsstraat" not in processed.data
    assert Image.open(io.BytesIO(processed.data)).mode == "RGBA"


def test_webp_and_animated_gif() -> None:
    out = io.BytesIO()
    Image.new("RGB", (2400, 1200), (10, 200, 10)).save(out, "WEBP")
    webp = process_image(out.getvalue(), "images")
    assert webp.extension == "webp" and (webp.width, webp.height) == (1600, 800)
    frames = [Image.new("RGB", (800, 800), (i * 40, 0, 0)) for i in range(3)]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    gif = process_image(out.getvalue(), "avatars")
    assert gif.extension == "gif"
    shrunk = Image.open(io.BytesIO(gif.data))
    assert shrunk.size == (512, 512) and getattr(shrunk, "n_frames", 1) == 3


def test_broken_and_bomb_images_are_refused() -> None:
    with pytest.raises(ServiceError) as broken:
        process_image(b"\x89PNG\r\n\x1a\n" + b"rubbish" * 10, "avatars")
    assert broken.value.field == "avatar"

    # A PNG header claiming 20000 x 20000 pixels: a few bytes that would unpack to 1.2 GB.
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 20_000, 20_000, 8, 2, 0, 0, 0)
    bomb = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 1000)) + chunk(b"IEND", b""))
    with pytest.raises(ServiceError) as refused:
        process_image(bomb, "images", field="image")
    assert refused.value.field == "image"
    assert str(MAX_PIXELS // 1_000_000) in str(refused.value.values.get("count", ""))


def noise_png(size_bytes: int) -> bytes:
    """A PNG of random pixels (incompressible) of at least ``size_bytes``."""
    side = int((size_bytes / 3) ** 0.5) + 10
    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(out, "PNG")
    return out.getvalue()


async def test_avatar_is_stored_re_encoded(app: Any, client: Any) -> None:
    await make_person(app, "fatima")
    await login(client, "fatima")
    html = await (await client.get("/settings/profile")).get_data(as_text=True)
    fields = [("csrf_token", csrf_from(html)), ("display_name", "Fatima"), ("bio", ""),
              ("location", ""), ("talents", "")]
    body, headers = multipart(fields, [("avatar", "IMG_0001.JPG", "image/jpeg", phone_photo())])
    response = await client.post("/settings/profile", data=body, headers=headers)
    assert response.status_code == 302, await response.get_data(as_text=True)
    actor = await get_actor(app, "fatima")
    assert actor.avatar_path and actor.avatar_path.endswith(".jpg")
    stored = (app.state.settings.uploads_dir / actor.avatar_path).read_bytes()
    assert b"Phone 15" not in stored
    assert Image.open(io.BytesIO(stored)).size == (384, 512)
    served = await client.get(f"/media/{actor.avatar_path}")
    assert served.status_code == 200 and await served.get_data() == stored


async def test_oversize_photo_comes_back_on_the_form(settings: Settings) -> None:
    """Over FEDI_MAX_UPLOAD_MB (1 MB here): the editor again, with the message next to the
    field and every typed value kept; no bare 413 page."""
    app = create_app(settings.with_changes(max_avatar_bytes=1_000_000))
    await app.state.db.upgrade()
    async with app.test_app():
        client = app.test_client()
        await make_person(app, "fatima")
        await login(client, "fatima")
        html = await (await client.get("/settings/profile")).get_data(as_text=True)
        assert 'data-max-bytes="1000000"' in html
        fields = [("csrf_token", csrf_from(html)), ("display_name", "Fatima el Amrani"),
                  ("bio", "Mijn café aan het **Plein**, al twintig jaar."),
                  ("location", "Den Haag"), ("talents", "horeca, terrassen")]
        photo = noise_png(1_500_000)
        assert 1_000_000 < len(photo) < 2_000_000
        body, headers = multipart(fields, [("avatar", "IMG_0002.PNG", "image/png", photo)])
        response = await client.post("/settings/profile", data=body, headers=headers)
        page = await response.get_data(as_text=True)
        assert response.status_code == 400
        assert "De afbeelding is te groot (hoogstens 1 MB)." in page
        assert 'id="f-avatar"' in page and 'aria-invalid="true"' in page
        for typed in ("Fatima el Amrani", "Mijn café aan het **Plein**, al twintig jaar.",
                      "Den Haag", "horeca, terrassen"):
            assert typed in page, typed
        assert (await get_actor(app, "fatima")).avatar_path is None

        # Far beyond the limit the body is not read at all; the page says how to get the
        # form back rather than a bare status.
        huge = b"\x89PNG\r\n\x1a\n" + b"\x00" * 2_100_000
        body, headers = multipart(fields, [("avatar", "huge.png", "image/png", huge)])
        response = await client.post("/settings/profile", data=body, headers=headers)
        assert response.status_code == 413
        assert "wat je hebt ingevuld staat nog in het formulier" in (
            await response.get_data(as_text=True)
        )


async def test_oversize_initiative_image_keeps_the_new_initiative_form(
    settings: Settings,
) -> None:
    """Starting an initiative with a too large photo: the form again with its message,
    name and summary kept, and no half-made initiative."""
    from tribe_helpers import make_tribe

    app = create_app(settings.with_changes(max_avatar_bytes=1_000_000))
    await app.state.db.upgrade()
    async with app.test_app():
        client = app.test_client()
        await make_person(app, "fatima")
        await make_tribe(app, "plein", "fatima")
        await login(client, "fatima")
        url = "/tribes/plein/initiatives/new"
        html = await (await client.get(url)).get_data(as_text=True)
        fields = [("csrf_token", csrf_from(html)), ("name", "Bankjes voor het plein"),
                  ("summary", "Tien bankjes, door buren getimmerd."), ("phase", "idea"),
                  ("visibility", "public"), ("budget_type", "none")]
        body, headers = multipart(
            fields, [("image", "IMG_0003.PNG", "image/png", noise_png(1_500_000))]
        )
        response = await client.post(url, data=body, headers=headers)
        page = await response.get_data(as_text=True)
        assert response.status_code == 400
        assert "De afbeelding is te groot (hoogstens 1 MB)." in page
        assert "Bankjes voor het plein" in page
        assert "Tien bankjes, door buren getimmerd." in page
        listing = await (await client.get("/tribes/plein/initiatives")).get_data(as_text=True)
        assert "Bankjes voor het plein" not in listing
