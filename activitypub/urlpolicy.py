"""Outgoing URL policy (SSRF guard): which URLs the server may fetch or deliver to."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# ``resolver(host, port)`` -> the addresses of ``host``; raises ``UrlRefused`` when it has none.
Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_UNIQUE_LOCAL = ipaddress.ip_network("fc00::/7")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class UrlRefused(Exception):
    """The URL is not allowed by the policy (bad scheme, private address, ...)."""


def is_forbidden_address(addr: IPAddress) -> bool:
    """Tell whether ``addr`` is non-public: private, loopback, link-local, CGNAT and so on."""
    if isinstance(addr, ipaddress.IPv6Address):
        mapped = addr.ipv4_mapped or addr.sixtofour
        if mapped is None and addr in _NAT64:
            # NAT64 gateways translate 64:ff9b::a.b.c.d to a.b.c.d; judge the IPv4 target.
            mapped = ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
        if mapped is not None:
            return is_forbidden_address(mapped)
        if addr in _UNIQUE_LOCAL:
            return True
    elif addr in _CGNAT:
        return True
    return (
        addr.is_private
        or addr.is_loopback
        or addr.is_link_local
        or addr.is_multicast
        or addr.is_reserved
        or addr.is_unspecified
        or not addr.is_global
    )


class UrlPolicy:
    """Decides whether a URL may be contacted, and which addresses a connection may use.

    With ``allow_private=False`` (production) only https URLs whose host resolves exclusively
    to public addresses pass. ``allow_private=True`` is for loopback tests and private
    deployments: http and private addresses are then accepted. ``allow_http`` (default: the
    same as ``allow_private``) allows plain http on its own; ``resolver`` replaces the system
    resolver (tests use it to play a DNS server that changes its answers).

    The check of a URL and the connection are two separate lookups, so a name whose answer
    flips between a public and a private address (DNS rebinding) would pass the first and
    reach the second. :meth:`connect_addresses` is therefore what the connection itself uses
    (see ``activitypub.pinned``): it resolves once, judges every answer, and the socket goes to
    exactly those addresses.
    """

    def __init__(
        self,
        allow_private: bool,
        *,
        allow_http: bool | None = None,
        resolver: Resolver | None = None,
    ) -> None:
        """Create a policy; ``allow_private`` allows http and non-public addresses."""
        self.allow_private = allow_private
        self.allow_http = allow_private if allow_http is None else allow_http
        self.resolver = resolver

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        """Resolve ``host`` to its addresses (with the injected resolver when there is one)."""
        if self.resolver is not None:
            return await self.resolver(host, port)
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise UrlRefused(f"cannot resolve {host}: {exc}") from exc
        out: list[IPAddress] = []
        for info in infos:
            raw = str(info[4][0]).split("%", 1)[0]  # drop an IPv6 zone id
            out.append(ipaddress.ip_address(raw))
        return out

    def forbids(self, addr: IPAddress) -> bool:
        """Tell whether a connection to ``addr`` is refused (tests narrow "public" here)."""
        return is_forbidden_address(addr)

    async def connect_addresses(self, host: str, port: int) -> list[IPAddress] | None:
        """The addresses a connection to ``host:port`` may use, every one of them checked.

        Returns None when every address is allowed (``allow_private``): the connection then
        resolves the name itself. Raises ``UrlRefused`` when any answer is forbidden: a name
        that mixes public and private answers is a rebinding attempt, not a public host.
        """
        if self.allow_private:
            return None
        host = host.strip("[]")
        try:
            literal: IPAddress | None = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None:
            # No DNS for literals. Odd spellings ("2130706433", "0x7f.1") are not literals to
            # ipaddress, so they go through getaddrinfo and are judged by what they resolve to.
            addresses: list[IPAddress] = [literal]
        else:
            addresses = await self.resolve(host, port)
        if not addresses:
            raise UrlRefused(f"{host} resolves to no address")
        for addr in addresses:
            if self.forbids(addr):
                raise UrlRefused(f"{host} resolves to non-public address {addr}")
        return addresses

    async def check(self, url: str) -> None:
        """Raise ``UrlRefused`` unless ``url`` may be contacted under this policy.

        An early, cheap refusal; the connection checks again what it really connects to.
        """
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise UrlRefused(f"malformed URL {url!r}") from exc
        scheme = parts.scheme.lower()
        if scheme != "https" and not (scheme == "http" and self.allow_http):
            raise UrlRefused(f"scheme {scheme!r} not allowed: {url}")
        if parts.username is not None or parts.password is not None or "@" in parts.netloc:
            raise UrlRefused(f"URL with userinfo refused: {url}")
        host = parts.hostname
        if not host:
            raise UrlRefused(f"URL without host: {url}")
        await self.connect_addresses(host, port or (443 if scheme == "https" else 80))


class PolicyTransport(httpx.AsyncBaseTransport):
    """An httpx transport that checks every outgoing request against a :class:`UrlPolicy`.

    Because it sits below the client, redirects the client follows are checked too. The URL
    check and the connection resolve the name separately; wrap an
    ``activitypub.pinned.PinnedTransport`` on the same policy so the socket goes only to
    addresses that were checked (the app's client uses one directly).
    """

    def __init__(
        self, policy: UrlPolicy, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        """Wrap ``transport`` (default: a fresh ``httpx.AsyncHTTPTransport``)."""
        self.policy = policy
        self.transport = transport or httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Check the request URL, then pass the request to the wrapped transport."""
        await self.policy.check(str(request.url))
        return await self.transport.handle_async_request(request)

    async def aclose(self) -> None:
        """Close the wrapped transport."""
        await self.transport.aclose()
