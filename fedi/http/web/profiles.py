"""People: the directory, profile pages and the profile editor.

The routes read forms and show results; the rules are in ``fedi.domain.profiles`` and
``fedi.domain.talents``. ``/@<name>`` also answers ActivityPub requests with the actor
document, like Mastodon's profile URLs do.
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, abort, flash, g, redirect, request, url_for
from werkzeug.wrappers.response import Response as BaseResponse

from fedi.domain import follows, profile_overview, profiles
from fedi.domain.account_suspension import find_suspended_local_person
from fedi.domain.errors import ServiceError
from fedi.domain.media import check_image, human_size
from fedi.domain.talents import (
    MAX_TALENTS,
    ensure_talents_loaded,
    normalise_talent,
    suggest_talents,
    talent_cloud,
)
from fedi.http.ap.actors import person_response, wants_activity_json
from fedi.http.web.auth import Page, field_errors, login_required
from fedi.http.web.discover import phase_names
from fedi.http.web.render import _, render
from fedi.state import get_state
from fedi.text import plain_text
from models import Actor

blueprint = Blueprint("profiles", __name__)

PAGE_SIZE = 60


@blueprint.app_template_global("avatar_src")
def avatar_src(actor: Actor) -> str | None:
    """The avatar URL of ``actor`` for templates (None when there is none)."""
    return profiles.avatar_url(get_state().settings, actor)


@blueprint.app_template_global("plain_text")
def plain_text_global(html: str, limit: int | None = None) -> str:
    """The text of an HTML fragment, for meta descriptions and previews."""
    return plain_text(html, limit)


@blueprint.app_template_global("language_name")
def language_name(code: str) -> str:
    """The name of a language code in that language (or the code itself)."""
    return profiles.LANGUAGES.get(code, code)


@blueprint.get("/people")
async def people() -> Page:
    """The people directory: everyone here, by talent or by name."""
    talent = normalise_talent(request.args.get("talent", ""))[:64]
    q = request.args.get("q", "").strip()[:100]
    try:
        page = max(1, int(request.args.get("page", "1")))
    except ValueError:
        page = 1
    state = get_state()
    async with state.db.session() as db:
        found = await profiles.list_people(
            db, talent=talent, q=q, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE
        )
        cloud = await talent_cloud(db)
    has_next = len(found) > PAGE_SIZE
    return await render(
        "profiles/people.html",
        people=found[:PAGE_SIZE],
        cloud=cloud,
        talent=talent,
        q=q,
        page=page,
        has_next=has_next,
    )


@blueprint.get("/@<username>")
async def show(username: str) -> Page | Response | BaseResponse:
    """A person's profile page (or their actor document for ActivityPub clients)."""
    if wants_activity_json():
        return await person_response(username)
    state = get_state()
    async with state.db.session() as db:
        person = await profiles.find_local_person(db, username)
        if person is None:
            # Suspended (issue 12): 410 Gone, as Mastodon answers, but reversible.
            abort(410 if await find_suspended_local_person(db, username) else 404)
        await ensure_talents_loaded(db, person)
        viewer = g.user.actor if g.user is not None else None
        relation = await follows.follow_state(db, viewer, person)
        # Their tribes, initiatives, contributions and ratings (issue 11).
        work = await profile_overview.overview(db, person, viewer)
    if person.username != username:
        # One canonical address per profile (names are stored in lower case).
        return redirect(url_for("profiles.show", username=person.username), 301)
    user = g.user
    body, status = await render(
        "profiles/show.html",
        person=person,
        links=profiles.stored_links(person),
        is_owner=user is not None and user.actor_id == person.id,
        follow_state=relation,
        work=work,
        phases=phase_names(),
    )
    response = Response(body, status=status, content_type="text/html; charset=utf-8")
    # The same URL serves JSON to servers: caches must keep the two apart.
    response.headers["Vary"] = "Accept"
    return response


def _form_values(actor: Actor) -> dict[str, Any]:
    """The editor's field values from a saved profile."""
    links = [(link.label, link.url) for link in profiles.stored_links(actor)]
    links += [("", "")] * (profiles.MAX_LINKS - len(links))
    return {
        "display_name": actor.display_name,
        "bio": actor.bio_source,
        "location": actor.location,
        "languages": list(actor.languages or []),
        "links": links,
        "talents": ", ".join(talent.tag for talent in actor.talents),
    }


async def _submitted_values() -> dict[str, Any]:
    """The editor's field values as submitted."""
    form = await request.form
    links = [
        (form.get(f"link_label_{i}", ""), form.get(f"link_url_{i}", ""))
        for i in range(profiles.MAX_LINKS)
    ]
    return {
        "display_name": form.get("display_name", ""),
        "bio": form.get("bio", ""),
        "location": form.get("location", ""),
        "languages": form.getlist("languages"),
        "links": links,
        "talents": form.get("talents", ""),
        "remove_avatar": form.get("remove_avatar") == "1",
    }


async def _render_editor(
    actor: Actor, values: dict[str, Any], errors: dict[str, str], status: int = 200
) -> Page:
    state = get_state()
    async with state.db.session() as db:
        suggestions = await suggest_talents(db, limit=30)
    return await render(
        "profiles/edit.html",
        status=status,
        person=actor,
        values=values,
        errors=errors,
        languages=list(profiles.LANGUAGES.items()),
        rtl_languages=profiles.RTL_LANGUAGES,
        suggestions=suggestions,
        limits={
            "display_name": profiles.MAX_DISPLAY_NAME,
            "bio": profiles.MAX_BIO,
            "location": profiles.MAX_LOCATION,
            "links": profiles.MAX_LINKS,
            "talents": MAX_TALENTS,
            "avatar": human_size(state.settings.max_avatar_bytes),
        },
    )


async def _editor_with_errors(
    actor_id: int, values: dict[str, Any], errors: dict[str, str]
) -> Page:
    """Show the editor again with what was typed and what is wrong (HTTP 400)."""
    async with get_state().db.session() as db:
        actor = await db.get(Actor, actor_id)
        if actor is None:
            abort(404)
        await ensure_talents_loaded(db, actor)
    return await _render_editor(actor, values, errors, status=400)


@blueprint.route("/settings/profile", methods=["GET", "POST"], endpoint="edit")
@login_required
async def edit() -> Page | Response | BaseResponse:
    """Edit your own profile: name, bio, place, languages, links, talents and avatar."""
    state = get_state()
    actor_id = g.user.actor_id
    if request.method == "GET":
        async with state.db.session() as db:
            actor = await db.get(Actor, actor_id)
            if actor is None:
                abort(404)
            await ensure_talents_loaded(db, actor)
        return await _render_editor(actor, _form_values(actor), {})

    values = await _submitted_values()
    files = await request.files
    upload = files.get("avatar")
    # Read one byte past the limit: enough to tell "too large" without buffering more.
    data = upload.read(state.settings.max_avatar_bytes + 1) if upload is not None else b""
    errors: dict[str, str] = {}
    for problem in profiles.check_profile_fields(
        display_name=values["display_name"], bio=values["bio"], location=values["location"],
        languages=values["languages"], links=values["links"], talents=values["talents"],
    ):
        errors.update(field_errors(problem))
    if data and not values["remove_avatar"]:
        try:
            check_image(data, state.settings.max_avatar_bytes)
        except ServiceError as problem:
            errors.update(field_errors(problem))
    if errors:
        return await _editor_with_errors(actor_id, values, errors)
    try:
        async with state.db.session() as db:
            actor = await db.get(Actor, actor_id)
            if actor is None:
                abort(404)
            await profiles.update_profile(
                db,
                state.settings,
                actor,
                display_name=values["display_name"],
                bio=values["bio"],
                location=values["location"],
                languages=values["languages"],
                links=values["links"],
                talents=values["talents"],
            )
            if values["remove_avatar"]:
                await profiles.remove_avatar(db, state.settings, actor)
            elif data:
                await profiles.set_avatar(db, state.settings, actor, data)
            username = actor.username
    except ServiceError as error:
        return await _editor_with_errors(actor_id, values, field_errors(error))
    await flash(_("Your profile has been saved."), "success")
    return redirect(url_for("profiles.show", username=username))
