"""Profile pages, the people directory, the profile editor and serving avatars."""

from __future__ import annotations

import itertools
import re
from typing import Any

from profile_helpers import (
    csrf_from,
    get_actor,
    login,
    make_person,
    multipart,
    png_bytes,
)

FULL_PROFILE: dict[str, Any] = {
    "display_name": "Fatima el Amrani",
    "bio": "Café aan het **Plein** in Den Haag.",
    "location": "Den Haag",
    "languages": ["nl", "ar"],
    "links": [("Café", "https://cafe.example/")],
    "talents": "horeca, terrassen",
}


def form_fields(csrf: str, **changes: Any) -> list[tuple[str, str]]:
    values: dict[str, Any] = {
        "display_name": "Fatima el Amrani",
        "bio": "Ik heb een **café**.\n\n## Wat ik doe\n\nTerrassen.",
        "location": "Den Haag",
        "languages": ["nl", "fr"],
        "talents": "Horeca, terrassen , ondernemen",
        "link_label_0": "Café",
        "link_url_0": "https://cafe.example/",
        "link_label_1": "",
        "link_url_1": "https://fatima.example/",
    }
    values.update(changes)
    fields = [("csrf_token", csrf)]
    for key, value in values.items():
        if isinstance(value, list):
            fields += [(key, item) for item in value]
        else:
            fields.append((key, value))
    return fields


async def test_profile_page_shows_the_profile(app: Any, client: Any) -> None:
    await make_person(app, "fatima", **FULL_PROFILE)
    response = await client.get("/@fatima")
    html = await response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.headers["Vary"] == "Accept"
    assert re.search(r'<h1 id="profile-name"[^>]*>Fatima el Amrani</h1>', html)
    assert "@fatima@localhost:8000" in html
    assert "<p>Café aan het <strong>Plein</strong> in Den Haag.</p>" in html
    assert "Den Haag" in html
    assert '<li lang="ar">العربية</li>' in html and '<li lang="nl">Nederlands</li>' in html
    assert (
        '<a href="https://cafe.example/" rel="me nofollow noopener" target="_blank">Café</a>'
        in html
    )
    assert 'href="/people?talent=horeca"' in html and 'href="/people?talent=terrassen"' in html
    assert "Talenten" in html  # Dutch by default
    assert 'type="application/activity+json" href="http://localhost:8000/users/fatima"' in html
    assert "Profiel bewerken" not in html  # only the owner sees the edit link
    # Heading order: one h1, then h2 sections.
    levels = [int(n) for n in re.findall(r"<h([1-6])", html)]
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(b - a <= 1 for a, b in itertools.pairwise(levels))


async def test_profile_page_not_found(app: Any, client: Any) -> None:
    await make_person(app, "wachtend", approved=False)
    for path in ("/@niemand", "/@wachtend"):
        response = await client.get(path)
        assert response.status_code == 404, path


async def test_directory_filters_and_cloud(app: Any, client: Any) -> None:
    await make_person(app, "fatima", display_name="Fatima el Amrani", talents="horeca, terrassen")
    await make_person(app, "henk", display_name="Henk de Vries", talents="groen, terrassen")
    everyone = await (await client.get("/people")).get_data(as_text=True)
    assert "Fatima el Amrani" in everyone and "Henk de Vries" in everyone
    assert "Talenten op deze server" in everyone or "terrassen" in everyone
    assert '<span class="count">(2)</span>' in everyone  # terrassen is listed twice
    by_talent = await (await client.get("/people?talent=Groen")).get_data(as_text=True)
    assert "Henk de Vries" in by_talent and "Fatima el Amrani" not in by_talent
    assert "Mensen met het talent groen" in by_talent
    by_name = await (await client.get("/people?q=amrani")).get_data(as_text=True)
    assert "Fatima el Amrani" in by_name and "Henk de Vries" not in by_name
    nobody = await (await client.get("/people?q=zzz")).get_data(as_text=True)
    assert "Niemand gevonden." in nobody
    hostile = await client.get("/people?talent=<script>&q=\"><script>alert(1)</script>&page=x")
    assert hostile.status_code == 200
    assert "<script>alert(1)" not in await hostile.get_data(as_text=True)


async def test_editor_needs_login(app: Any, client: Any) -> None:
    response = await client.get("/settings/profile")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/settings/profile"


async def test_edit_profile_with_avatar(app: Any, client: Any) -> None:
    settings = app.state.settings
    await make_person(app, "fatima")
    await make_person(app, "henk", talents="groen, horeca")
    await login(client, "fatima")
    page = await client.get("/settings/profile")
    html = await page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'enctype="multipart/form-data"' in html
    assert '<datalist id="talent-suggestions">' in html and '<option value="groen">' in html
    assert '<label for="f-display_name">' in html and '<label for="f-avatar">' in html

    body, headers = multipart(
        form_fields(csrf_from(html)), [("avatar", "foto.png", "image/png", png_bytes())]
    )
    saved = await client.post("/settings/profile", data=body, headers=headers)
    assert saved.status_code == 302, await saved.get_data(as_text=True)
    assert saved.headers["Location"] == "/@fatima"

    actor = await get_actor(app, "fatima")
    assert actor.languages == ["nl", "fr"]
    assert [t.tag for t in actor.talents] == ["horeca", "ondernemen", "terrassen"]
    assert actor.links == [
        {"label": "Café", "url": "https://cafe.example/"},
        {"label": "fatima.example", "url": "https://fatima.example/"},
    ]
    assert "<h4>Wat ik doe</h4>" in actor.bio_html
    assert actor.avatar_path and actor.avatar_path.endswith(".png")

    profile = await (await client.get("/@fatima")).get_data(as_text=True)
    assert "Je profiel is opgeslagen." in profile
    assert "Profiel bewerken" in profile
    assert f'src="http://localhost:8000/media/{actor.avatar_path}"' in profile
    assert 'alt="Profielfoto van Fatima el Amrani"' in profile

    image = await client.get(f"/media/{actor.avatar_path}")
    assert image.status_code == 200
    assert image.headers["Content-Type"] == "image/png"
    assert image.headers["X-Content-Type-Options"] == "nosniff"
    assert "max-age=31536000" in image.headers["Cache-Control"]
    # Stored re-encoded (fedi/domain/image_processing.py): a PNG of the same 2x2 pixels.
    served = await image.get_data()
    assert served.startswith(b"\x89PNG") and served[16:24] == png_bytes()[16:24]

    # Remove the avatar again: the file goes too.
    html = await (await client.get("/settings/profile")).get_data(as_text=True)
    assert 'name="remove_avatar"' in html
    body, headers = multipart(form_fields(csrf_from(html), remove_avatar="1"))
    assert (await client.post("/settings/profile", data=body, headers=headers)).status_code == 302
    assert (await get_actor(app, "fatima")).avatar_path is None
    assert not (settings.uploads_dir / actor.avatar_path).exists()
    assert (await client.get(f"/media/{actor.avatar_path}")).status_code == 404


async def test_editor_shows_every_error_and_keeps_input(app: Any, client: Any) -> None:
    await make_person(app, "fatima", **FULL_PROFILE)
    await login(client, "fatima")
    html = await (await client.get("/settings/profile")).get_data(as_text=True)
    fields = form_fields(
        csrf_from(html), display_name="Nieuwe naam", location="x" * 101,
        link_url_0="javascript:alert(1)", talents="ok, " + "t" * 41,
    )
    body, headers = multipart(
        fields, [("avatar", "kat.png", "image/png", b"this is text, not a PNG")]
    )
    response = await client.post("/settings/profile", data=body, headers=headers)
    html = await response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'role="alert"' in html
    for field in ("location", "links", "talents", "avatar"):
        assert f'href="#f-{field}"' in html, field
    assert "Upload een afbeelding in PNG, JPEG, GIF of WebP." in html
    assert "Een link moet een webadres zijn" in html
    assert 'value="Nieuwe naam"' in html  # what was typed is kept
    assert 'aria-invalid="true"' in html
    actor = await get_actor(app, "fatima")
    assert actor.display_name == "Fatima el Amrani"
    assert actor.avatar_path is None
    avatars = app.state.settings.uploads_dir / "avatars"
    assert not avatars.exists() or not any(avatars.iterdir())


async def test_editor_refuses_oversize_avatar_and_missing_csrf(app: Any, client: Any) -> None:
    await make_person(app, "fatima")
    await login(client, "fatima")
    html = await (await client.get("/settings/profile")).get_data(as_text=True)
    big = png_bytes() + b"\x00" * app.state.settings.max_avatar_bytes
    body, headers = multipart(form_fields(csrf_from(html)), [("avatar", "a.png", "image/png", big)])
    response = await client.post("/settings/profile", data=body, headers=headers)
    assert response.status_code == 400
    assert "De afbeelding is te groot (hoogstens 20 MB)." in await response.get_data(as_text=True)
    body, headers = multipart(form_fields("not-the-token"))
    assert (await client.post("/settings/profile", data=body, headers=headers)).status_code == 400


async def test_media_serves_only_stored_names(app: Any, client: Any) -> None:
    uploads = app.state.settings.uploads_dir
    (uploads / "avatars").mkdir(parents=True)
    (uploads / "avatars" / "evil.html").write_text("<script>alert(1)</script>")
    (uploads / "avatars" / ("a" * 32 + ".svg")).write_text("<svg/>")
    for path in (
        "/media/avatars/evil.html",
        "/media/avatars/" + "a" * 32 + ".svg",
        "/media/../secret_key",
        "/media/avatars/..%2F..%2Fsecret_key",
        "/media/avatars/" + "b" * 32 + ".png",
    ):
        response = await client.get(path)
        assert response.status_code == 404, path
