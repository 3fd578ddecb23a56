"""Fixtures for the operations tests: an app with ``/metrics`` on."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from fedi.app import create_app
from fedi.settings import Settings
from fedi.state import FediApp
from tests.ops.ops_helpers import METRICS_TOKEN


@pytest.fixture
async def ops_app(settings: Settings) -> AsyncIterator[FediApp]:
    """A migrated app with ``/metrics`` behind ``METRICS_TOKEN`` (on both databases)."""
    application = create_app(settings.with_changes(metrics_token=METRICS_TOKEN))
    await application.state.db.upgrade()
    async with application.test_app():
        yield application
