"""The domain events of tribes: their creation and edits, memberships, roles, moderation.

Each event names the tribe, the rows the change concerns and the ``actor`` who made it: a
local person for a change made on the web or the CLI, a remote one when an incoming
activity applied it (a Follow, Join or Leave from another server). The tribe services emit
them after the change is flushed; ``fedi.federation.outgoing.tribes`` subscribes and sends
what the tribe's ``Group`` actor has to say (``Accept``/``Reject``, ``Invite``,
``Update{Group}``, ``Add``/``Remove`` of moderators, the announce of an approved post).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from fedi.domain.events import DomainEvent
from models import (
    Actor,
    HeldPost,
    Report,
    Tribe,
    TribeBlock,
    TribeInvite,
    TribeMember,
    TribePost,
)

__all__ = [
    "HeldPostDecided",
    "InviteCreated",
    "InviteDeclined",
    "JoinApproved",
    "JoinRejected",
    "JoinRequested",
    "MemberInvited",
    "MemberJoined",
    "MemberLeft",
    "MemberRemoved",
    "MembershipEvent",
    "ReportFiled",
    "RoleChanged",
    "TribeBlocked",
    "TribeCreated",
    "TribeEvent",
    "TribePostAccepted",
    "TribeUpdated",
    "membership_event",
]


@dataclass(frozen=True)
class TribeEvent(DomainEvent):
    """Something changed about ``tribe``; ``actor`` made the change."""

    actor: Actor
    tribe: Tribe


@dataclass(frozen=True)
class TribeCreated(TribeEvent):
    """A tribe was created (its creator, the actor, is its first admin already)."""


@dataclass(frozen=True)
class TribeUpdated(TribeEvent):
    """A tribe's fields, image or join mode changed."""


@dataclass(frozen=True)
class MembershipEvent(TribeEvent):
    """A membership changed; ``member`` is the row (already deleted from the session for
    the changes that end it, its attributes still readable), ``person`` whose it is."""

    member: TribeMember
    person: Actor
    change: ClassVar[str] = ""


@dataclass(frozen=True)
class MemberJoined(MembershipEvent):
    """``person`` is an active member now (open tribe, invitation accepted, valid link)."""

    change: ClassVar[str] = "joined"


@dataclass(frozen=True)
class JoinRequested(MembershipEvent):
    """``person`` asked to join an approval tribe; the admins decide."""

    change: ClassVar[str] = "requested"


@dataclass(frozen=True)
class JoinApproved(MembershipEvent):
    """An admin or moderator (the actor) let ``person``'s request in."""

    change: ClassVar[str] = "approved"


@dataclass(frozen=True)
class JoinRejected(MembershipEvent):
    """An admin or moderator refused ``person``'s request (the row is deleted)."""

    change: ClassVar[str] = "rejected"


@dataclass(frozen=True)
class MemberInvited(MembershipEvent):
    """``person`` was invited (an ``invited`` membership); for a remote person the row's
    ``activity_ap_id`` is the id of the ``Invite`` to send."""

    change: ClassVar[str] = "invited"


@dataclass(frozen=True)
class InviteDeclined(MembershipEvent):
    """``person`` declined an invitation (the row is deleted)."""

    change: ClassVar[str] = "declined"


@dataclass(frozen=True)
class MemberLeft(MembershipEvent):
    """``person`` left the tribe or withdrew a request (the row is deleted)."""

    change: ClassVar[str] = "left"


@dataclass(frozen=True)
class MemberRemoved(MembershipEvent):
    """An admin or moderator removed ``person``, or a block did (the row is deleted)."""

    change: ClassVar[str] = "removed"


_BY_CHANGE: dict[str, type[MembershipEvent]] = {
    cls.change: cls
    for cls in (
        MemberJoined, JoinRequested, JoinApproved, JoinRejected, MemberInvited,
        InviteDeclined, MemberLeft, MemberRemoved,
    )
}


def membership_event(
    change: str, *, actor: Actor, tribe: Tribe, member: TribeMember, person: Actor
) -> MembershipEvent:
    """The event for a membership ``change`` (``joined``, ``requested``, ``approved``...)."""
    return _BY_CHANGE[change](actor=actor, tribe=tribe, member=member, person=person)


@dataclass(frozen=True)
class RoleChanged(TribeEvent):
    """An admin (the actor) changed ``member``'s role from ``old_role`` to ``new_role``."""

    member: TribeMember
    person: Actor
    old_role: str
    new_role: str


@dataclass(frozen=True)
class InviteCreated(TribeEvent):
    """An admin created an invitation link or e-mail invitation (nothing is sent)."""

    invite: TribeInvite


@dataclass(frozen=True)
class TribeBlocked(TribeEvent):
    """A person or domain was blocked for the tribe (their memberships are gone already)."""

    block: TribeBlock


@dataclass(frozen=True)
class HeldPostDecided(TribeEvent):
    """A moderator approved (the tribe then distributes it) or rejected a held post."""

    held: HeldPost


@dataclass(frozen=True)
class TribePostAccepted(TribeEvent):
    """``post`` (by ``actor``) is the tribe's now; ``activity`` created it (for a note
    written here, a reference ``{id, type, actor, object}`` to its ``Create``)."""

    post: TribePost
    activity: dict[str, Any]


@dataclass(frozen=True)
class ReportFiled(DomainEvent):
    """A report was filed by ``actor`` (here, or by an incoming ``Flag``)."""

    actor: Actor
    report: Report
    tribe: Tribe | None = None
