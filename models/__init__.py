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
from models.mastodon_api import Bookmark, IdempotencyKey, MediaAttachment, TimelineMarker
from models.meetup import Meetup, MeetupParticipant
from models.notification_prefs import NotificationPreference
from models.oauth import OAuthApp, OAuthCode, OAuthToken
from models.poll import Poll, PollOption, PollVote
from models.push import PushMessage, PushPreference, PushSubscription
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
from models.visit import LastVisit

__all__ = [
    "Actor",
    "ActorTalent",
    "ApObject",
    "ApiToken",
    "AuditEntry",
    "Base",
    "Bookmark",
    "Comment",
    "Contribution",
    "Delivery",
    "DomainBlock",
    "DomainHealth",
    "Follow",
    "HeldPost",
    "IdempotencyKey",
    "InboxEntry",
    "InboxItem",
    "Initiative",
    "InitiativePartner",
    "InitiativeSupporter",
    "InitiativeUpdate",
    "InstanceSetting",
    "Lane",
    "LastVisit",
    "LoginSession",
    "MediaAttachment",
    "Meetup",
    "MeetupParticipant",
    "Notification",
    "NotificationPreference",
    "NotificationSetting",
    "OAuthApp",
    "OAuthCode",
    "OAuthToken",
    "OutboxActivity",
    "OutgoingMail",
    "PasswordReset",
    "Poll",
    "PollOption",
    "PollVote",
    "PushMessage",
    "PushPreference",
    "PushSubscription",
    "RateLimitHit",
    "Rating",
    "Reaction",
    "RegistrationInvite",
    "Report",
    "Task",
    "TimelineMarker",
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
