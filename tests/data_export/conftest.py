"""Your-data tests reuse the federation test helpers (the routing transport between
in-process instances, ``drain``) for the follow-list import."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

_FEDERATION = str(Path(__file__).resolve().parent.parent / "federation")
if _FEDERATION not in sys.path:
    sys.path.insert(0, _FEDERATION)

from harness import AppPair, running_pair  # noqa: E402


@pytest.fixture
async def two_apps(tmp_path: Path) -> AsyncIterator[AppPair]:
    """Instances at localhost:8001 and localhost:8002 on one routing transport (as in
    ``tests/federation/conftest.py``)."""
    async with running_pair(tmp_path) as pair:
        yield pair
