"""``receive_create`` dispatches by object type through ``OBJECT_RECEIVERS``.

Other features (initiatives as ``Page``, tasks as ``Ticket``) register receivers without
editing the notes service; this checks that a registered type reaches its receiver after the
usual checks, and that an unregistered type is left alone.
"""

from __future__ import annotations

from typing import Any

from harness import drain
from tribe_fed_helpers import PUBLIC, deliver, remote
from tribe_helpers import make_person

from fedi.federation.incoming import object_receivers


async def test_registered_object_type_reaches_its_receiver(two_apps, monkeypatch):
    a, _b = two_apps
    _server, fiona = remote(two_apps.router, "localhost:9001", "fiona")
    await make_person(a, "alice")
    seen: list[dict[str, Any]] = []

    async def receive_ticket(db, state, sender, activity, doc):
        seen.append(doc)
        return doc

    monkeypatch.setitem(object_receivers.OBJECT_RECEIVERS, "Ticket", receive_ticket)
    ticket = {"id": fiona.server.url("/tickets/1"), "type": "Ticket", "attributedTo": fiona.id,
              "name": "Bankjes plaatsen", "to": [PUBLIC]}
    odd = {"id": fiona.server.url("/odd/1"), "type": "Odd", "attributedTo": fiona.id}
    forged = dict(ticket, id="http://localhost:9009/tickets/2")
    for obj in (ticket, odd, forged):
        activity = fiona.activity("Create", obj, to=[PUBLIC, "http://localhost:8001/users/alice"])
        assert await deliver(a, fiona, activity) == 202
    await drain(a)
    # (The worker may run a handler again after rolling back a batch: compare as a set.)
    assert {doc["id"] for doc in seen} == {ticket["id"]}
    # Notes have a receiver (initiatives register one for Note that files replies to an
    # initiative and hands every other note to the notes service's receive_post).
    assert object_receivers.OBJECT_RECEIVERS["Note"].__name__ in ("receive_post", "receive_note")
