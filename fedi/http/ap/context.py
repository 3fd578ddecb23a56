"""Our JSON-LD namespace document at ``{base}/ns``: the extension terms our documents use
(``phase``, ``lane``, ``isResolved``, contribution fields...), so ``"pu:"`` resolves."""

from __future__ import annotations

import orjson
from quart import Blueprint, Response

from activitypub.vocab import extension_context
from fedi.federation.documents.actors import namespace_url
from fedi.state import get_state

blueprint = Blueprint("jsonld_context", __name__)


@blueprint.get("/ns")
async def namespace() -> Response:
    """The ``extension_context`` document, as ``application/ld+json``."""
    doc = extension_context(namespace_url(get_state().settings))
    response = Response(orjson.dumps(doc), content_type="application/ld+json; charset=utf-8")
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response
