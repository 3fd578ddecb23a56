"""OAuth 2 for the Mastodon client API (issue 14): registered apps, codes and tokens.

Secrets (client secrets, authorisation codes, access tokens) are stored as SHA-256
hashes only, like the C2S tokens in ``models.account``: a database leak hands out nothing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class OAuthApp(Base):
    """A client application registered with ``POST /api/v1/apps`` (anyone may register)."""

    __tablename__ = "oauth_apps"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    client_secret_hash: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255))
    website: Mapped[str | None] = mapped_column(String(2048), default=None)
    # One redirect URI a line (custom schemes and ``urn:ietf:wg:oauth:2.0:oob`` included).
    redirect_uris: Mapped[str] = mapped_column(Text, default="")
    # The scopes the app may ask for, space-separated.
    scopes: Mapped[str] = mapped_column(String(1024), default="read")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OAuthCode(Base):
    """A one-time authorisation code given to an app after a person's consent."""

    __tablename__ = "oauth_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    app_id: Mapped[int] = mapped_column(
        ForeignKey("oauth_apps.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    redirect_uri: Mapped[str] = mapped_column(Text)
    scopes: Mapped[str] = mapped_column(String(1024))
    # PKCE (RFC 7636): the challenge and its method ("S256" or "plain"), when the app sent one.
    code_challenge: Mapped[str | None] = mapped_column(String(128), default=None)
    code_challenge_method: Mapped[str | None] = mapped_column(String(8), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None] = mapped_column(default=None)


class OAuthToken(Base):
    """An access token: of a person (authorisation code) or of the app alone (client
    credentials, ``user_id`` None)."""

    __tablename__ = "oauth_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    app_id: Mapped[int] = mapped_column(
        ForeignKey("oauth_apps.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True, default=None
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(1024))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
