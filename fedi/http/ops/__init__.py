"""Operations: the request log and request ids, ``/metrics``, ``/healthz`` and ``/readyz``.

``install(app)`` is called once by ``create_app``, after every other ASGI wrapper, so the
request log middleware sees every request first (README, "Operations").
"""

from __future__ import annotations

from typing import Any, cast

from fedi.http.ops import health
from fedi.http.ops import metrics as metrics_routes
from fedi.http.ops.metrics import METRICS, Metrics
from fedi.http.ops.request_log import RequestLogMiddleware, current_request_id, remember_route
from fedi.state import FediApp

__all__ = ["install"]


def install(app: FediApp) -> None:
    """Register the routes, the route-noting hook and the request log middleware."""
    settings = app.state.settings
    collected = Metrics() if settings.metrics_enabled else None
    app.state.put(METRICS, collected)
    app.register_blueprint(health.blueprint)
    app.register_blueprint(metrics_routes.blueprint)
    if collected is not None:
        # First of the before-request hooks, so requests refused by a later one (a CSRF
        # failure) are still counted under their route.
        app.before_request_funcs[None].insert(0, remember_route)
    # The error page shows it, so a person can quote it when reporting a problem.
    app.jinja_env.globals["request_id"] = current_request_id
    middleware = RequestLogMiddleware(
        cast(Any, app.asgi_app),
        metrics=collected.http if collected is not None else None,
        log_lines=settings.request_log,
    )
    # Quart types asgi_app as its own callable; the middleware is a plain ASGI app around it.
    app.asgi_app = cast(Any, middleware)  # type: ignore[method-assign]
