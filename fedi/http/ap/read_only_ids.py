"""The ids we mint are read-only: other methods than GET/HEAD answer 405 with ``Allow``.

Without these routes a ``POST``/``PUT``/``PATCH``/``DELETE`` to an actor's, a tribe's, an
initiative's or one of its parts' id matched no view, and the CSRF check of the web pages
answered 400 ``csrf`` before routing could say 405 (what a C2S client expects: changes go
through the outbox). The notes, activities and contributions have theirs beside their GET
routes (``fedi.http.ap.objects``, ``fedi.http.ap.contributions``).
"""

from __future__ import annotations

from quart import Blueprint, Response

from fedi.http.web.csrf import csrf_exempt

blueprint = Blueprint("ap_read_only_ids", __name__)

METHODS = ["POST", "PUT", "PATCH", "DELETE"]
PATHS = (
    "/users/<username>",
    "/tribes/<slug>",
    "/initiatives/<int:initiative_id>",
    "/initiatives/<int:initiative_id>/tasks/<int:task_id>",
    "/initiatives/<int:initiative_id>/updates/<int:update_id>",
    "/initiatives/<int:initiative_id>/comments/<int:comment_id>",
)


def method_not_allowed() -> Response:
    """405 with ``Allow: GET, HEAD`` and a JSON reason."""
    response = Response(
        b'{"error": "method not allowed: post activities to the outbox"}', status=405,
        content_type="application/json",
    )
    response.headers["Allow"] = "GET, HEAD"
    return response


@csrf_exempt
async def not_allowed(**_ids: object) -> Response:
    """Any other method on a read-only id."""
    return method_not_allowed()


for _path in PATHS:
    blueprint.add_url_rule(_path, view_func=not_allowed, methods=METHODS)
