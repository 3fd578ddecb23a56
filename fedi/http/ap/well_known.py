"""Discovery: WebFinger, host-meta and NodeInfo.

WebFinger is how ``@name@host`` becomes an actor id. Mastodon resolves the handle, fetches
the actor, then WebFingers ``preferredUsername@<host of the actor id>`` again and insists on
getting the same id back, so the answer here must match ``/users/<name>`` exactly.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

import orjson
from quart import Blueprint, Response, request
from sqlalchemy import func, select

from activitypub import nodeinfo as ni
from activitypub.vocab import ACTIVITY_JSON
from activitypub.webfinger import JRD_JSON, WebFingerError, build_jrd, parse_resource
from fedi import __version__
from fedi.domain.instance_settings import get_registration_mode
from fedi.domain.profiles import find_local_person
from fedi.domain.tribes import find_tribe
from fedi.federation.instance_actor import instance_actor_id
from fedi.settings import Settings
from fedi.state import get_state
from models import ApObject, User, utcnow

blueprint = Blueprint("well_known", __name__)

SOFTWARE_NAME = "fedi-partup"
# The public source repository, once there is one; NodeInfo 2.1 leaves it out while empty.
REPOSITORY_URL = ""
# FEP-2677: the instance actor is advertised with this rel (in NodeInfo and WebFinger).
APPLICATION_REL = "https://www.w3.org/ns/activitystreams#Application"
_DEFAULT_PORTS = {"http": "80", "https": "443"}


def _with_cors(response: Response) -> Response:
    """Discovery documents are public and read by web clients on other origins."""
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _json(document: Any, content_type: str, status: int = 200) -> Response:
    return _with_cors(Response(orjson.dumps(document), status=status, content_type=content_type))


def _error(status: int, message: str) -> Response:
    return _json({"error": message}, "application/json", status)


def _is_our_host(settings: Settings, host: str) -> bool:
    """Whether ``host`` (as typed in a handle, maybe with a port) is this instance."""
    host = host.lower().rstrip(".")
    if host == settings.host:
        return True
    # "example.org:443" names the same instance as "example.org" on https.
    scheme = "https" if settings.secure else "http"
    return ":" not in settings.host and host == f"{settings.host}:{_DEFAULT_PORTS[scheme]}"


def _instance_jrd(settings: Settings, subject: str) -> dict[str, Any]:
    """The JRD pointing at the instance actor (FEP-d556 server-level discovery)."""
    actor_id = instance_actor_id(settings)
    jrd = build_jrd(subject, actor_id, settings.base_url + "/about", [actor_id])
    jrd["links"].append({"rel": APPLICATION_REL, "type": ACTIVITY_JSON, "href": actor_id})
    return jrd


def _username_from_url(settings: Settings, url: str, prefixes: tuple[str, ...]) -> str | None:
    """The name in one of our actor or profile URLs under ``prefixes``, or None."""
    for prefix in (settings.url(p) for p in prefixes):
        if url.startswith(prefix):
            name = url[len(prefix):]
            if name and "/" not in name and "?" not in name and "#" not in name:
                return name
    return None


@blueprint.get("/.well-known/webfinger")
async def webfinger() -> Response:
    """Answer ``?resource=acct:name@host``, an actor URL, a profile URL or the instance URL."""
    state = get_state()
    settings = state.settings
    resource = request.args.get("resource", "").strip()
    if not resource:
        return _error(400, "missing resource parameter")
    try:
        parsed = parse_resource(resource)
    except WebFingerError:
        return _error(400, "unsupported resource")
    if isinstance(parsed, str):
        url = parsed
        if url.rstrip("/") == settings.base_url or url == instance_actor_id(settings):
            return _json(_instance_jrd(settings, settings.base_url + "/"), JRD_JSON)
        username = _username_from_url(settings, url, ("/users/", "/@"))
        tribe_name = _username_from_url(settings, url, ("/tribes/",))
    else:
        username, host = parsed
        tribe_name = username
        if not _is_our_host(settings, host):
            return _error(404, "not on this server")
        # Mastodon and others find the instance actor as acct:<domain>@<host> (FEP-d556/2677).
        if username.lower() in (settings.domain, settings.host):
            return _json(
                _instance_jrd(settings, f"acct:{settings.domain}@{settings.host}"), JRD_JSON
            )
    if not username and not tribe_name:
        return _error(404, "not found")
    async with state.db.session() as db:
        actor = await find_local_person(db, username) if username else None
        if actor is None and tribe_name:
            # A tribe is a Group actor sharing the people's namespace; its page is its id.
            tribe = await find_tribe(db, tribe_name)
            actor = tribe.actor if tribe is not None else None
    if actor is None:
        return _error(404, "not found")
    profile_url = actor.url or settings.url(f"/@{actor.username}")
    jrd = build_jrd(
        f"acct:{actor.username}@{settings.host}", actor.ap_id, profile_url,
        [actor.ap_id, profile_url],
    )
    return _json(jrd, JRD_JSON)


@blueprint.get("/.well-known/host-meta")
async def host_meta() -> Response:
    """host-meta as XRD: the WebFinger URL template (older Mastodon and Friendica read it)."""
    base = get_state().settings.base_url
    if "json" in request.headers.get("Accept", ""):
        return _json(ni.host_meta_json(base), JRD_JSON)
    return _with_cors(Response(ni.host_meta_xml(base), content_type="application/xrd+xml"))


@blueprint.get("/.well-known/host-meta.json")
async def host_meta_json() -> Response:
    """host-meta in its JSON form."""
    return _json(ni.host_meta_json(get_state().settings.base_url), JRD_JSON)


@blueprint.get("/.well-known/nodeinfo")
async def nodeinfo_links() -> Response:
    """Where the NodeInfo documents are, plus the instance actor (FEP-2677)."""
    settings = get_state().settings
    document = ni.well_known_nodeinfo(settings.base_url)
    document["links"].append({"rel": APPLICATION_REL, "href": instance_actor_id(settings)})
    return _json(document, "application/json")


async def nodeinfo_document(version: Literal["2.0", "2.1"]) -> dict[str, Any]:
    """Build the NodeInfo document from live counts."""
    state = get_state()
    settings = state.settings
    now = utcnow()
    active = (User.approved.is_(True), User.disabled.is_(False))
    async with state.db.session() as db:
        total = await db.scalar(select(func.count(User.id)).where(*active)) or 0
        month = await db.scalar(
            select(func.count(User.id)).where(
                *active, User.last_login_at >= now - timedelta(days=30)
            )
        ) or 0
        halfyear = await db.scalar(
            select(func.count(User.id)).where(
                *active, User.last_login_at >= now - timedelta(days=180)
            )
        ) or 0
        posts = await db.scalar(
            select(func.count(ApObject.id)).where(
                ApObject.local.is_(True), ApObject.deleted_at.is_(None)
            )
        ) or 0
        mode = await get_registration_mode(db, settings)
    document = ni.build_nodeinfo(
        version,
        software_name=SOFTWARE_NAME,
        software_version=__version__,
        repository=REPOSITORY_URL,
        homepage=settings.base_url + "/about",
        # Like Mastodon: registrations that need approval still count as open.
        open_registrations=mode in ("open", "approval"),
        users_total=int(total),
        users_active_month=int(month),
        users_active_halfyear=int(halfyear),
        local_posts=int(posts),
        metadata={"nodeName": settings.instance_name, "registrationMode": mode},
    )
    if not REPOSITORY_URL:
        document["software"].pop("repository", None)
    # Apps and crawlers look here for a Mastodon-compatible client API (issue 14); these
    # are the feature names Pleroma and Akkoma publish for the same purpose.
    document["metadata"]["features"] = ["mastodon_api", "mastodon_api_streaming"]
    document["metadata"]["clientApi"] = {"mastodon": "4.3.0", "oauth": "/oauth/authorize"}
    return document


def _nodeinfo_type(version: str) -> str:
    schema = ni.SCHEMA_21 if version == "2.1" else ni.SCHEMA_20
    return f'application/json; profile="{schema}#"'


@blueprint.get("/nodeinfo/2.0")
async def nodeinfo_20() -> Response:
    """NodeInfo 2.0."""
    return _json(await nodeinfo_document("2.0"), _nodeinfo_type("2.0"))


@blueprint.get("/nodeinfo/2.1")
async def nodeinfo_21() -> Response:
    """NodeInfo 2.1."""
    return _json(await nodeinfo_document("2.1"), _nodeinfo_type("2.1"))
