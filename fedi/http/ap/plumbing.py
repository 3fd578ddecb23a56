"""Wiring the federation plumbing into an app: routes plus start-up and shut-down hooks.

``install(app)`` is called once from ``create_app``. On start-up it builds the federation
runtime (instance actor, fetcher, key cache) and, when ``settings.run_workers`` is on, starts
the inbox and delivery loops in-process; on shut-down it stops them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fedi.federation.runtime import build_federation
from fedi.http.ap import inbox as inbox_routes
from fedi.http.ap import instance_actor
from fedi.state import FediApp, Slot
from fedi.workers.runner import WorkerRunner

if TYPE_CHECKING:
    from fedi.workers.runner import WorkerRunner

# The in-process worker loops, while the app serves with ``run_workers`` on.
WORKERS: Slot[WorkerRunner] = Slot("workers")


def install(app: FediApp) -> None:
    """Register the inbox and instance actor routes and the runtime hooks on ``app``."""
    app.register_blueprint(inbox_routes.blueprint)
    app.register_blueprint(instance_actor.blueprint)
    app.state.startup_hooks.append(_start)
    app.state.shutdown_hooks.append(_stop)


async def _start(app: Any) -> None:
    state = app.state
    await build_federation(state)
    if state.settings.run_workers:

        runner = WorkerRunner(state)
        await runner.start()
        state.put(WORKERS, runner)


async def _stop(app: Any) -> None:
    runner = app.state.get(WORKERS)
    app.state.put(WORKERS, None)
    if runner is not None:
        await runner.stop()
