"""Connections that go only to addresses the URL policy checked (no DNS rebinding).

Checking a URL and then letting the HTTP client connect resolves the name twice; a name whose
answers flip between a public address and 127.0.0.1 passes the check and reaches loopback
on the connect. Here the connection is made by an httpcore network backend that asks the
policy for the checked addresses of the host and opens the socket to exactly those IPs. TLS
and the ``Host`` header still use the name (httpcore passes the origin host as SNI and for
certificate checks), so nothing changes for the remote server. After connecting, the peer
address of the socket is compared with the checked address as a second line of defence.
"""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Iterable

import httpcore
import httpx

from .urlpolicy import IPAddress, UrlPolicy, UrlRefused

__all__ = ["PinnedBackend", "PinnedTransport"]

# httpcore's socket option shapes (its own alias is private).
_SocketOption = (
    tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]
)


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """Opens TCP connections only to the addresses ``policy`` checked for the host."""

    def __init__(
        self, policy: UrlPolicy, backend: httpcore.AsyncNetworkBackend | None = None
    ) -> None:
        """Wrap ``backend`` (default: httpcore's anyio backend) with the policy's checks."""
        self.policy = policy
        self.backend = backend or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        # httpcore's interface: a per-connect timeout it passes down (ASYNC109).
        timeout: float | None = None,  # noqa: ASYNC109
        local_address: str | None = None,
        socket_options: Iterable[_SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Resolve ``host`` once through the policy and connect to a checked address."""
        addresses = await self.policy.connect_addresses(host, port)
        if addresses is None:  # everything allowed (loopback tests): connect by name
            return await self.backend.connect_tcp(
                host, port, timeout=timeout, local_address=local_address,
                socket_options=socket_options,
            )
        failure: Exception | None = None
        for address in addresses:
            try:
                stream = await self.backend.connect_tcp(
                    str(address), port, timeout=timeout, local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc  # try the next checked address, as a resolver-driven connect would
                continue
            try:
                _verify_peer(stream, address, host)
            except UrlRefused:
                await stream.aclose()
                raise
            return stream
        assert failure is not None  # connect_addresses never returns an empty list
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109
        socket_options: Iterable[_SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Refuse: outgoing federation traffic never uses local sockets."""
        raise UrlRefused(f"unix socket {path} refused")

    async def sleep(self, seconds: float) -> None:
        """Sleep on the wrapped backend (httpcore uses it between connect retries)."""
        await self.backend.sleep(seconds)


def _verify_peer(stream: httpcore.AsyncNetworkStream, expected: IPAddress, host: str) -> None:
    """Raise ``UrlRefused`` unless the socket's peer is ``expected``."""
    peer = stream.get_extra_info("server_addr")
    if not peer:
        return  # a backend without socket details (not the anyio one); the connect was pinned
    raw = str(peer[0]).split("%", 1)[0]
    try:
        actual = ipaddress.ip_address(raw)
    except ValueError as exc:
        raise UrlRefused(f"{host}: unexpected peer address {raw!r}") from exc
    if actual != expected:
        raise UrlRefused(f"{host}: connected to {actual}, expected {expected}")


class PinnedTransport(httpx.AsyncHTTPTransport):
    """httpx's own HTTP transport whose connections go through a :class:`PinnedBackend`.

    httpx does not take a network backend, so the connection pool it built is replaced by an
    identical one that has it. ``verify`` is as for httpx (True, False or an ``SSLContext``).
    """

    def __init__(
        self,
        policy: UrlPolicy,
        *,
        limits: httpx.Limits | None = None,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        """Create the transport for ``policy`` with ``limits`` (httpx's defaults when None)."""
        limits = limits or httpx.Limits(max_connections=100, max_keepalive_connections=20)
        super().__init__(limits=limits, verify=verify)
        self.policy = policy
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=PinnedBackend(policy),
        )
