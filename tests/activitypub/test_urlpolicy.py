"""The outgoing URL policy and the transport that enforces it on every hop."""

from __future__ import annotations

import ipaddress
from typing import ClassVar

import httpx
import pytest
from loopback_server import LoopbackRequest, LoopbackServer

from activitypub.urlpolicy import IPAddress, PolicyTransport, UrlPolicy, UrlRefused

REFUSED_IN_PRODUCTION = [
    "http://tribes.example/users/ann",  # plain http
    "https://127.0.0.1/users/ann",
    "https://10.1.2.3/",
    "https://172.16.0.9/",
    "https://192.168.1.1/",
    "https://169.254.169.254/latest/meta-data/",
    "https://100.64.0.1/",  # CGNAT
    "https://0.0.0.0/",
    "https://224.0.0.1/",
    "https://240.0.0.1/",  # reserved
    "https://[::1]/",
    "https://[fd00::1]/",
    "https://[fe80::1]/",
    "https://[::ffff:127.0.0.1]/",  # IPv4-mapped loopback
    "https://[::ffff:10.0.0.1]/",
    "https://[64:ff9b::7f00:1]/",  # NAT64 to 127.0.0.1
    "https://[2002:a00:1::]/",  # 6to4 wrapping 10.0.0.1
    "https://localhost/",  # resolves to loopback
    "https://localhost:8443/",
]


@pytest.mark.parametrize("url", REFUSED_IN_PRODUCTION)
async def test_production_policy_refuses(url: str) -> None:
    with pytest.raises(UrlRefused):
        await UrlPolicy(allow_private=False).check(url)


@pytest.mark.parametrize("url", [u for u in REFUSED_IN_PRODUCTION if "240.0.0.1" not in u])
async def test_private_policy_allows(url: str) -> None:
    await UrlPolicy(allow_private=True).check(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://user:pw@tribes.example/",
        "https://user@127.0.0.1/",
        "ftp://tribes.example/x",
        "file:///etc/passwd",
        "https:///nohost",
        "https://tribes.example:99999/",
    ],
)
async def test_always_refused(url: str) -> None:
    for allow in (False, True):
        with pytest.raises(UrlRefused):
            await UrlPolicy(allow_private=allow).check(url)


class FakeDns(UrlPolicy):
    """A production policy with canned DNS answers, so no real resolver is needed."""

    answers: ClassVar[dict[str, list[str]]] = {
        "public.example": ["93.184.216.34", "2606:2800:220:1::1"],
        "rebind.example": ["93.184.216.34", "10.0.0.7"],
    }

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        if host not in self.answers:
            raise UrlRefused(f"cannot resolve {host}")
        return [ipaddress.ip_address(a) for a in self.answers[host]]


async def test_public_names_and_literals_pass() -> None:
    policy = FakeDns(allow_private=False)
    await policy.check("https://public.example/users/ann")
    await policy.check("https://93.184.216.34/users/ann")


async def test_any_private_answer_refuses_the_name() -> None:
    with pytest.raises(UrlRefused, match=r"10\.0\.0\.7"):
        await FakeDns(allow_private=False).check("https://rebind.example/")
    with pytest.raises(UrlRefused):
        await FakeDns(allow_private=False).check("https://unknown.example/")


async def test_decimal_ip_spelling_is_judged_by_resolution() -> None:
    # 2130706433 == 127.0.0.1; glibc's getaddrinfo accepts this spelling.
    with pytest.raises(UrlRefused):
        await UrlPolicy(allow_private=False).check("https://2130706433/")


class RefusePort(UrlPolicy):
    """Allows loopback, except one port: stands in for "a hop to a forbidden address"."""

    def __init__(self, port: int) -> None:
        super().__init__(allow_private=True)
        self.port = port

    async def check(self, url: str) -> None:
        await super().check(url)
        if httpx.URL(url).port == self.port:
            raise UrlRefused(f"port {self.port} refused")


async def test_policy_transport_checks_redirects(loopback: LoopbackServer) -> None:
    async def handler(req: LoopbackRequest) -> tuple[int, dict[str, str], bytes]:
        if req.target == "/start":
            return 302, {"Location": "/ok"}, b""
        if req.target == "/evil":
            return 302, {"Location": "http://127.0.0.1:9/secret"}, b""
        return 200, {}, b"fine"

    loopback.handler = handler
    transport = PolicyTransport(RefusePort(9))
    async with httpx.AsyncClient(transport=transport, follow_redirects=True) as client:
        assert (await client.get(f"{loopback.base}/start")).text == "fine"
        with pytest.raises(UrlRefused, match="port 9"):
            await client.get(f"{loopback.base}/evil")
    assert [r.target for r in loopback.requests] == ["/start", "/ok", "/evil"]

    async with httpx.AsyncClient(transport=PolicyTransport(UrlPolicy(False))) as client:
        with pytest.raises(UrlRefused):
            await client.get(f"{loopback.base}/start")
