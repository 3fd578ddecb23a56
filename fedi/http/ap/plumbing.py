"""Wiring the federation plumbing into an app: routes plus start-up and shut-down hooks.

``install(app)`` is called once from ``create_app``. On start-up it builds the federation
runtime (instance actor, fetcher, key cache) and, when ``settings.run_workers`` is on, starts
the inbox and delivery loops in-process; on shut-down it stops them.
"""

from __future__ import annotations

from typing import Any

from fedi.federation import instance_actor
from fedi.federation.runtime import build_federation
from fedi.http.ap import inbox as inbox_routes
from fedi.state import FediApp

RUNNER_KEY = "worker_runner"


def install(app: FediApp) -> None:
    """Register the inbox and instance actor routes and the runtime hooks on ``app``."""
    app.register_blueprint(inbox_routes.blueprint)
    app.register_blueprint(instance_actor.blueprint)
    app.state.extras.setdefault("startup_hooks", []).append(_start)
    app.state.extras.setdefault("shutdown_hooks", []).append(_stop)


async def _start(app: Any) -> None:
    state = app.state
    await build_federation(state)
    if state.settings.run_workers:
        from fedi.workers.runner import WorkerRunner

        runner = WorkerRunner(state)
        await runner.start()
        state.extras[RUNNER_KEY] = runner


async def _stop(app: Any) -> None:
    runner = app.state.extras.pop(RUNNER_KEY, None)
    if runner is not None:
        await runner.stop()
