"""SQLAlchemy 2 models of the community server. No protocol code lives here."""

from models.account import ApiToken, LoginSession, PasswordReset, RegistrationInvite, User
from models.actor import Actor, ActorTalent
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
from models.instance import DomainBlock, InstanceSetting, RateLimitHit

__all__ = [
    "Actor",
    "ActorTalent",
    "ApObject",
    "ApiToken",
    "Base",
    "Delivery",
    "DomainBlock",
    "DomainHealth",
    "Follow",
    "InboxEntry",
    "InboxItem",
    "InstanceSetting",
    "LoginSession",
    "OutboxActivity",
    "PasswordReset",
    "RateLimitHit",
    "Reaction",
    "RegistrationInvite",
    "User",
    "utcnow",
]
