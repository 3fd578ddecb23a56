"""Mastodon's Web Push API: ``/api/v1/push/subscription`` (POST, GET, PUT, DELETE).

An app subscribes a push endpoint for the token it holds (one subscription per token, as on
Mastodon); the subscription is kept and checked by the same push service as a browser's
(``fedi.domain.push``), and pushes are queued and sent by the same worker. The answer is
Mastodon's ``WebPushSubscription`` entity, whose ``server_key`` is the instance's VAPID
public key (also in ``/api/v1/instance`` and ``/api/v2/instance``).

Parameters come as Mastodon.py and most apps send them (``subscription[endpoint]``,
``subscription[keys][p256dh]``, ``data[alerts][mention]``, ``policy`` or
``data[policy]``, form-encoded) or as nested JSON (``{"subscription": {...}, "data":
{...}}``).
"""

from __future__ import annotations

from typing import Any

from quart import Response

from fedi.domain import push, push_api
from fedi.http.mastodon.common import (
    ApiBlueprint,
    ApiError,
    ApiParams,
    api_access,
    api_json,
    api_params,
    api_user,
    bearer_token,
)
from fedi.state import get_state
from models import Actor, OAuthToken, PushSubscription

blueprint = ApiBlueprint("mastodon_push", __name__)

PATH = "/api/v1/push/subscription"


def _nested(params: ApiParams, *path: str) -> Any:
    """``a[b][c]`` from a form, or ``{"a": {"b": {"c": ...}}}`` from JSON."""
    flat = path[0] + "".join(f"[{part}]" for part in path[1:])
    if flat in params:
        return params.get(flat)
    value: Any = params.get(path[0])
    for part in path[1:]:
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _alerts(params: ApiParams) -> dict[str, Any]:
    """The ``data[alerts][type]`` values sent (only those)."""
    sent: dict[str, Any] = {}
    for name in params.names():
        if name.startswith("data[alerts][") and name.endswith("]"):
            sent[name[len("data[alerts]["):-1]] = params.get(name)
    nested = _nested(params, "data", "alerts")
    if isinstance(nested, dict):
        sent.update({str(key): value for key, value in nested.items()})
    return sent


def _policy(params: ApiParams) -> str | None:
    value = _nested(params, "data", "policy") or params.get("policy")
    return str(value) if value not in (None, "") else None


def _entity(row: PushSubscription, server_key: str) -> dict[str, Any]:
    """Mastodon's ``WebPushSubscription``."""
    return {
        "id": str(row.id),
        "endpoint": row.endpoint,
        "standard": row.encoding == "aes128gcm",
        "alerts": dict(row.alerts or {}),
        "server_key": server_key,
        "policy": row.policy,
    }


async def _token(db: Any) -> tuple[OAuthToken, Actor]:
    """The OAuth token of the request (with the ``push`` scope and a person behind it)
    and that person."""
    _user, person = await api_user(db, scopes=("push",))
    access = await api_access(db)
    if access is None:
        # A ``fedi token create`` token is not an app's token; there is nothing to tie
        # the subscription to (Mastodon only has OAuth tokens).
        raise ApiError(422, "Push subscriptions need an OAuth access token")
    return access.token, person


@blueprint.post(PATH)
async def create_subscription() -> Response:
    """Subscribe the token's push endpoint (replacing its previous one)."""
    state = get_state()
    params = await api_params()
    standard = _nested(params, "subscription", "standard")
    if standard is None:
        standard = params.get("standard")
    async with state.db.session() as db:
        # First: making the key (once) expires the session's objects.
        key = push.vapid_public_key(await push.load_vapid(db))
        token, person = await _token(db)
        row = await push_api.subscribe_app(
            db, state.settings, person, token, bearer_token(),
            endpoint=str(_nested(params, "subscription", "endpoint") or ""),
            p256dh=str(_nested(params, "subscription", "keys", "p256dh") or ""),
            auth=str(_nested(params, "subscription", "keys", "auth") or ""),
            alerts=_alerts(params), policy=_policy(params),
            standard=push_api.truthy(standard) if standard is not None else False,
        )
        return api_json(_entity(row, key))


@blueprint.get(PATH)
async def show_subscription() -> Response:
    """The token's subscription; 404 when it has none."""
    state = get_state()
    async with state.db.session() as db:
        key = push.vapid_public_key(await push.load_vapid(db))
        token, _person = await _token(db)
        row = await push_api.subscription_of_token(db, token)
        if row is None:
            raise ApiError(404, "Record not found")
        return api_json(_entity(row, key))


@blueprint.put(PATH)
async def update_subscription() -> Response:
    """Change the alerts and policy of the token's subscription."""
    state = get_state()
    params = await api_params()
    async with state.db.session() as db:
        key = push.vapid_public_key(await push.load_vapid(db))
        token, _person = await _token(db)
        row = await push_api.update_app(db, token, alerts=_alerts(params), policy=_policy(params))
        return api_json(_entity(row, key))


@blueprint.delete(PATH)
async def delete_subscription() -> Response:
    """Remove the token's subscription (``{}``, also when there was none)."""
    state = get_state()
    async with state.db.session() as db:
        token, _person = await _token(db)
        await push_api.unsubscribe_app(db, token)
    return api_json({})
