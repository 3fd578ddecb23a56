"""The notification settings page: a switch per kind and channel, and the digest frequency."""

from __future__ import annotations

from fedi.domain import notifications
from fedi.state import FediApp
from tests.tribe_helpers import actor_named, login, make_person, make_remote, post_form


async def test_the_settings_page_switches_channels_and_the_digest_frequency(
    app: FediApp,
) -> None:
    await make_person(app, "ann")
    client = app.test_client()
    await login(client, "ann")
    page = await (await client.get("/notifications/settings")).get_data(as_text=True)
    # Defaults: a join request is mailed at once, a like waits for the digest.
    assert ('name="tribe_join_requested-email" '
            'aria-labelledby="k-tribe_join_requested h-email" checked') in page
    assert 'name="like-email" aria-labelledby="k-like h-email">' in page
    assert 'name="like-digest" aria-labelledby="k-like h-digest" checked' in page
    assert 'value="daily" checked' in page
    assert "Meteen per e-mail" in page and "bevestigd" in page  # unconfirmed address
    saved = await post_form(client, "/notifications/settings", {
        "like-app": "on", "like-email": "on", "mention-app": "on",
        "digest_frequency": "weekly",
    })
    assert saved.status_code == 303
    async with app.state.db.session() as db:
        ann = await actor_named(db, "ann")
        current = await notifications.settings_of(db, ann)
        assert current["like"].channels == {"in_app": True, "email": True, "digest": False}
        assert current["mention"].channels == {"in_app": True, "email": False, "digest": False}
        assert not current["reply"].any_on()
        assert await notifications.digest_frequency(db, ann) == "weekly"
        # A kind switched off everywhere stores nothing; e-mail alone marks for mailing.
        assert await notifications.notify(db, [ann], "reply") == []
        [like] = await notifications.notify(db, [ann], "like")
        assert like.email_pending


async def test_new_kinds_read_as_sentences_in_the_app(app: FediApp) -> None:
    await make_person(app, "ann")
    await make_remote(app, "rik")
    async with app.state.db.session() as db:
        ann = await actor_named(db, "ann")
        rik = await actor_named(db, "rik", "remote.example")
        await notifications.notify(db, [ann], "boost", by=rik, payload={
            "excerpt": "Koffie om tien", "url": "http://localhost:8000/@ann/1",
        })
        await notifications.notify(db, [ann], "tribe_join_requested", by=rik, payload={
            "tribe": "De Buurt", "slug": "buurt",
        })
    client = app.test_client()
    await login(client, "ann")
    page = await (await client.get("/notifications")).get_data(as_text=True)
    assert "heeft je bericht gedeeld: Koffie om tien" in page
    assert 'href="/tribes/buurt/members"' in page and "vraagt om lid te worden van De Buurt" in page
