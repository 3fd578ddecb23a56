"""Fixtures of the Web Push tests: a push service on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.push_move.push_helpers import PushService, running_push_service


@pytest.fixture
def push_service() -> Iterator[PushService]:
    """A real HTTP server on 127.0.0.1 standing in for a browser vendor's push service."""
    yield from running_push_service()
