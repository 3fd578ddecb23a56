"""DNS rebinding: a name that flips between a public address and loopback never reaches loopback.

Two real HTTP listeners share one port: 127.0.0.2 plays a public server and 127.0.0.1 the
internal service an attacker wants to reach. The policy under test refuses private addresses,
except that 127.0.0.2 counts as public here (the only other address a test can listen on).
Its resolver is the test's own DNS server, whose answers for ``rebind.test`` flip between the
two. Fetching (GET) and delivery (POST), through the protocol library and through a running
app's own HTTP client, must never put a request on the internal listener.
"""

from __future__ import annotations

import asyncio
import ipaddress
import itertools
import random
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import orjson
import pytest

from activitypub.delivery import post_activity
from activitypub.fetcher import Fetcher, FetchError
from activitypub.keys import generate_rsa_keypair
from activitypub.pinned import PinnedTransport
from activitypub.sigbase import SigningKey
from activitypub.urlpolicy import IPAddress, UrlPolicy, UrlRefused, is_forbidden_address
from fedi.app import create_app
from fedi.federation.outgoing_http import URL_POLICY
from fedi.federation.runtime import get_federation
from fedi.settings import Settings

PUBLIC = ipaddress.ip_address("127.0.0.2")
INTERNAL = ipaddress.ip_address("127.0.0.1")
NAME = "rebind.test"
ATTEMPTS = 30


@dataclass
class Listener:
    """A plain HTTP/1.1 listener that records the request lines it saw."""

    seen: list[str] = field(default_factory=list)

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Answer one request with a JSON document whose id is on ``rebind.test``."""
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            headers = {
                k.strip().lower(): v.strip()
                for k, _, v in (line.partition(":") for line in lines[1:] if ":" in line)
            }
            length = int(headers.get("content-length", "0"))
            if length:
                await reader.readexactly(length)
            self.seen.append(lines[0])
            path = lines[0].split(" ")[1]
            body = orjson.dumps({"id": f"http://{headers.get('host', '')}{path}"})
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/activity+json\r\n"
                + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@dataclass
class Pair:
    """The public and the internal listener, on the same port."""

    port: int
    public: Listener
    internal: Listener


@pytest.fixture
async def pair() -> AsyncIterator[Pair]:
    """Start the two listeners (retrying until a port is free on both addresses)."""
    public, internal = Listener(), Listener()
    for _ in range(20):
        first = await asyncio.start_server(public.serve, str(PUBLIC), 0)
        port = first.sockets[0].getsockname()[1]
        try:
            second = await asyncio.start_server(internal.serve, str(INTERNAL), port)
        except OSError:
            first.close()
            await first.wait_closed()
            continue
        try:
            yield Pair(port, public, internal)
        finally:
            for server in (first, second):
                server.close()
                await server.wait_closed()
        return
    pytest.fail("no port free on both 127.0.0.1 and 127.0.0.2")


class FlippingDns:
    """The attacker's DNS server: each answer is public or loopback, at (seeded) random."""

    def __init__(self, seed: int = 13) -> None:
        rng = random.Random(seed)
        self.answers: Iterator[IPAddress] = (
            rng.choice([PUBLIC, PUBLIC, INTERNAL]) for _ in itertools.count()
        )
        self.lookups = 0

    async def __call__(self, host: str, port: int) -> list[IPAddress]:
        self.lookups += 1
        return [next(self.answers)]


class TestPolicy(UrlPolicy):
    """Production rules (no private addresses), with 127.0.0.2 standing in for the internet.

    Plain http is allowed because the listeners speak no TLS; that does not touch the address
    checks under test.
    """

    __test__ = False

    def forbids(self, addr: IPAddress) -> bool:
        return addr != PUBLIC and is_forbidden_address(addr)


def make_policy(dns: FlippingDns) -> TestPolicy:
    return TestPolicy(allow_private=False, allow_http=True, resolver=dns)


@pytest.fixture(scope="module")
def key() -> SigningKey:
    private_pem, _ = generate_rsa_keypair()
    return SigningKey("http://localhost:8000/actor#main-key", private_pem)


async def test_the_setup_detects_rebinding_without_pinning(pair: Pair) -> None:
    """Control: check-then-connect with the system resolver is fooled (the old hole).

    The policy's resolver says ``localhost`` is the public address, the system resolver that
    an unpinned transport uses says 127.0.0.1: the check passes and loopback is reached.
    """
    policy = TestPolicy(allow_private=False, allow_http=True, resolver=_always(PUBLIC))
    url = f"http://localhost:{pair.port}/doc"
    await policy.check(url)
    async with httpx.AsyncClient(transport=httpx.AsyncHTTPTransport()) as client:
        await client.get(url)
    assert pair.internal.seen, "the unpinned transport should have reached the internal listener"

    # The same through the pinned transport goes to the checked address only.
    pair.internal.seen.clear()
    async with httpx.AsyncClient(transport=PinnedTransport(policy)) as client:
        assert (await client.get(url)).status_code == 200
    assert pair.internal.seen == []
    assert pair.public.seen == ["GET /doc HTTP/1.1"]


def _always(addr: IPAddress) -> FlippingDns:
    dns = FlippingDns()
    dns.answers = itertools.repeat(addr)
    return dns


async def test_fetch_never_reaches_the_rebound_address(pair: Pair) -> None:
    dns = FlippingDns()
    policy = make_policy(dns)
    fetched = refused = 0
    async with httpx.AsyncClient(transport=PinnedTransport(policy)) as client:
        fetcher = Fetcher(client, policy, signer=None, instance_signer=None)
        for i in range(ATTEMPTS):
            try:
                doc = await fetcher.fetch_json(f"http://{NAME}:{pair.port}/objects/{i}")
            except FetchError as exc:
                assert exc.refused, exc
                refused += 1
            else:
                assert doc["id"].endswith(f"/objects/{i}")
                fetched += 1
    assert pair.internal.seen == []
    assert fetched == len(pair.public.seen) > 0
    assert refused > 0  # the name did flip to loopback, and that was refused
    assert dns.lookups >= ATTEMPTS + fetched  # a fetch that passed looked up twice


async def test_delivery_never_reaches_the_rebound_address(pair: Pair, key: SigningKey) -> None:
    dns = FlippingDns()
    policy = make_policy(dns)
    outcomes: list[str] = []
    async with httpx.AsyncClient(transport=PinnedTransport(policy)) as client:
        for _ in range(ATTEMPTS):
            result = await post_activity(
                client, f"http://{NAME}:{pair.port}/inbox", b'{"type":"Follow"}', key, policy
            )
            outcomes.append(result.outcome)
            if result.outcome != "delivered":
                assert result.outcome == "final" and "refused" in (result.error or "")
    assert pair.internal.seen == []
    assert outcomes.count("delivered") == len(pair.public.seen) > 0
    assert "final" in outcomes


async def test_connection_goes_to_a_checked_address_when_one_answer_is_private(
    pair: Pair,
) -> None:
    """A name answering public AND loopback at once is refused, not half-connected."""

    async def both(host: str, port: int) -> list[IPAddress]:
        return [PUBLIC, INTERNAL]

    policy = TestPolicy(allow_private=False, allow_http=True, resolver=both)
    async with httpx.AsyncClient(transport=PinnedTransport(policy)) as client:
        with pytest.raises(UrlRefused):
            await client.get(f"http://{NAME}:{pair.port}/doc")
    assert pair.internal.seen == [] and pair.public.seen == []


async def test_the_app_client_fetches_and_delivers_pinned(
    pair: Pair, key: SigningKey, tmp_path: Path
) -> None:
    """A running app's own client and fetcher use the policy for the connection itself."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    settings = Settings(
        base_url="http://localhost:8000",
        data_dir=data_dir,
        database_url=f"sqlite+aiosqlite:///{data_dir / 'fedi.sqlite3'}",
        secret_key="test-secret-rebinding",
        allow_private_network=False,
        run_workers=False,
    )
    app = create_app(settings)
    dns = FlippingDns()
    app.state.put(URL_POLICY, make_policy(dns))
    await app.state.db.upgrade()
    async with app.test_app():
        federation = get_federation(app.state)
        assert federation.policy is app.state.get(URL_POLICY)
        http = app.state.http
        assert http is not None
        for i in range(ATTEMPTS):
            try:
                await federation.fetcher.fetch_json(f"http://{NAME}:{pair.port}/o/{i}")
            except FetchError as exc:
                assert exc.refused, exc
            await post_activity(
                http, f"http://{NAME}:{pair.port}/inbox", b"{}", key, federation.policy
            )
    assert pair.internal.seen == []
    assert any(line.startswith("GET ") for line in pair.public.seen)
    assert any(line.startswith("POST ") for line in pair.public.seen)

