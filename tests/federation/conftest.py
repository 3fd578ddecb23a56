"""Fixtures for federation tests: two in-process instances on one routing transport.

``two_apps`` gives a pair ``(a, b)`` of migrated apps at http://localhost:8001 and
http://localhost:8002, each with its own SQLite database, inside ``test_app()`` (so the
federation runtime is built), with ``run_workers=False``. Outgoing HTTP of both goes through
one :class:`routing.RoutingTransport`, so a delivery from ``a`` lands in ``b``'s inbox route
directly. Queues are processed only when a test calls ``await drain(a, b)``::

    from harness import drain

    async def test_something(two_apps):
        a, b = two_apps
        ...                       # e.g. publish from a
        await drain(a, b)         # deliver and process until both queues are empty

``two_apps.router`` is the transport (add fake remote servers with ``router.add(host, asgi)``);
``two_apps.a`` / ``two_apps.b`` name the apps. ``drain`` is re-exported here too.
"""

from __future__ import annotations

from harness import AppPair, drain

# ``two_apps`` itself is defined in ``tests/conftest.py``: the tests of other areas use it too.
__all__ = ["AppPair", "drain"]
