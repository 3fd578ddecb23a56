"""Mastodon.py's push methods against a real ``fedi serve`` process.

The library registers an app with the ``push`` scope, the person consents on the real
consent page, and ``push_subscription_set``/``_update``/``_delete`` talk to
``/api/v1/push/subscription`` exactly as they would to Mastodon. A second account follows
the person; the server's own push worker sends the push to a push relay played by a real
HTTP server on loopback, and ``push_subscription_decrypt_push`` decrypts it.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any

import pytest

from tests.live_helpers import person_with_token, wait_for
from tests.mastodon_api.mastodon_py_helpers import oauth_login
from tests.push_move.push_helpers import running_push_service

mastodon = pytest.importorskip("mastodon")

pytestmark = pytest.mark.live

SCOPES = ["read", "write", "follow", "push"]


def test_mastodon_py_subscribes_and_decrypts_a_push(live_server_factory: Any) -> None:
    server = live_server_factory(FEDI_RUN_WORKERS="inline")
    person_with_token(server, "anna")
    bob_token = person_with_token(server, "bob")
    anna = oauth_login(server, "anna", SCOPES)
    bob = mastodon.Mastodon(access_token=bob_token, api_base_url=server.base_url,
                            version_check_mode="none", request_timeout=30)
    instance_key = anna.instance_v2()["configuration"]["vapid"]["public_key"]

    with contextmanager(running_push_service)() as service:
        private, public = anna.push_subscription_generate_keys()
        made = anna.push_subscription_set(
            service.endpoint("anna"), public, follow_events=True, mention_events=True,
            favourite_events=False,
        )
        assert made["server_key"] == instance_key
        assert made["alerts"]["follow"] is True and made["alerts"]["favourite"] is False
        changed = anna.push_subscription_update(favourite_events=True)
        assert changed["alerts"]["favourite"] is True and changed["alerts"]["follow"] is True
        assert anna.push_subscription()["id"] == made["id"]

        me = anna.account_verify_credentials()
        bob.account_follow(me["id"])
        _path, headers, body = wait_for(
            lambda: service.received[0] if service.received else None,
            "the push for the follow", [server],
        )
        payload = anna.push_subscription_decrypt_push(
            body, private, headers["Encryption"], headers["Crypto-Key"]
        )
        assert payload["notification_type"] == "follow"
        assert payload["access_token"] == anna.access_token
        notification = anna.notifications(id=payload["notification_id"])
        assert notification["type"] == "follow"
        assert notification["account"]["username"] == "bob"

        anna.push_subscription_delete()
        with pytest.raises(mastodon.MastodonNotFoundError):
            anna.push_subscription()
