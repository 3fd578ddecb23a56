"""Fixtures for the protocol library tests: key pairs and a real loopback HTTP server
(``loopback_server.py``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from loopback_server import LoopbackServer, serve_one

from activitypub.keys import generate_rsa_keypair


@pytest.fixture
async def loopback() -> AsyncIterator[LoopbackServer]:
    """Start a loopback HTTP server for one test."""
    state = LoopbackServer("127.0.0.1", 0)

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await serve_one(state, reader, writer)

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    state.port = server.sockets[0].getsockname()[1]
    try:
        yield state
    finally:
        server.close()
        await server.wait_closed()


@pytest.fixture(scope="session")
def rsa_keys() -> tuple[str, str]:
    """An RSA key pair (private PEM, public PEM) shared by the session."""
    return generate_rsa_keypair()


@pytest.fixture(scope="session")
def other_rsa_keys() -> tuple[str, str]:
    """A second, unrelated RSA key pair."""
    return generate_rsa_keypair()
