"""Initiative pages: a tribe's initiatives, starting and editing one, its page with progress
and timeline, the board, task pages with offers and conversation, talent matches and the
notifications pages.

The routes read forms and show results; every rule lives in the initiative services. A
failed action comes back as a flash message on the page the form came from; what a person
may not see answers 404 (so private initiatives do not leak), what they may not do 403.
``/initiatives/<id>`` is also the ``Page`` object's id (ActivityPub JSON is served there
by ``fedi.federation`` later; a deleted initiative answers 410 Gone).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import date
from functools import partial
from typing import Any, cast

from quart import Blueprint, Response, abort, flash, g, redirect, request, url_for
from sqlalchemy.ext.asyncio import AsyncSession

from fedi.domain import (
    contributions,
    conversation,
    initiative_board,
    initiative_lists,
    initiative_offers,
    initiative_people,
    initiatives,
    matching,
    notifications,
    notify_texts,
    tribes,
)
from fedi.domain.errors import Forbidden, NotFound, ServiceError
from fedi.domain.initiative_access import (
    Relation,
    can_edit,
    find_initiative,
    get_initiative,
    relation,
    require_view,
)
from fedi.domain.media import human_size
from fedi.domain.profiles import avatar_url
from fedi.domain.progress import progress_of
from fedi.domain.progress_history import progress_series
from fedi.domain.tribe_access import role_at_least, role_of
from fedi.http.ap import initiatives as initiative_json
from fedi.http.ap.actors import wants_activity_json
from fedi.http.web.actions import action_done, action_refused
from fedi.http.web.auth import ViewResult, field_errors, login_redirect, login_required
from fedi.http.web.cache import cached_tribe_counts, public_page
from fedi.http.web.errors import error_page
from fedi.http.web.initiative_stream import (
    Faces,
    Times,
    build_chart,
    build_stream,
    join_names,
)
from fedi.http.web.render import _, current_locale, render
from fedi.http.web.request_db import request_session
from fedi.state import get_state
from models import Actor, Initiative, InitiativeUpdate, Notification, Tribe, utcnow

blueprint = Blueprint("initiatives", __name__)

# Pages stay light whatever the size of a tribe or a conversation: a page of the tribe's
# initiatives, the newest comments of each thread, the first supporters (with the total).
LIST_PAGE_SIZE = 24
TIMELINE_SHOWN = 20
COMMENTS_SHOWN = 20
REPLIES_SHOWN = 3
CONVERSATION_PAGE_SIZE = 50
SUPPORTERS_SHOWN = 30



# ------------------------------------------------------------------ labels


def phase_labels() -> dict[str, str]:
    """The phases in the reader's language."""
    return {
        "idea": _("Idea"), "plan": _("Plan"), "execute": _("Execute"), "grow": _("Grow"),
    }


def visibility_labels() -> dict[str, str]:
    """Who can see an initiative, in the reader's language."""
    return {
        "public": _("Everyone"),
        "members": _("Members of the tribe"),
        "private": _("Only the partners"),
    }


def budget_labels() -> dict[str, str]:
    """Budget types in the reader's language."""
    return {"none": _("No budget"), "hours": _("Hours"), "money": _("Money (euro)")}


def state_labels() -> dict[str, str]:
    """Contribution states in the reader's language."""
    return {
        "proposed": _("Proposed"), "accepted": _("Accepted"), "rejected": _("Declined"),
        "withdrawn": _("Withdrawn"),
    }


def field_labels() -> dict[str, str]:
    """The initiative's fields as an edit sentence names them."""
    return {
        "name": _("the name"), "summary": _("the summary"),
        "description": _("the description"), "expected_result": _("the expected result"),
        "motivation": _("the motivation"), "budget_type": _("the budget"),
        "budget_amount": _("the budget"), "location": _("the location"),
        "tags": _("the talents needed"), "visibility": _("who can see it"),
        "image": _("the picture"),
    }


def stream_label(entry: InitiativeUpdate, fields: list[str]) -> str:
    """An entry of the conversation stream as a sentence; an edit names what changed
    ("Ann changed the summary and the description")."""
    if entry.kind != "edited" or not fields:
        return update_label(entry)
    labels = field_labels()
    names: list[str] = []
    for name in fields:
        label = labels.get(name, name)
        if label not in names:
            names.append(label)
    who = _("deleted account") if entry.actor is not None and entry.actor.gone_at else (
        entry.actor.name if entry.actor is not None else _("Someone")
    )
    return _("%(name)s changed %(fields)s", name=who,
             fields=join_names(names, current_locale()))


def update_label(entry: InitiativeUpdate) -> str:
    """One line of an initiative's history."""
    who = entry.actor.name if entry.actor is not None else _("Someone")
    if entry.actor is not None and entry.actor.gone_at is not None:
        who = _("deleted account")  # the person deleted their account; the update stays
    data = entry.payload or {}
    task = str(data.get("task_name", ""))
    # Only the entry's own sentence is translated: a page shows dozens of entries.
    texts: dict[str, Callable[[], str]] = {
        "created": lambda: _("%(name)s started the initiative", name=who),
        "edited": lambda: _("%(name)s edited the initiative", name=who),
        "archived": lambda: _("%(name)s archived the initiative", name=who),
        "unarchived": lambda: _("%(name)s took the initiative out of the archive", name=who),
        "phase_changed": lambda: _(
            "%(name)s moved the initiative to the phase %(phase)s", name=who,
            phase=phase_labels().get(str(data.get("new")), str(data.get("new"))),
        ),
        "date_changed": lambda: _("%(name)s changed the dates", name=who)
        if not task else _("%(name)s changed the due date of %(task)s", name=who, task=task),
        "task_added": lambda: _("%(name)s added the task %(task)s", name=who, task=task),
        "task_edited": lambda: _("%(name)s edited the task %(task)s", name=who, task=task),
        "task_moved": lambda: _(
            "%(name)s moved %(task)s to %(lane)s", name=who, task=task,
            lane=str(data.get("lane", "")),
        ),
        "task_completed": lambda: _("%(name)s completed the task %(task)s", name=who, task=task),
        "task_reopened": lambda: _("%(name)s reopened the task %(task)s", name=who, task=task),
        "task_deleted": lambda: _("%(name)s deleted the task %(task)s", name=who, task=task),
        "contribution_offered": lambda: _(
            "%(name)s offered to help with %(task)s", name=who, task=task
        ),
        "contribution_accepted": lambda: _(
            "%(name)s accepted the offer of %(other)s for %(task)s", name=who, task=task,
            other=str(data.get("contributor", "")),
        ),
        "contribution_rejected": lambda: _(
            "%(name)s declined the offer of %(other)s for %(task)s", name=who, task=task,
            other=str(data.get("contributor", "")),
        ),
        "contribution_withdrawn": lambda: _(
            "%(name)s withdrew an offer for %(task)s", name=who, task=task
        ),
        "partner_requested": lambda: _("%(name)s asked to become a partner", name=who),
        "partner_joined": lambda: _("%(name)s became a partner", name=who),
        "partner_left": lambda: _("%(name)s is no longer a partner", name=who),
        "supporter_joined": lambda: _("%(name)s supports the initiative", name=who),
        "rated": lambda: _(
            "%(name)s rated the contribution of %(other)s", name=who,
            other=str(data.get("contributor", "")),
        ),
        "message": lambda: _("%(name)s wrote", name=who),
        # Polls (issue 15): a closed poll is a decision taken.
        "poll_closed": lambda: _(
            "Decision: %(question)s: %(result)s", question=str(data.get("question", "")),
            result=", ".join(str(w) for w in data.get("winners") or []) or _("no votes"),
        ),
    }
    text = texts.get(entry.kind)
    return text() if text is not None else entry.kind


def notification_kind_labels() -> dict[str, str]:
    """The notification kinds, for the settings page."""
    return {
        "mention": _("Someone mentioned you"),
        "message": _("New messages in initiatives you are involved in"),
        "comment": _("Comments on your initiatives and posts"),
        "contribution_offered": _("Offers of help for your initiatives"),
        "contribution_accepted": _("Your offer was accepted"),
        "contribution_rejected": _("Your offer was declined"),
        "contribution_withdrawn": _("An offer was withdrawn"),
        "partner_requested": _("Requests to become a partner"),
        "partner_joined": _("New partners"),
        "supporter_joined": _("New supporters"),
        "task_added": _("New tasks"),
        "task_completed": _("Completed tasks"),
        "rated": _("Your contribution was rated"),
        "initiative_changed": _("An initiative changed phase"),
        "meetup_reminder": _("Reminders of events the day before"),
        "meetup_cancelled": _("An event you take part in was cancelled"),
        # Issue 12: tribes, follows, replies, likes, reports, moderation (and the digest).
        **notify_texts.kind_labels(_),
    }


def notification_label(note: Notification) -> str:
    """One notification as a sentence."""
    who = note.actor.name if note.actor is not None else _("Someone")
    data = note.payload or {}
    title = str(data.get("initiative", ""))
    task = str(data.get("task", ""))
    texts = {
        "mention": _("%(name)s mentioned you in %(title)s", name=who, title=title),
        "message": _("%(name)s wrote in %(title)s", name=who, title=title),
        "comment": _("%(name)s commented in %(title)s", name=who, title=title),
        "contribution_offered": _(
            "%(name)s offered to help with %(task)s in %(title)s", name=who, task=task,
            title=title,
        ),
        "contribution_accepted": _(
            "%(name)s accepted your offer for %(task)s", name=who, task=task
        ),
        "contribution_rejected": _(
            "%(name)s declined your offer for %(task)s", name=who, task=task
        ),
        "contribution_withdrawn": _(
            "%(name)s withdrew an offer in %(title)s", name=who, title=title
        ),
        "partner_requested": _(
            "%(name)s asks to become a partner of %(title)s", name=who, title=title
        ),
        "partner_joined": _("%(name)s is now a partner of %(title)s", name=who, title=title),
        "supporter_joined": _("%(name)s supports %(title)s", name=who, title=title),
        "task_added": _("%(name)s added the task %(task)s", name=who, task=task),
        "task_completed": _("%(name)s completed the task %(task)s", name=who, task=task),
        "rated": _("%(name)s rated your contribution to %(title)s", name=who, title=title),
        "initiative_changed": _("%(title)s moved to a new phase", title=title),
        "meetup_reminder": _("Tomorrow: %(title)s", title=str(data.get("title", ""))),
        "meetup_cancelled": _("%(title)s has been cancelled", title=str(data.get("title", ""))),
    }
    if note.kind not in texts:
        # Issue 12's kinds are worded in the domain, for the mails too.
        return notify_texts.describe(note, _) or note.kind
    return texts[note.kind]


# Issue 12's kinds: their links come from the domain (the mails use the same).
_LINKED_BY_NOTIFY_TEXTS = frozenset(notify_texts.kind_labels(lambda message, **_v: message))


def notification_link(note: Notification) -> str | None:
    """Where a notification leads."""
    data = note.payload or {}
    if note.kind in _LINKED_BY_NOTIFY_TEXTS:
        return notify_texts.link_path(note)
    url = data.get("url")
    if note.initiative_id is None and isinstance(url, str) and url.startswith(("https://", "http://")):
        return url  # a mention in a post (issue 12): the post itself
    # Meetups (issue 15): the event page (``fedi.domain.meetups.page_key``).
    if note.kind.startswith("meetup_") and isinstance(data.get("key"), str):
        return url_for("meetups.show", key=data["key"])
    if note.initiative_id is None:
        return None
    task_id = data.get("task_id")
    if isinstance(task_id, int):
        return url_for("initiatives.task_page", initiative_id=note.initiative_id, task_id=task_id)
    return url_for("initiatives.show", initiative_id=note.initiative_id)


# ------------------------------------------------------------------ helpers


def _viewer() -> Actor | None:
    user = g.user
    return user.actor if user is not None else None


async def _me(db: AsyncSession) -> Actor:
    """The logged-in person's actor *in this session* (``g.user.actor`` belongs to another
    session; attaching it to new rows would clash with a copy loaded here)."""
    actor = await db.get(Actor, g.user.actor.id)
    assert actor is not None
    return actor


def _redirect(location: str, code: int = 303) -> Response:
    return cast(Response, redirect(location, code))


async def _load_tribe(db: AsyncSession, slug: str) -> Tribe:
    try:
        return await tribes.get_tribe(db, slug)
    except NotFound:
        abort(404)


async def _load_visible(
    db: AsyncSession, initiative_id: int
) -> tuple[Initiative, Relation | None]:
    """The initiative if the viewer may see it, with the viewer's ``relation`` to it (None
    for an anonymous visitor), read once for the permission check and the page frame;
    410 when deleted, 404 when hidden/missing."""
    initiative = await find_initiative(db, initiative_id)
    if initiative is None:
        abort(404)
    if initiative.deleted_at is not None:
        abort(410)
    viewer = _viewer()
    known = await relation(db, initiative, viewer) if viewer is not None else None
    try:
        await require_view(db, initiative, viewer, known=known)
    except NotFound:
        abort(404)
    return initiative, known


async def _act(
    initiative_id: int,
    work: Callable[[AsyncSession, Initiative, Actor], Awaitable[str | None]],
    back: str | None = None,
) -> Response:
    """Run a form action of the logged-in person on an initiative, then go back.

    Forbidden and NotFound answer with an error page; other broken rules are flashed.
    """
    if g.user is None:
        return login_redirect()
    state = get_state()
    target = back or url_for("initiatives.show", initiative_id=initiative_id)
    try:
        async with state.db.session() as db:
            initiative = await get_initiative(db, initiative_id)
            message = await work(db, initiative, await _me(db))
    except ServiceError as exc:
        return await action_refused(exc, target)
    return await action_done(message, target)


async def _form_int(form: Any, name: str) -> int | None:
    try:
        return int(form.get(name, ""))
    except (TypeError, ValueError):
        return None


async def _tribe_frame(db: AsyncSession, tribe: Tribe) -> dict[str, Any]:
    """What the tribe frame (``tribes/_layout.html``) needs.

    A tribe on another server (``remote``) has no admin controls here.
    """
    remote = not tribe.actor.local
    role = None if remote else await role_of(db, tribe, _viewer())
    return {
        "tribe": tribe,
        "remote": remote,
        "counts": await cached_tribe_counts(db, tribe),
        "is_admin": role == "admin",
        "is_moderator": role_at_least(role, "moderator"),
        "image_url": tribe.actor.icon_url if remote else tribes.image_url(
            get_state().settings, tribe
        ),
    }


async def _initiative_frame(
    db: AsyncSession, initiative: Initiative, known: Relation | None
) -> dict[str, Any]:
    """What every initiative page shows: the viewer's relation (``known``, from
    ``_load_visible``) and the progress figure."""
    viewer = _viewer()
    settings = get_state().settings
    times = Times(current_locale(), utcnow(), settings.timezone)
    return {
        "initiative": initiative,
        "tribe": initiative.tribe,
        "is_partner": known is not None and known.is_partner,
        "can_edit": await can_edit(db, initiative, viewer, known=known),
        "is_supporter": known is not None and known.supporter,
        "my_partner_row": known.partner if known is not None else None,
        "progress": await progress_of(db, initiative),
        "phases": phase_labels(),
        "visibilities": visibility_labels(),
        "budgets": budget_labels(),
        "image_url": initiatives.image_url(settings, initiative),
        "archived": initiative.archived_at is not None,
        "today": date.today(),
        # The conversation's faces and times (``initiative_stream``).
        "times": times,
        "faces": Faces(times, partial(avatar_url, settings), _("deleted account"), _("edited"),
                       _("This comment was deleted.")),
    }


# ------------------------------------------------------------------ tribe pages


@blueprint.get("/tribes/<slug>/initiatives")
async def tribe_list(slug: str) -> ViewResult:
    """The tribe's initiatives the viewer may see (a page at a time), and recent activity."""
    page = _page_arg()
    viewer = _viewer()
    async with request_session() as db:
        tribe = await _load_tribe(db, slug)
        frame = await _tribe_frame(db, tribe)
        seen_by = await initiative_lists.viewer_in(db, tribe, viewer)
        if viewer is None:
            # What an anonymous visitor sees here is public by definition.
            public_page()
        total = await initiative_lists.count_visible(db, tribe, seen_by)
        # The tribe's numbers say what this list holds (issue 11: "3 initiatives" over 2).
        frame["counts"] = replace(frame["counts"], initiatives=total)
        found = await initiative_lists.visible_page(
            db, tribe, seen_by, limit=LIST_PAGE_SIZE, offset=(page - 1) * LIST_PAGE_SIZE
        )
        progress = {item.id: await progress_of(db, item) for item in found}
        activity = await initiative_lists.recent_activity(db, tribe, seen_by, limit=30)
        may_start = await tribes.may_start_initiative(db, tribe, viewer)
    return await render(
        "initiatives/tribe_list.html", initiatives=found, progress=progress,
        activity=[(item, entry, update_label(entry)) for item, entry in activity],
        may_start=may_start, phases=phase_labels(), page=page, total=total,
        has_next=page * LIST_PAGE_SIZE < total, **frame,
    )


def _page_arg(name: str = "page") -> int:
    """A page number from the query string (1 when missing or not a number)."""
    try:
        return max(1, min(int(request.args.get(name, "1")), 100_000))
    except ValueError:
        return 1


def _form_options() -> dict[str, Any]:
    return {
        "phases": phase_labels(), "visibilities": visibility_labels(),
        "budgets": budget_labels(),
        "max_image": human_size(get_state().settings.max_avatar_bytes),
    }


async def _read_fields() -> dict[str, Any]:
    form = await request.form
    return {key: form.get(key, "") for key in initiatives.FIELDS}


async def _read_image() -> bytes:
    files = await request.files
    upload = files.get("image")
    limit = get_state().settings.max_avatar_bytes
    return upload.read(limit + 1) if upload is not None else b""


@blueprint.route("/tribes/<slug>/initiatives/new", methods=["GET", "POST"])
@login_required
async def new(slug: str) -> ViewResult:
    """Start an initiative in a tribe (the tribe's rules decide who may)."""
    state = get_state()
    async with state.db.session() as db:
        tribe = await _load_tribe(db, slug)
        if not await tribes.may_start_initiative(db, tribe, g.user.actor):
            abort(403)
        frame = await _tribe_frame(db, tribe)
    if request.method == "GET":
        values: dict[str, Any] = {"phase": "idea", "visibility": "public", "budget_type": "none"}
        return await render(
            "initiatives/form.html", values=values, errors={}, editing=None,
            **_form_options(), **frame,
        )
    values = await _read_fields()
    data = await _read_image()
    try:
        async with state.db.session() as db:
            tribe = await _load_tribe(db, slug)
            me = await _me(db)
            created = await initiatives.create_initiative(
                db, state.settings, tribe, me,
                **values,
            )
            if data:
                await initiatives.set_image(db, state.settings, created, me, data)
            new_id = created.id
    except Forbidden:
        abort(403)
    except ServiceError as exc:
        errors = field_errors(exc)
        if exc.field == "avatar":
            errors = {"image": errors.pop("avatar")}
        return await render(
            "initiatives/form.html", status=exc.status, values=values, errors=errors,
            editing=None, **_form_options(), **frame,
        )
    await flash(_("Your initiative has been started. Add tasks to the board!"), "success")
    return _redirect(url_for("initiatives.show", initiative_id=new_id))


# ------------------------------------------------------------------ the initiative


@blueprint.get("/initiatives/<int:initiative_id>")
async def show(initiative_id: int) -> ViewResult:
    """The initiative: goal, facts, progress figure, people and the timeline.

    The same URL is the ``Page``'s id: ActivityPub clients get its JSON (410 when deleted).
    The history is paged (``?history=N``, newest first) and each thread of the conversation
    shows its newest comments, the rest a link away (``conversation``): an initiative with
    hundreds of comments and updates stays a light page. An
    anonymous visitor's copy of a public initiative may be kept briefly (``fedi.http.web.cache``).
    """
    if wants_activity_json():
        return await initiative_json.page_response(initiative_id)
    async with request_session() as db:
        initiative, known = await _load_visible(db, initiative_id)
        if initiative.visibility == "public":
            public_page()
        frame = await _initiative_frame(db, initiative, known)
        history = _page_arg("history")
        entries, older = await initiative_lists.history_page(
            db, initiative, page=history, size=TIMELINE_SHOWN
        )
        threads = await initiative_lists.newest_comments(
            db, initiative, [entry.id for entry in entries], on_initiative=COMMENTS_SHOWN,
            per_update=REPLIES_SHOWN,
        )
        partners, requests = await initiative_lists.partners_and_requests(
            db, initiative, with_requests=frame["is_partner"]
        )
        supporters = await initiative_lists.first_supporters(
            db, initiative, limit=SUPPORTERS_SHOWN
        )
        help_people = await matching.who_could_help(db, initiative, limit=8)
        chart = build_chart(await progress_series(db, initiative))
        offers = await initiative_offers.recent_offers(db, initiative)
        viewer = _viewer()
        may_decide = {
            offer.id: viewer is not None and offer.state == "proposed"
            and await contributions.may_decide(db, initiative, viewer, offer)
            for offer, _name in offers
        }
    top = threads.get(None)
    # Comments on the initiative itself join the stream on its first page (the newest).
    stream = build_stream(
        entries, stream_label, threads, top.comments if top and history == 1 else []
    )
    body, status = await render(
        "initiatives/show.html", stream=stream, history_page=history, older_history=older,
        top_thread=top, partners=partners, supporters=supporters, requests=requests,
        help_people=help_people, chart=chart, offers=offers, may_decide=may_decide,
        states=state_labels(), **frame,
    )
    response = Response(body, status=status, content_type="text/html; charset=utf-8")
    # The same URL is the Page object's id and will serve JSON to servers.
    response.headers["Vary"] = "Accept"
    return response


@blueprint.get("/initiatives/<int:initiative_id>/conversation")
async def conversation_page(initiative_id: int) -> ViewResult:
    """One thread of the conversation in full, a page at a time (oldest first).

    ``?update=<id>`` is the thread under that update, otherwise the comments on the
    initiative itself; without ``?page`` the newest page is shown.
    """
    raw_update = request.args.get("update", "")
    update_id = int(raw_update) if raw_update.isdigit() else None
    async with request_session() as db:
        initiative, known = await _load_visible(db, initiative_id)
        if initiative.visibility == "public":
            public_page()
        frame = await _initiative_frame(db, initiative, known)
        entry = None
        if update_id is not None:
            entry = await db.get(InitiativeUpdate, update_id)
            if entry is None or entry.initiative_id != initiative.id:
                abort(404)
        total = await initiative_lists.count_thread(db, initiative, update_id)
        last = max(1, -(-total // CONVERSATION_PAGE_SIZE))
        page = min(_page_arg(), last) if "page" in request.args else last
        comments = await initiative_lists.thread_page(
            db, initiative, update_id, page=page, size=CONVERSATION_PAGE_SIZE
        )
    return await render(
        "initiatives/conversation.html", comments=comments, total=total, page=page,
        last_page=last, update=entry, update_text=update_label(entry) if entry else "",
        **frame,
    )


def _values_of(initiative: Initiative) -> dict[str, Any]:
    return {
        "name": initiative.name, "summary": initiative.summary,
        "description": initiative.description_source,
        "expected_result": initiative.expected_result, "motivation": initiative.motivation,
        "start_date": initiative.start_date.isoformat() if initiative.start_date else "",
        "end_date": initiative.end_date.isoformat() if initiative.end_date else "",
        "phase": initiative.phase, "budget_type": initiative.budget_type,
        "budget_amount": "" if initiative.budget_amount is None else initiative.budget_amount,
        "location": initiative.location, "tags": ", ".join(initiative.tags or []),
        "visibility": initiative.visibility,
    }


@blueprint.route("/initiatives/<int:initiative_id>/edit", methods=["GET", "POST"])
@login_required
async def edit(initiative_id: int) -> ViewResult:
    """The creator and partners edit the initiative."""
    state = get_state()
    async with state.db.session() as db:
        initiative, known = await _load_visible(db, initiative_id)
        frame = await _initiative_frame(db, initiative, known)
        if not frame["can_edit"]:
            abort(403)
        tribe_frame = await _tribe_frame(db, initiative.tribe)
    context = {**tribe_frame, **_form_options(), "editing": initiative}
    if request.method == "GET":
        return await render(
            "initiatives/form.html", values=_values_of(initiative), errors={}, **context
        )
    values = await _read_fields()
    data = await _read_image()
    try:
        async with state.db.session() as db:
            initiative = await get_initiative(db, initiative_id)
            me = await _me(db)
            await initiatives.update_initiative(db, state.settings, initiative, me, **values)
            if data:
                await initiatives.set_image(db, state.settings, initiative, me, data)
    except (Forbidden, NotFound) as exc:
        return await error_page(exc)
    except ServiceError as exc:
        errors = field_errors(exc)
        if exc.field == "avatar":
            errors = {"image": errors.pop("avatar")}
        return await render(
            "initiatives/form.html", status=exc.status, values=values, errors=errors, **context
        )
    await flash(_("The initiative has been saved."), "success")
    return _redirect(url_for("initiatives.show", initiative_id=initiative_id))


@blueprint.post("/initiatives/<int:initiative_id>/<any(archive, unarchive):action>")
async def archive(initiative_id: int, action: str) -> Response:
    """Archive or unarchive (creator and partners)."""
    settings = get_state().settings

    async def work(db: AsyncSession, initiative: Initiative, actor: Actor) -> str:
        await initiatives.archive(
            db, settings, initiative, actor, archived=action == "archive"
        )
        if action == "archive":
            return _("The initiative has been archived.")
        return _("The initiative is active again.")

    return await _act(initiative_id, work)


@blueprint.post("/initiatives/<int:initiative_id>/delete")
async def delete(initiative_id: int) -> Response:
    """Delete (creator and partners); the tribe's list is where we go afterwards."""
    if g.user is None:
        return login_redirect()
    state = get_state()
    try:
        async with state.db.session() as db:
            initiative = await get_initiative(db, initiative_id)
            slug = initiative.tribe.slug
            await initiatives.delete_initiative(db, state.settings, initiative, await _me(db))
    except (Forbidden, NotFound) as exc:
        return await error_page(exc)
    await flash(_("The initiative has been deleted."), "success")
    return _redirect(url_for("initiatives.tribe_list", slug=slug))


# ------------------------------------------------------------------ people


@blueprint.post("/initiatives/<int:initiative_id>/<any(support, unsupport):action>")
async def support(initiative_id: int, action: str) -> Response:
    """Support (one click) or stop supporting."""
    settings = get_state().settings

    async def work(db: AsyncSession, initiative: Initiative, actor: Actor) -> str:
        if action == "support":
            await initiative_people.support(db, settings, initiative, actor)
            return _("You support this initiative.")
        await initiative_people.unsupport(db, settings, initiative, actor)
        return _("You no longer support this initiative.")

    return await _act(initiative_id, work)


@blueprint.post("/initiatives/<int:initiative_id>/partners/request")
async def request_partnership(initiative_id: int) -> Response:
    """Ask to become a partner."""
    form = await request.form
    message = form.get("message", "")
    settings = get_state().settings

    async def work(db: AsyncSession, initiative: Initiative, actor: Actor) -> str:
        await initiative_people.request_partnership(db, settings, initiative, actor, message)
        return _("Your request has been sent to the partners.")

    return await _act(initiative_id, work)


@blueprint.post("/initiatives/<int:initiative_id>/partners/leave")
async def leave_partnership(initiative_id: int) -> Response:
    """Step back as a partner, or withdraw a request."""
    settings = get_state().settings

    async def work(db: AsyncSession, initiative: Initiative, actor: Actor) -> str:
        await initiative_people.leave_partnership(db, settings, initiative, actor)
        return _("You are no longer a partner.")

    return await _act(initiative_id, work)


@blueprint.post(
    "/initiatives/<int:initiative_id>/partners/<int:actor_id>/<any(accept, decline):action>"
)
async def decide_partner(initiative_id: int, actor_id: int, action: str) -> Response:
    """A partner accepts or declines a partnership request."""
    settings = get_state().settings

    async def work(db: AsyncSession, initiative: Initiative, actor: Actor) -> str:
        if action == "accept":
            row = await initiative_people.accept_partner(
                db, settings, initiative, actor, actor_id
            )
            return _("%(name)s is now a partner.", name=row.actor.name)
        await initiative_people.decline_partner(db, settings, initiative, actor, actor_id)
        return _("The request has been declined.")

    return await _act(initiative_id, work)


# ------------------------------------------------------------------ conversation


@blueprint.post("/initiatives/<int:initiative_id>/messages")
async def post_message(initiative_id: int) -> Response:
    """Post a free message in the timeline."""
    form = await request.form
    text = form.get("content", "")
    settings = get_state().settings

    async def work(db: AsyncSession, initiative: Initiative, actor: Actor) -> str:
        await conversation.post_message(db, settings, initiative, actor, text)
        return _("Your message has been posted.")

    return await _act(initiative_id, work)


@blueprint.post("/initiatives/<int:initiative_id>/comments")
async def add_comment(initiative_id: int) -> Response:
    """Comment under an update, a task, a comment or the initiative."""
    form = await request.form
    text = form.get("content", "")
    update_id = await _form_int(form, "update_id")
    task_id = await _form_int(form, "task_id")
    parent_id = await _form_int(form, "parent_id")
    settings = get_state().settings
    back = (
        url_for("initiatives.task_page", initiative_id=initiative_id, task_id=task_id)
        if task_id else None
    )

    async def work(db: AsyncSession, initiative: Initiative, actor: Actor) -> str:
        await conversation.add_comment(
            db, settings, initiative, actor, text, update_id=update_id, task_id=task_id,
            parent_id=parent_id,
        )
        return _("Your comment has been posted.")

    return await _act(initiative_id, work, back)


@blueprint.post(
    "/initiatives/<int:initiative_id>/comments/<int:comment_id>/<any(edit, delete):action>"
)
async def change_comment(initiative_id: int, comment_id: int, action: str) -> Response:
    """The author edits or deletes their own comment."""
    form = await request.form
    text = form.get("content", "")
    task_id = await _form_int(form, "task_id")
    settings = get_state().settings
    back = (
        url_for("initiatives.task_page", initiative_id=initiative_id, task_id=task_id)
        if task_id else None
    )

    async def work(db: AsyncSession, initiative: Initiative, actor: Actor) -> str:
        if action == "edit":
            await conversation.edit_comment(db, settings, initiative, actor, comment_id, text)
            return _("Your comment has been changed.")
        await conversation.delete_comment(db, settings, initiative, actor, comment_id)
        return _("Your comment has been deleted.")

    return await _act(initiative_id, work, back)


# ------------------------------------------------------------------ board


@blueprint.get("/initiatives/<int:initiative_id>/board")
async def board(initiative_id: int) -> ViewResult:
    """Lanes and tasks; partners add, move, complete and remove them (works without JS)."""
    state = get_state()
    async with state.db.session() as db:
        initiative, known = await _load_visible(db, initiative_id)
        frame = await _initiative_frame(db, initiative, known)
        lanes = await initiative_board.board(db, initiative)
    return await render(
        "initiatives/board.html", lanes=lanes, is_overdue=initiative_board.is_overdue, **frame
    )


def _board_url(initiative_id: int) -> str:
    return url_for("initiatives.board", initiative_id=initiative_id)


@blueprint.post("/initiatives/<int:initiative_id>/lanes")
async def add_lane(initiative_id: int) -> Response:
    """A partner adds a lane."""
    form = await request.form
    name = form.get("name", "")
    settings = get_state().settings

    async def work(db: AsyncSession, initiative: Initiative, actor: Actor) -> str:
        await initiative_board.create_lane(db, settings, initiative, actor, name)
        return _("The lane has been added.")

    return await _act(initiative_id, work, _board_url(initiative_id))


@blueprint.post("/initiatives/<int:initiative_id>/lanes/<int:lane_id>/<any(rename, delete):action>")
async def change_lane(initiative_id: int, lane_id: int, action: str) -> Response:
    """A partner renames or removes a lane."""
    form = await request.form
    name = form.get("name", "")
    settings = get_state().settings

    async def work(db: AsyncSession, initiative: Initiative, actor: Actor) -> str:
        if action == "rename":
            await initiative_board.rename_lane(db, settings, initiative, actor, lane_id, name)
            return _("The lane has been renamed.")
        await initiative_board.delete_lane(db, settings, initiative, actor, lane_id)
        return _("The lane has been removed; its tasks moved to the first lane.")

    return await _act(initiative_id, work, _board_url(initiative_id))


TASK_FIELDS = ("name", "description", "due_date", "tags")


@blueprint.post("/initiatives/<int:initiative_id>/tasks")
async def add_task(initiative_id: int) -> Response:
    """A partner adds a task to a lane."""
    form = await request.form
    values = {key: form.get(key, "") for key in TASK_FIELDS}
    lane_id = await _form_int(form, "lane_id")
    settings = get_state().settings

    async def work(db: AsyncSession, initiative: Initiative, actor: Actor) -> str:
        await initiative_board.add_task(
            db, settings, initiative, actor, lane_id=lane_id, **values
        )
        return _("The task has been added.")

    return await _act(initiative_id, work, _board_url(initiative_id))


@blueprint.post(
    "/initiatives/<int:initiative_id>/tasks/<int:task_id>/"
    "<any(move, complete, reopen, delete, edit):action>"
)
async def change_task(initiative_id: int, task_id: int, action: str) -> Response:
    """A partner moves (lane + position), completes, reopens, edits or deletes a task."""
    form = await request.form
    lane_id = await _form_int(form, "lane_id")
    position = await _form_int(form, "position")
    values = {key: form[key] for key in TASK_FIELDS if key in form}
    back = form.get("back", "")
    settings = get_state().settings
    target = (
        url_for("initiatives.task_page", initiative_id=initiative_id, task_id=task_id)
        if back == "task" and action != "delete" else _board_url(initiative_id)
    )

    async def work(db: AsyncSession, initiative: Initiative, actor: Actor) -> str:
        if action == "move":
            if lane_id is None:
                raise ServiceError("Please choose a lane.", field="lane_id")
            # People count places from 1; the service counts from 0.
            place = None if position is None else max(0, position - 1)
            await initiative_board.move_task(
                db, settings, initiative, actor, task_id, lane_id=lane_id, position=place
            )
            return _("The task has been moved.")
        if action == "complete":
            await initiative_board.complete_task(db, settings, initiative, actor, task_id)
            return _("The task is done.")
        if action == "reopen":
            await initiative_board.reopen_task(db, settings, initiative, actor, task_id)
            return _("The task has been reopened.")
        if action == "edit":
            await initiative_board.edit_task(db, settings, initiative, actor, task_id, **values)
            return _("The task has been saved.")
        await initiative_board.delete_task(db, settings, initiative, actor, task_id)
        return _("The task has been deleted.")

    return await _act(initiative_id, work, target)


@blueprint.get("/initiatives/<int:initiative_id>/tasks/<int:task_id>")
async def task_page(initiative_id: int, task_id: int) -> ViewResult:
    """A task: its details, offers (with decisions and ratings), conversation and matches.

    The same URL is the task's id: ActivityPub clients get its ``Ticket`` JSON.
    """
    if wants_activity_json():
        return await initiative_json.task_response(initiative_id, task_id)
    state = get_state()
    viewer = _viewer()
    async with state.db.session() as db:
        initiative, known = await _load_visible(db, initiative_id)
        try:
            task = await initiative_board.get_task(db, initiative, task_id)
        except NotFound:
            abort(404)
        frame = await _initiative_frame(db, initiative, known)
        offers = await contributions.for_task(db, task)
        ratings = {offer.id: await contributions.ratings_of(db, offer) for offer in offers}
        may_decide = {
            offer.id: viewer is not None
            and await contributions.may_decide(db, initiative, viewer, offer)
            for offer in offers
        }
        comments = (await conversation.comments_by_update(db, initiative, task_id=task.id)).get(
            None, []
        )
        help_people = await matching.who_could_help(db, initiative, task)
        lanes = await initiative_board.lanes_of(db, initiative)
    return await render(
        "initiatives/task.html", task=task, offers=offers, ratings=ratings,
        may_decide=may_decide, comments=comments, help_people=help_people, lanes=lanes,
        states=state_labels(), is_overdue=initiative_board.is_overdue, **frame,
    )


# ------------------------------------------------------------------ contributions


@blueprint.post("/initiatives/<int:initiative_id>/tasks/<int:task_id>/offer")
async def offer(initiative_id: int, task_id: int) -> Response:
    """Offer hours or resources for a task."""
    form = await request.form
    settings = get_state().settings

    async def work(db: AsyncSession, initiative: Initiative, actor: Actor) -> str:
        await contributions.offer(
            db, settings, initiative, actor, task_id, hours=form.get("hours", ""),
            resources=form.get("resources", ""), motivation=form.get("motivation", ""),
        )
        return _("Thank you! The partners will look at your offer.")

    return await _act(
        initiative_id, work,
        url_for("initiatives.task_page", initiative_id=initiative_id, task_id=task_id),
    )


@blueprint.post(
    "/initiatives/<int:initiative_id>/contributions/<int:contribution_id>/"
    "<any(accept, reject, withdraw, rate):action>"
)
async def contribution_action(initiative_id: int, contribution_id: int, action: str) -> Response:
    """Accept, reject, withdraw or rate a contribution."""
    form = await request.form
    settings = get_state().settings
    task_id = await _form_int(form, "task_id")
    back = (
        url_for("initiatives.task_page", initiative_id=initiative_id, task_id=task_id)
        if task_id else None
    )

    async def work(db: AsyncSession, initiative: Initiative, actor: Actor) -> str:
        if action in ("accept", "reject"):
            made = await contributions.decide(
                db, settings, initiative, actor, contribution_id, accept=action == "accept"
            )
            if action == "accept":
                return _("%(name)s's offer has been accepted.", name=made.actor.name)
            return _("The offer has been declined.")
        if action == "withdraw":
            await contributions.withdraw(db, settings, initiative, actor, contribution_id)
            return _("Your offer has been withdrawn.")
        await contributions.rate(
            db, settings, initiative, actor, contribution_id, score=form.get("score", ""),
            feedback=form.get("feedback", ""),
        )
        return _("Your rating has been saved.")

    return await _act(initiative_id, work, back)


# ------------------------------------------------------------------ matches


@blueprint.get("/initiatives/matches")
@login_required
async def matches() -> ViewResult:
    """Initiatives and tasks that need the logged-in person's talents."""
    state = get_state()
    async with state.db.session() as db:
        found = await matching.needs_your_talents(db, g.user.actor)
        talents = sorted(await matching.talents_of(db, g.user.actor))
    return await render(
        "initiatives/matches.html", matches=found, talents=talents, phases=phase_labels()
    )


# ------------------------------------------------------------------ notifications


@blueprint.get("/notifications")
@login_required
async def notifications_page() -> ViewResult:
    """The logged-in person's notifications, newest first."""
    state = get_state()
    async with state.db.session() as db:
        items = await notifications.list_notifications(db, g.user.actor, limit=100)
        unread = await notifications.unread_count(db, g.user.actor)
    return await render(
        "initiatives/notifications.html",
        items=[(n, notification_label(n), notification_link(n)) for n in items], unread=unread,
    )


@blueprint.post("/notifications/read")
@login_required
async def notifications_read() -> Response:
    """Mark everything as read."""
    state = get_state()
    async with state.db.session() as db:
        await notifications.mark_all_read(db, g.user.actor)
    await flash(_("All notifications are marked as read."), "success")
    return _redirect(url_for("initiatives.notifications_page"))


@blueprint.route("/notifications/settings", methods=["GET", "POST"])
@login_required
async def notification_settings() -> ViewResult:
    """Per kind and channel: in the app, by e-mail at once, in the digest; how often the
    digest mail comes (issue 12)."""
    state = get_state()
    if request.method == "POST":
        form = await request.form
        async with state.db.session() as db:
            for kind in notifications.KINDS:
                await notifications.set_setting(
                    db, g.user.actor, kind, in_app=form.get(f"{kind}-app") == "on",
                    digest=form.get(f"{kind}-digest") == "on",
                    email=form.get(f"{kind}-email") == "on",
                )
            frequency = form.get("digest_frequency", "")
            if frequency in notifications.DIGEST_FREQUENCIES:
                await notifications.set_digest_frequency(db, g.user.actor, frequency)
        await flash(_("Your notification settings have been saved."), "success")
        return _redirect(url_for("initiatives.notification_settings"))
    async with state.db.session() as db:
        current = await notifications.settings_of(db, g.user.actor)
        frequency = await notifications.digest_frequency(db, g.user.actor)
    return await render(
        "initiatives/notification_settings.html", current=current,
        labels=notification_kind_labels(), kinds=notifications.KINDS,
        frequency=frequency, email_confirmed=g.user.email_confirmed_at is not None,
    )


@blueprint.get("/notifications/digest")
@login_required
async def digest() -> ViewResult:
    """The daily digest: the last week of notifications grouped by day."""
    state = get_state()
    async with state.db.session() as db:
        groups = await notifications.digest(db, g.user.actor)
    return await render(
        "initiatives/digest.html",
        groups=[
            (day, [(n, notification_label(n), notification_link(n)) for n in items])
            for day, items in groups
        ],
    )
