"""WebFinger (RFC 7033): parsing resources, building JRDs and looking up remote handles."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

from .vocab import ACTIVITY_JSON

__all__ = [
    "PROFILE_PAGE_REL",
    "SUBSCRIBE_REL",
    "WebFingerError",
    "build_jrd",
    "lookup",
    "parse_resource",
]

PROFILE_PAGE_REL = "http://webfinger.net/rel/profile-page"
SUBSCRIBE_REL = "http://ostatus.org/schema/1.0/subscribe"
JRD_JSON = "application/jrd+json"


class WebFingerError(Exception):
    """A resource could not be parsed or resolved to an ActivityPub actor."""


def parse_resource(resource: str) -> tuple[str, str] | str:
    """Parse a WebFinger resource or handle.

    Returns ``(username, host)`` for ``acct:name@host[:port]``, ``name@host`` and
    ``@name@host`` (host lowercased), or the URL itself for ``http(s)://`` resources.
    Raises ``WebFingerError`` for anything else.
    """
    text = resource.strip()
    lower = text.lower()
    if lower.startswith(("https://", "http://")):
        if not urlsplit(text).hostname:
            raise WebFingerError(f"URL without host: {resource!r}")
        return text
    if lower.startswith("acct:"):
        text = text[5:]
    text = text.removeprefix("@")
    name, sep, host = text.rpartition("@")
    if not sep or not name or not host or "@" in name or "/" in host or " " in text:
        raise WebFingerError(f"not an account handle: {resource!r}")
    return name, host.lower()


def build_jrd(
    subject: str,
    actor_id: str,
    profile_url: str | None,
    aliases: list[str],
    subscribe_template: str | None = None,
) -> dict[str, Any]:
    """Build the JRD answering a WebFinger query for one of our actors.

    ``subscribe_template`` (e.g. ``https://host/authorize_interaction?uri={uri}``) is the
    OStatus remote-follow link Mastodon publishes; optional.
    """
    links: list[dict[str, str]] = [
        {"rel": "self", "type": ACTIVITY_JSON, "href": actor_id},
    ]
    if profile_url:
        links.append({"rel": PROFILE_PAGE_REL, "type": "text/html", "href": profile_url})
    if subscribe_template:
        links.append({"rel": SUBSCRIBE_REL, "template": subscribe_template})
    return {"subject": subject, "aliases": list(aliases), "links": links}


def _self_link(jrd: Any) -> str | None:
    if not isinstance(jrd, dict):
        return None
    for link in jrd.get("links") or []:
        if not isinstance(link, dict) or link.get("rel") != "self":
            continue
        kind = str(link.get("type") or "")
        # Mastodon publishes application/activity+json; some servers (Pleroma, older Friendica)
        # use the ld+json profile form instead.
        if kind == ACTIVITY_JSON or kind.startswith("application/ld+json"):
            href = link.get("href")
            if isinstance(href, str) and href.startswith(("https://", "http://")):
                return href
    return None


async def lookup(handle: str, client: httpx.AsyncClient, *, allow_http: bool) -> str:
    """Resolve ``name@host`` (or ``acct:``/``@`` forms) to an actor id via WebFinger.

    Tries https first, like Mastodon. Plain http is attempted only when ``allow_http`` is set
    (loopback test instances run on http with a port). Raises ``WebFingerError``.
    """
    parsed = parse_resource(handle)
    if isinstance(parsed, str):
        raise WebFingerError("lookup needs an account handle, not a URL")
    name, host = parsed
    resource = f"acct:{name}@{host}"
    schemes = ["https", "http"] if allow_http else ["https"]
    last_error = "no attempt"
    for scheme in schemes:
        url = f"{scheme}://{host}/.well-known/webfinger"
        try:
            response = await client.get(
                url,
                params={"resource": resource},
                headers={"Accept": f"{JRD_JSON}, application/json"},
                follow_redirects=False,
            )
        except httpx.HTTPError as exc:
            last_error = f"{scheme}: {type(exc).__name__}: {exc}"
            continue
        if response.status_code != 200:
            last_error = f"{scheme}: HTTP {response.status_code}"
            continue
        try:
            jrd = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            last_error = f"{scheme}: invalid JSON"
            continue
        actor_id = _self_link(jrd)
        if actor_id is None:
            raise WebFingerError(f"{resource}: no ActivityPub self link in WebFinger response")
        return actor_id
    raise WebFingerError(f"WebFinger lookup of {resource} failed ({last_error})")
