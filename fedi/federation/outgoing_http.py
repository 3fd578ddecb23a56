"""The app's outgoing URL policy and the pinned transport its HTTP client connects through.

Fetching, delivery and WebFinger all share ``state.http``; its transport connects only to
addresses the policy checked (``activitypub.pinned``), so a name that rebinds to a private
address between the check and the connect never reaches it. Tests may put their own policy
(a controlled resolver) into the slot before the app starts serving.
"""

from __future__ import annotations

import httpx

from activitypub.pinned import PinnedTransport
from activitypub.urlpolicy import UrlPolicy
from fedi.state import AppState, Slot

__all__ = ["URL_POLICY", "outgoing_policy", "outgoing_transport"]

URL_POLICY: Slot[UrlPolicy] = Slot("url-policy")


def outgoing_policy(state: AppState) -> UrlPolicy:
    """The URL policy of ``state`` (made from the settings on first use)."""
    policy = state.get(URL_POLICY)
    if policy is None:
        policy = UrlPolicy(allow_private=state.settings.allow_private_network)
        state.put(URL_POLICY, policy)
    return policy


def outgoing_transport(state: AppState, limits: httpx.Limits) -> httpx.AsyncBaseTransport:
    """The transport for the app's HTTP client: the injected one in tests, else pinned."""
    if state.http_transport is not None:
        return state.http_transport
    return PinnedTransport(outgoing_policy(state), limits=limits)
