"""NodeInfo 2.0/2.1 documents and host-meta (XRD and JSON) for discovery."""

from __future__ import annotations

from typing import Any, Literal
from xml.sax.saxutils import quoteattr

SCHEMA_20 = "http://nodeinfo.diaspora.software/ns/schema/2.0"
SCHEMA_21 = "http://nodeinfo.diaspora.software/ns/schema/2.1"


def _base(base_url: str) -> str:
    return base_url.rstrip("/")


def well_known_nodeinfo(base_url: str) -> dict[str, Any]:
    """Return ``/.well-known/nodeinfo``: links to our 2.1 and 2.0 documents."""
    base = _base(base_url)
    return {
        "links": [
            {"rel": SCHEMA_21, "href": f"{base}/nodeinfo/2.1"},
            {"rel": SCHEMA_20, "href": f"{base}/nodeinfo/2.0"},
        ]
    }


def build_nodeinfo(
    version: Literal["2.0", "2.1"],
    software_name: str,
    software_version: str,
    repository: str,
    homepage: str,
    open_registrations: bool,
    users_total: int,
    users_active_month: int,
    users_active_halfyear: int,
    local_posts: int,
    metadata: dict[str, Any],
) -> dict[str, Any]:
    """Build a NodeInfo document; ``repository``/``homepage`` only exist in schema 2.1.

    The software name must match ``^[a-z0-9-]+$`` per the schema, so it is lowercased.
    """
    software: dict[str, str] = {"name": software_name.lower(), "version": software_version}
    if version == "2.1":
        software["repository"] = repository
        software["homepage"] = homepage
    return {
        "version": version,
        "software": software,
        "protocols": ["activitypub"],
        "services": {"inbound": [], "outbound": []},
        "openRegistrations": open_registrations,
        "usage": {
            "users": {
                "total": users_total,
                "activeMonth": users_active_month,
                "activeHalfyear": users_active_halfyear,
            },
            "localPosts": local_posts,
        },
        "metadata": metadata,
    }


def lrdd_template(base_url: str) -> str:
    """Return the WebFinger URL template advertised by host-meta."""
    return f"{_base(base_url)}/.well-known/webfinger?resource={{uri}}"


def host_meta_xml(base_url: str) -> str:
    """Return ``/.well-known/host-meta`` as XRD (``application/xrd+xml``)."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">\n'
        f'  <Link rel="lrdd" template={quoteattr(lrdd_template(base_url))}/>\n'
        "</XRD>\n"
    )


def host_meta_json(base_url: str) -> dict[str, Any]:
    """Return ``/.well-known/host-meta.json`` (JRD form of host-meta)."""
    return {"links": [{"rel": "lrdd", "template": lrdd_template(base_url)}]}
