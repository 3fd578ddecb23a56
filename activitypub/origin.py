"""Strict origins: ``scheme://host[:port]`` in one canonical spelling, or nothing.

Comparing hosts alone let an ``https://`` id (or a scheme-relative ``//host`` one) speak for
an ``http://`` actor, and ``:08220`` pass for ``:8220``. An origin here is the scheme, host and
port of a URL, lower-cased, the default port left out; any URL that is not plainly
``http(s)://host[:port]/...`` (no scheme, userinfo, a port with leading zeros or out of range,
no host) has no origin at all, and two URLs are same-origin only when both have one and
they are equal.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

__all__ = ["origin_of", "same_origin"]

_DEFAULT_PORTS = {"http": 80, "https": 443}
# The port as written after the last ":" of the netloc: digits, no leading zero.
_PORT = re.compile(r"[1-9][0-9]{0,4}")


def origin_of(url: str) -> str:
    """The canonical origin of ``url`` (``https://example.org``), or "" when it has none."""
    if not isinstance(url, str):
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.netloc or "@" in parts.netloc:
        return ""
    host = (parts.hostname or "").lower()
    if not host:
        return ""
    netloc = parts.netloc
    # The raw port text: after "]" for an IPv6 literal, else after the only ":".
    tail = netloc.rsplit("]", 1)[1] if netloc.startswith("[") else netloc
    port: int | None = None
    if ":" in tail:
        raw = tail.rsplit(":", 1)[1]
        if raw:  # "host:" (empty port) means the default
            if not _PORT.fullmatch(raw) or int(raw) > 65535:
                return ""
            port = int(raw)
    if ":" in host:
        host = f"[{host}]"
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def same_origin(first: str, second: str) -> bool:
    """Whether both URLs have an origin and it is the same one."""
    origin = origin_of(first)
    return bool(origin) and origin == origin_of(second)
