"""Tribe pages: the directory, creating a tribe, its about, members, invitations, settings,
moderation and activity pages, and the instance setting for who may create tribes.

The routes read forms and show results; every rule is in ``fedi.domain.tribes`` and its
siblings. Failed actions come back as a flash message on the page they came from; things a
person may not see or do at all answer 403/404. ``/tribes/<slug>`` is also the ``Group``
actor's id: the tribes federation code answers ActivityPub requests there.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from types import MappingProxyType
from typing import Any, cast

from markupsafe import Markup, escape
from quart import Blueprint, Response, abort, flash, g, redirect, request, url_for
from sqlalchemy.ext.asyncio import AsyncSession

from fedi.domain import (
    follows,
    initiative_lists,
    remote_tribe_view,
    tribe_activity,
    tribe_invites,
    tribe_members,
    tribe_moderation,
    tribes,
)
from fedi.domain.errors import Forbidden, NotFound, ServiceError
from fedi.domain.media import human_size
from fedi.domain.profiles import LANGUAGES
from fedi.domain.tribe_access import Standing, membership, role_at_least, role_of, standing
from fedi.federation.outgoing import tribe_distribution
from fedi.federation.remote.actors import resolve_handle
from fedi.http.ap.actors import wants_activity_json
from fedi.http.ap.groups import group_actor_response, members_response
from fedi.http.web import tribe_page_data as page_data
from fedi.http.web.activity_text import update_sentence
from fedi.http.web.admin import admin_required
from fedi.http.web.auth import (
    Page,
    ViewResult,
    field_errors,
    login_redirect,
    login_required,
    no_store,
)
from fedi.http.web.cache import public_page
from fedi.http.web.errors import error_page
from fedi.http.web.initiatives import phase_labels
from fedi.http.web.render import _, current_locale, render
from fedi.http.web.request_db import request_session
from fedi.state import Slot, get_state
from models import Actor, Tribe, TribeEvent

blueprint = Blueprint("tribes", __name__)

PAGE_SIZE = 60
MEMBERS_PAGE_SIZE = 100
# The tribe page shows the newest few initiatives and posts, and the core team.
RECENT_INITIATIVES = 6
RECENT_POSTS = 10
TEAM_LIMIT = 20
EDIT_FIELDS = (
    "name", "theme", "description", "tags", "location", "language", "initiative_policy",
    "budget_available", "target_area", "join_mode",
)


# ------------------------------------------------------------------ labels and helpers


def join_mode_labels() -> dict[str, str]:
    """The join modes in the reader's language."""
    return {
        "open": _("Open: anyone can join at once"),
        "approval": _("Approval: admins approve every request to join"),
        "invite": _("Invitation only: only invited people can join"),
    }


def policy_labels() -> dict[str, str]:
    """Who may start initiatives, in the reader's language."""
    return {
        "anyone": _("Anyone"),
        "members": _("Members of the tribe"),
        "admins": _("Admins of the tribe"),
    }


def role_labels() -> dict[str, str]:
    """The roles in the reader's language."""
    return {"admin": _("Admin"), "moderator": _("Core team"), "member": _("Member")}


# The labels above by (function, locale), made once per app: every tribe page shows them.
LABELS: Slot[dict[tuple[str, str], Mapping[str, str]]] = Slot("tribe_labels")


def _kept_labels(make: Callable[[], dict[str, str]]) -> Mapping[str, str]:
    """``make()`` in the reader's language, made once per language (read-only)."""
    state = get_state()
    kept = state.get(LABELS)
    if kept is None:
        kept = {}
        state.put(LABELS, kept)
    key = (make.__name__, current_locale())
    found = kept.get(key)
    if found is None:
        found = kept[key] = MappingProxyType(make())
    return found


def event_label(event: TribeEvent) -> str:
    """One line of the tribe's history."""
    who = event.subject.name if event.subject is not None else _("Someone")
    texts = {
        "created": _("%(name)s started the tribe", name=who),
        "updated": _("The tribe's details were changed"),
        "joined": _("%(name)s joined", name=who),
        "requested": _("%(name)s asked to join", name=who),
        "approved": _("%(name)s was admitted", name=who),
        "rejected": _("The request of %(name)s was declined", name=who),
        "invited": _("%(name)s was invited", name=who),
        "declined": _("%(name)s declined the invitation", name=who),
        "left": _("%(name)s left", name=who),
        "removed": _("%(name)s was removed", name=who),
        "role": _("The role of %(name)s changed", name=who),
        "blocked": _("Someone was blocked"),
        "unblocked": _("A block was lifted"),
    }
    return texts.get(event.kind, event.kind)


def _viewer() -> Actor | None:
    user = g.user
    return user.actor if user is not None else None


async def _flash_error(error: ServiceError) -> None:
    await flash(_(error.message, **error.values), "error")


def _redirect(location: str, code: int = 303) -> Response:
    """A redirect typed as Quart's response (``quart.redirect`` is typed as Werkzeug's)."""
    return cast(Response, redirect(location, code))


def _back(default: str) -> Response:
    return _redirect(default)


async def _load(db: AsyncSession, slug: str) -> Tribe:
    try:
        return await tribes.get_tribe(db, slug)
    except NotFound:
        abort(404)


async def _load_local(db: AsyncSession, slug: str) -> Tribe:
    """A tribe of this server; 404 for a tribe on another server (its members, settings,
    invitations and moderation are that server's business)."""
    tribe = await _load(db, slug)
    if not tribe.actor.local:
        abort(404)
    return tribe


async def _tribe_context(
    db: AsyncSession, tribe: Tribe, known: Standing | None = None
) -> dict[str, Any]:
    """What every tribe page shows: counts, the viewer's membership and role.

    A tribe on another server (``remote``) has no admins here: its admin controls live on
    its own server. ``known`` is the viewer's standing when the page read it already.
    """
    viewer = _viewer()
    remote = not tribe.actor.local
    if viewer is None or remote:
        member = None
    elif known is not None:
        member = known.member
    else:
        member = await membership(db, tribe, viewer)
    role = member.role if member is not None and member.state == "active" else None
    # The initiatives counted as this viewer sees them, by the rule of the lists (issue 11).
    seen_by = await initiative_lists.viewer_in(
        db, tribe, viewer, role=False if remote else role,
        blocked=known.blocked if known is not None else None,
    )
    counts = await page_data.counts(db, tribe, seen_by)
    return {
        "tribe": tribe,
        "remote": remote,
        "counts": counts,
        "seen_by": seen_by,
        "viewer_member": member,
        "role": role,
        "is_admin": role == "admin",
        "is_moderator": role_at_least(role, "moderator"),
        "image_url": tribe.actor.icon_url if remote else tribes.image_url(
            get_state().settings, tribe
        ),
        "join_modes": _kept_labels(join_mode_labels),
        "policies": _kept_labels(policy_labels),
        "roles": _kept_labels(role_labels),
    }


async def _act(
    slug: str,
    work: Callable[[AsyncSession, Tribe, Actor], Awaitable[str | None]],
    back: str,
    *,
    remote_ok: bool = False,
) -> Response:
    """Run a form action for the logged-in person on a tribe, then go back with a message.

    Forbidden answers 403 and a missing thing 404 (nothing to go back to); any other broken
    rule is flashed on the page the form came from.
    """
    if g.user is None:
        return login_redirect()
    state = get_state()
    try:
        async with state.db.session() as db:
            tribe = await (_load(db, slug) if remote_ok else _load_local(db, slug))
            message = await work(db, tribe, g.user.actor)
    except (Forbidden, NotFound) as exc:
        return await error_page(exc)
    except ServiceError as exc:
        await _flash_error(exc)
        return _back(back)
    if message:
        await flash(message, "success")
    return _back(back)


def _page_number() -> int:
    """The ``page`` of the query string (1 when missing or not a number)."""
    try:
        return max(1, min(int(request.args.get("page", "1")), 100_000))
    except ValueError:
        return 1


async def _form_int(name: str) -> int | None:
    form = await request.form
    try:
        return int(form.get(name, ""))
    except ValueError:
        return None


# ------------------------------------------------------------------ directory and creation


@blueprint.get("/tribes")
async def directory() -> Page:
    """All tribes, searchable by name, theme or place, and by tag."""
    q = request.args.get("q", "").strip()[:100]
    tag = request.args.get("tag", "").strip().lower()[:64]
    page = _page_number()
    state = get_state()
    async with state.db.session() as db:
        await page_data.claim_invites(db)
        found = await tribes.list_tribes(
            db, q=q, tag=tag, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE
        )
        counts = {tribe.id: await tribes.tribe_counts(db, tribe) for tribe in found}
        cloud = await tribes.tag_cloud(db)
        may_create = await tribes.may_create_tribe(db, g.user)
        mine = await tribe_members.tribes_of(db, g.user.actor) if g.user is not None else []
    return await render(
        "tribes/directory.html", tribes=found[:PAGE_SIZE], counts=counts, cloud=cloud, q=q,
        tag=tag, page=page, has_next=len(found) > PAGE_SIZE, may_create=may_create, mine=mine,
        roles=role_labels(),
    )


def _field_options() -> dict[str, Any]:
    return {
        "join_modes": join_mode_labels(),
        "policies": policy_labels(),
        "languages": [("", _("Not set")), *sorted(LANGUAGES.items(), key=lambda i: i[1])],
    }


@blueprint.route("/tribes/new", methods=["GET", "POST"])
@login_required
async def new() -> ViewResult:
    """Start a new tribe (who may is an instance setting)."""
    state = get_state()
    async with state.db.session() as db:
        if not await tribes.may_create_tribe(db, g.user):
            abort(403)
    if request.method == "GET":
        values = {"join_mode": "open", "initiative_policy": "members", "language": "nl"}
        return await render("tribes/new.html", values=values, errors={}, **_field_options())
    form = await request.form
    values = {key: form.get(key, "") for key in ("slug", *EDIT_FIELDS)}
    try:
        async with state.db.session() as db:
            tribe = await tribes.create_tribe(
                db, state.settings, g.user.actor,
                slug=values["slug"], **{key: values[key] for key in EDIT_FIELDS},
            )
            slug = tribe.slug
    except ServiceError as exc:
        return await render(
            "tribes/new.html", status=exc.status, values=values, errors=field_errors(exc),
            **_field_options(),
        )
    await flash(_("Your tribe has been created. Invite people to join!"), "success")
    return _redirect(url_for("tribes.show", slug=slug), 303)


# ------------------------------------------------------------------ about, join, leave


@blueprint.get("/tribes/<slug>")
async def show(slug: str) -> ViewResult:
    """The tribe's about page: description, rules, numbers, its newest initiatives and the
    join/leave button. For a tribe on another server: what we know of it here.

    An anonymous visitor's copy is public and may be kept briefly (``fedi.http.web.cache``).
    """
    if wants_activity_json():  # the Group actor's id: JSON for servers (tribes federation)
        return await group_actor_response(slug)
    public_page()
    viewer = _viewer()
    async with request_session() as db:
        tribe = await _load(db, slug)
        if tribe.slug != slug:
            return _redirect(url_for("tribes.show", slug=tribe.slug), 301)
        await page_data.claim_invites(db)
        # The viewer's membership and whether the tribe blocks them, asked once for the
        # frame, the visibility of initiatives and the "start an initiative" rule.
        known = await standing(db, tribe, viewer) if viewer is not None else None
        context = await _tribe_context(db, tribe, known)
        seen_by = context["seen_by"]
        # Only the newest few: a tribe may hold a thousand initiatives (paged on their page).
        context["initiatives"] = await page_data.newest(
            db, tribe, seen_by, limit=RECENT_INITIATIVES
        )
        context["may_start_initiative"] = await tribes.may_start_initiative(
            db, tribe, viewer, known=known
        )
        if context["remote"]:
            context.update(await _remote_context(db, tribe, viewer))
            template = "tribes/remote.html"
        else:
            context["team"] = await page_data.team(db, tribe, limit=TEAM_LIMIT)
            context["description"] = page_data.meta_description(tribe.description_html)
            template = "tribes/show.html"
    context["phases"] = _kept_labels(phase_labels)
    body, status = await render(template, **context)
    response = Response(body, status=status, content_type="text/html; charset=utf-8")
    # The same URL is the Group actor's id and serves JSON to servers.
    response.headers["Vary"] = "Accept"
    return response


async def _remote_context(db: AsyncSession, tribe: Tribe, viewer: Actor | None) -> dict[str, Any]:
    """What the page of a tribe on another server shows: what this server holds of it."""
    group = tribe.actor
    return {
        "origin_url": group.url or group.ap_id,
        "origin_host": group.domain,
        "follow_state": await follows.follow_state(db, viewer, group),
        "local_members": await remote_tribe_view.local_members(db, tribe, limit=TEAM_LIMIT),
        "local_member_count": await remote_tribe_view.count_local_members(db, tribe),
        "posts": await remote_tribe_view.boosted_posts(db, tribe, limit=RECENT_POSTS),
    }


@blueprint.post("/tribes/<slug>/join")
async def join(slug: str) -> Response:
    """Join an open tribe, ask to join an approval tribe, or accept an invitation."""
    form = await request.form
    message = form.get("message", "")

    async def work(db: AsyncSession, tribe: Tribe, actor: Actor) -> str:
        if not tribe.actor.local:
            return await _follow_remote(db, tribe, actor)
        member = await tribe_members.join(db, get_state().settings, tribe, actor, message=message)
        if member.state == "pending":
            return _("Your request has been sent to the admins of %(name)s.", name=tribe.name)
        return _("Welcome to %(name)s!", name=tribe.name)

    return await _act(slug, work, url_for("tribes.show", slug=slug), remote_ok=True)


@blueprint.post("/tribes/<slug>/leave")
async def leave(slug: str) -> Response:
    """Leave the tribe, withdraw a request, or decline an invitation."""

    async def work(db: AsyncSession, tribe: Tribe, actor: Actor) -> str:
        if not tribe.actor.local:
            await follows.unfollow(db, get_state(), actor, tribe.actor)
            return _("You left %(name)s.", name=tribe.name)
        member = await tribe_members.leave(db, get_state().settings, tribe, actor)
        if member.state == "invited":
            return _("You declined the invitation.")
        if member.state == "pending":
            return _("Your request has been withdrawn.")
        return _("You left %(name)s.", name=tribe.name)

    return await _act(slug, work, url_for("tribes.show", slug=slug), remote_ok=True)


async def _follow_remote(db: AsyncSession, tribe: Tribe, actor: Actor) -> str:
    """Join a tribe on another server: our server sends a ``Follow`` of its ``Group``
    (FEP-1b12), which that server accepts, or keeps for its admins to approve."""
    # The person's actor loaded in this session (the follow row points at it).
    me = await db.get(Actor, actor.id)
    assert me is not None
    row = await follows.follow(db, get_state(), me, tribe.actor)
    if row.accepted:
        return _("Welcome to %(name)s!", name=tribe.name)
    return _("Your request to join %(name)s has been sent to its server.", name=tribe.name)


@blueprint.route("/tribes/<slug>/join/<token>", methods=["GET", "POST"])
async def join_with_link(slug: str, token: str) -> ViewResult:
    """An invitation link: shows the tribe and lets the holder join (after logging in)."""
    state = get_state()
    if request.method == "POST":
        async def work(db: AsyncSession, tribe: Tribe, actor: Actor) -> str:
            await tribe_members.join(db, state.settings, tribe, actor, invite_token=token)
            return _("Welcome to %(name)s!", name=tribe.name)

        return await _act(slug, work, url_for("tribes.show", slug=slug))
    async with state.db.session() as db:
        tribe = await _load_local(db, slug)
        invite = await tribe_invites.find_token_invite(db, tribe, token)
        context = await _tribe_context(db, tribe)
    body, status = await render(
        "tribes/join_link.html", status=200 if invite else 404, valid=invite is not None,
        token=token, **context,
    )
    return no_store((body, status))


# ------------------------------------------------------------------ members


@blueprint.get("/tribes/<slug>/members")
async def members(slug: str) -> ViewResult:
    """Who is in the tribe; admins and moderators also see requests and invitations."""
    if wants_activity_json():  # the Group's members collection (tribes federation)
        return await members_response(slug)
    page = _page_number()
    state = get_state()
    async with state.db.session() as db:
        tribe = await _load_local(db, slug)
        context = await _tribe_context(db, tribe)
        # A page at a time: a tribe may have 10,000 members.
        found = await tribe_members.list_members(
            db, tribe, limit=MEMBERS_PAGE_SIZE + 1, offset=(page - 1) * MEMBERS_PAGE_SIZE
        )
        context["active"] = found[:MEMBERS_PAGE_SIZE]
        context["page"] = page
        context["has_next"] = len(found) > MEMBERS_PAGE_SIZE
        if context["is_moderator"]:
            context["pending"] = await tribe_members.list_members(db, tribe, state="pending")
            context["invited"] = await tribe_members.list_members(db, tribe, state="invited")
        else:
            context["pending"] = context["invited"] = []
    context["can_manage"] = tribe_members.can_manage
    return await render("tribes/members.html", **context)


@blueprint.post("/tribes/<slug>/members/<int:member_id>/<action>")
async def member_action(slug: str, member_id: int, action: str) -> Response:
    """approve / reject a request, remove a member, or change a role (``role`` field)."""
    if action not in ("approve", "reject", "remove", "role"):
        abort(404)
    form = await request.form
    new_role = form.get("role", "")
    settings = get_state().settings

    async def work(db: AsyncSession, tribe: Tribe, actor: Actor) -> str:
        member = await tribe_members.get_member(db, tribe, member_id)
        target = member.actor
        if action == "approve":
            await tribe_members.approve_request(db, settings, tribe, actor, target)
            return _("%(name)s is now a member.", name=target.name)
        if action == "reject":
            await tribe_members.reject_request(db, settings, tribe, actor, target)
            return _("The request of %(name)s was declined.", name=target.name)
        if action == "remove":
            await tribe_members.remove_member(db, settings, tribe, actor, target)
            return _("%(name)s is no longer a member.", name=target.name)
        await tribe_members.set_role(db, settings, tribe, actor, target, new_role)
        return _("The role of %(name)s has been changed.", name=target.name)

    return await _act(slug, work, url_for("tribes.members", slug=slug))


# ------------------------------------------------------------------ invitations


async def _invite_page(slug: str, status: int = 200, **extra: Any) -> ViewResult:
    state = get_state()
    async with state.db.session() as db:
        tribe = await _load_local(db, slug)
        context = await _tribe_context(db, tribe)
        if not context["is_admin"]:
            abort(403)
        context["invites"] = await tribe_invites.list_invites(db, tribe)
        context["invited"] = await tribe_members.list_members(db, tribe, state="invited")
    context.update({"errors": {}, "new_link": None, "results": None, "entries": ""})
    context.update(extra)
    return no_store(await render("tribes/invite.html", status=status, **context))


@blueprint.get("/tribes/<slug>/invite")
@login_required
async def invite(slug: str) -> ViewResult:
    """Invitations: a link to pass on, or a list of handles and e-mail addresses."""
    return await _invite_page(slug)


@blueprint.post("/tribes/<slug>/invite/link")
@login_required
async def invite_link(slug: str) -> ViewResult:
    """Create an invitation link (shown once)."""
    form = await request.form
    state = get_state()
    try:
        max_uses = int(form.get("max_uses", "1") or 1)
        days = int(form.get("days", "7") or 7)
    except ValueError:
        return await _invite_page(
            slug, 400, errors={"max_uses": _("Please fill in whole numbers.")}
        )
    try:
        async with state.db.session() as db:
            tribe = await _load_local(db, slug)
            link = await tribe_invites.create_invite_link(
                db, state.settings, tribe, g.user.actor, max_uses=max_uses, expires_in_days=days
            )
    except Forbidden:
        abort(403)
    except ServiceError as exc:
        return await _invite_page(slug, exc.status, errors=field_errors(exc))
    return await _invite_page(slug, new_link=link)


async def _resolve(db: AsyncSession, handle: str) -> Actor | None:
    """A person by handle: local names from the table, remote ones through WebFinger."""
    from sqlalchemy import select


    state = get_state()
    name, _sep, host = handle.partition("@")
    if not host or host.lower() == state.settings.host.lower():
        return await db.scalar(
            select(Actor).where(Actor.local.is_(True), Actor.username == name.lower())
        )
    try:
        return await resolve_handle(state, db, handle)
    except Exception:  # ActorUnavailable, or a remote server misbehaving
        return None


@blueprint.post("/tribes/<slug>/invite/people")
@login_required
async def invite_people(slug: str) -> ViewResult:
    """Invite people by handle (``@name@host`` or a local name) or by e-mail address."""
    form = await request.form
    text = form.get("entries", "")[:20_000]
    state = get_state()
    results: list[tuple[str, str, str | None]] = []  # (entry, outcome text, link)
    try:
        entries = tribe_invites.parse_invite_entries(text)
    except ServiceError as exc:
        return await _invite_page(slug, 400, errors=field_errors(exc), entries=text)
    if not (entries.handles or entries.emails or entries.invalid):
        return await _invite_page(
            slug, 400, errors={"entries": _("Please fill in at least one person.")}, entries=text
        )
    for item in entries.invalid:
        results.append((item, _("Not a handle or e-mail address."), None))
    async with state.db.session() as db:
        tribe = await _load_local(db, slug)
        actor = g.user.actor
        if (await role_of(db, tribe, actor)) != "admin":
            abort(403)
        for handle in entries.handles:
            target = await _resolve(db, handle)
            if target is None:
                results.append((handle, _("Nobody found with this name."), None))
                continue
            try:
                member = await tribe_invites.invite_actor(db, state.settings, tribe, actor, target)
            except ServiceError as exc:
                results.append((handle, _(exc.message, **exc.values), None))
                continue
            outcome = _("Invited.") if member.state == "invited" else _("Admitted.")
            results.append((handle, outcome, None))
        for email in entries.emails:
            link = await tribe_invites.invite_email(db, state.settings, tribe, actor, email)
            results.append((email, _("Invitation mailed. The link works too:"), link))
    return await _invite_page(slug, results=results)


@blueprint.post("/tribes/<slug>/invites/<int:invite_id>/revoke")
async def revoke_invite(slug: str, invite_id: int) -> Response:
    """Stop an invitation link from working."""

    async def work(db: AsyncSession, tribe: Tribe, actor: Actor) -> str:
        await tribe_invites.revoke_invite(db, get_state().settings, tribe, actor, invite_id)
        return _("The invitation no longer works.")

    return await _act(slug, work, url_for("tribes.invite", slug=slug))


# ------------------------------------------------------------------ settings


def _values_of(tribe: Tribe) -> dict[str, Any]:
    return {
        "name": tribe.name, "theme": tribe.theme, "description": tribe.description_source,
        "tags": ", ".join(tribe.tags or []), "location": tribe.location,
        "language": tribe.language, "initiative_policy": tribe.initiative_policy,
        "budget_available": tribe.budget_available, "target_area": tribe.target_area,
        "join_mode": tribe.join_mode,
    }


@blueprint.route("/tribes/<slug>/settings", methods=["GET", "POST"])
@login_required
async def settings_page(slug: str) -> ViewResult:
    """Admins edit the tribe: its fields, rules, join mode and image."""
    state = get_state()
    async with state.db.session() as db:
        tribe = await _load_local(db, slug)
        context = await _tribe_context(db, tribe)
    if not context["is_admin"]:
        abort(403)
    context.update(_field_options())
    context["max_image"] = human_size(state.settings.max_avatar_bytes)
    if request.method == "GET":
        return await render("tribes/settings.html", values=_values_of(tribe), errors={}, **context)
    form = await request.form
    files = await request.files
    values = {key: form.get(key, "") for key in EDIT_FIELDS}
    upload = files.get("image")
    data = upload.read(state.settings.max_avatar_bytes + 1) if upload is not None else b""
    try:
        async with state.db.session() as db:
            tribe = await _load_local(db, slug)
            await tribes.update_tribe(db, state.settings, tribe, g.user.actor, **values)
            if data:
                await tribes.set_tribe_image(db, state.settings, tribe, g.user.actor, data)
    except Forbidden:
        abort(403)
    except ServiceError as exc:
        errors = field_errors(exc)
        if exc.field == "avatar":
            errors = {"image": errors.pop("avatar")}
        return await render(
            "tribes/settings.html", status=exc.status, values=values, errors=errors, **context
        )
    await flash(_("The tribe has been saved."), "success")
    return _redirect(url_for("tribes.show", slug=slug), 303)


# ------------------------------------------------------------------ moderation


@blueprint.get("/tribes/<slug>/moderation")
@login_required
async def moderation(slug: str) -> ViewResult:
    """Admins and moderators: held posts, reports and blocks."""
    state = get_state()
    async with state.db.session() as db:
        tribe = await _load_local(db, slug)
        context = await _tribe_context(db, tribe)
        if not context["is_moderator"]:
            abort(403)
        context["held"] = await tribe_moderation.list_held_posts(db, tribe)
        context["reports"] = await tribe_moderation.list_reports(db, tribe)
        context["blocks"] = await tribe_moderation.list_blocks(db, tribe)
    return await render("tribes/moderation.html", **context)


@blueprint.post("/tribes/<slug>/moderation/held/<int:held_id>")
async def decide_held(slug: str, held_id: int) -> Response:
    """Approve or reject a held post (``decision`` field)."""
    form = await request.form
    approve = form.get("decision") == "approve"

    async def work(db: AsyncSession, tribe: Tribe, actor: Actor) -> str:
        await tribe_moderation.decide_held_post(
            db, get_state().settings, tribe, actor, held_id, approve
        )
        return _("The post has been approved.") if approve else _("The post has been rejected.")

    return await _act(slug, work, url_for("tribes.moderation", slug=slug))


@blueprint.post("/tribes/<slug>/moderation/reports/<int:report_id>/resolve")
async def resolve_report(slug: str, report_id: int) -> Response:
    """Mark a report as dealt with."""

    async def work(db: AsyncSession, tribe: Tribe, actor: Actor) -> str:
        await tribe_moderation.resolve_report(db, get_state().settings, tribe, actor, report_id)
        return _("The report has been resolved.")

    return await _act(slug, work, url_for("tribes.moderation", slug=slug))


@blueprint.post("/tribes/<slug>/moderation/blocks")
async def add_block(slug: str) -> Response:
    """Block a person (handle) or a domain for the tribe."""
    form = await request.form
    kind = form.get("kind", "person")
    value = form.get("value", "").strip()[:300]
    reason = form.get("reason", "")
    settings = get_state().settings

    async def work(db: AsyncSession, tribe: Tribe, actor: Actor) -> str:
        if kind == "domain":
            block = await tribe_moderation.block_domain(db, settings, tribe, actor, value, reason)
            return _("%(name)s is blocked for this tribe.", name=block.domain or "")
        target = await _resolve(db, value.lstrip("@")) if value else None
        if target is None:
            raise ServiceError("Nobody found with this name.", field="value")
        await tribe_moderation.block_actor(db, settings, tribe, actor, target, reason)
        return _("%(name)s is blocked for this tribe.", name=target.handle)

    return await _act(slug, work, url_for("tribes.moderation", slug=slug))


@blueprint.post("/tribes/<slug>/moderation/blocks/<int:block_id>/delete")
async def remove_block(slug: str, block_id: int) -> Response:
    """Lift a block."""

    async def work(db: AsyncSession, tribe: Tribe, actor: Actor) -> str:
        await tribe_moderation.unblock(db, get_state().settings, tribe, actor, block_id)
        return _("The block has been lifted.")

    return await _act(slug, work, url_for("tribes.moderation", slug=slug))


# ------------------------------------------------------------------ activity


@blueprint.get("/tribes/<slug>/activity")
async def activity(slug: str) -> ViewResult:
    """What happened in the tribe, in sentences: its members and its initiatives (those the
    viewer may see), newest first, and the posts of its members."""
    state = get_state()
    async with state.db.session() as db:
        tribe = await _load_local(db, slug)
        context = await _tribe_context(db, tribe)
        items = await tribe_activity.tribe_activity(db, tribe, context["seen_by"], limit=60)
        # Tribes federation: the posts the tribe distributed. What it announced to other
        # servers is told in the sentences above, not as protocol verbs and URLs.
        context["threads"] = await tribe_distribution.tribe_threads(db, tribe)
    context["announces"] = []
    context["activity"] = [(item, _activity_line(item)) for item in items]
    return await render("tribes/activity.html", **context)


def _activity_line(item: tribe_activity.ActivityItem) -> Markup:
    """One entry of the activity tab as a sentence (an event of the tribe or an initiative)."""
    if item.event is not None:
        return escape(event_label(item.event))
    if item.initiative is not None and item.update is not None:
        return update_sentence(item.initiative, item.update)
    return Markup("")


# ------------------------------------------------------------------ instance setting


@blueprint.route("/admin/tribes", methods=["GET", "POST"])
@admin_required
async def admin_settings() -> ViewResult:
    """Instance admins decide who may create tribes."""
    state = get_state()
    labels = {
        "everyone": _("Everyone with an account"),
        "admins": _("Only instance admins"),
    }
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        form = await request.form
        try:
            async with state.db.session() as db:
                mode = await tribes.set_tribe_creation(
                    db, form.get("tribe_creation", ""), acting=g.user
                )
            await flash(_("Saved: %(mode)s.", mode=labels[mode]), "success")
            return _redirect(url_for("tribes.admin_settings"), 303)
        except ServiceError as exc:
            errors, status = field_errors(exc), exc.status
    async with state.db.session() as db:
        mode = await tribes.get_tribe_creation(db)
        count = len(await tribes.list_tribes(db, limit=100_000))
    return await render(
        "tribes/admin.html", status=status, mode=mode, labels=labels, errors=errors,
        tribe_count=count,
    )

