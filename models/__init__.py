"""SQLAlchemy 2 models of the community server. No protocol code lives here."""

from models.account import ApiToken, LoginSession, PasswordReset, RegistrationInvite, User
from models.actor import Actor, ActorTalent
from models.audit import AuditEntry
from models.base import Base, utcnow
from models.federation import (
    ApObject,
    Delivery,
    DomainHealth,
    Follow,
    InboxEntry,
    InboxItem,
    OutboxActivity,
    Reaction,
)
from models.initiative import (
    Comment,
    Contribution,
    Initiative,
    InitiativePartner,
    InitiativeSupporter,
    InitiativeUpdate,
    Lane,
    Notification,
    NotificationSetting,
    Rating,
    Task,
)
from models.instance import DomainBlock, InstanceSetting, RateLimitHit
from models.mail import OutgoingMail
from models.meetup import Meetup, MeetupParticipant
from models.poll import Poll, PollOption, PollVote
from models.tribe import (
    HeldPost,
    Report,
    Tribe,
    TribeBlock,
    TribeEvent,
    TribeInvite,
    TribeMember,
)
from models.tribe_federation import TribeAnnounce, TribePost

__all__ = [
    "Actor",
    "ActorTalent",
    "ApObject",
    "ApiToken",
    "AuditEntry",
    "Base",
    "Comment",
    "Contribution",
    "Delivery",
    "DomainBlock",
    "DomainHealth",
    "Follow",
    "HeldPost",
    "InboxEntry",
    "InboxItem",
    "Initiative",
    "InitiativePartner",
    "InitiativeSupporter",
    "InitiativeUpdate",
    "InstanceSetting",
    "Lane",
    "LoginSession",
    "Meetup",
    "MeetupParticipant",
    "Notification",
    "NotificationSetting",
    "OutboxActivity",
    "OutgoingMail",
    "PasswordReset",
    "Poll",
    "PollOption",
    "PollVote",
    "RateLimitHit",
    "Rating",
    "Reaction",
    "RegistrationInvite",
    "Report",
    "Task",
    "Tribe",
    "TribeAnnounce",
    "TribeBlock",
    "TribeEvent",
    "TribeInvite",
    "TribeMember",
    "TribePost",
    "User",
    "utcnow",
]
