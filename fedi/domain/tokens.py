"""API tokens for the client-to-server API (bearer tokens on the outbox).

A token is shown once when created; only its SHA-256 hash and a short prefix (to tell
tokens apart in listings) are stored.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fedi.domain import oauth
from fedi.domain.errors import NotFound, ServiceError
from fedi.domain.secrets_util import hash_secret, new_secret
from fedi.domain.users import get_user
from models import ApiToken, User, utcnow

TOKEN_PREFIX = "fpt_"  # noqa: S105  (a marker, not a secret)
# "fpt_" plus 8 characters of the random part: enough to tell tokens apart, useless to guess.
SHOWN_PREFIX_LENGTH = len(TOKEN_PREFIX) + 8
MAX_LABEL_LENGTH = 255


async def create_token(db: AsyncSession, username: str, label: str = "") -> str:
    """Create a token for ``username`` and return it (the only time it is ever visible)."""
    user = await get_user(db, username)
    label = label.strip()
    if len(label) > MAX_LABEL_LENGTH:
        raise ServiceError(
            "A label has at most %(max)s characters.", field="label", max=MAX_LABEL_LENGTH
        )
    token = TOKEN_PREFIX + new_secret(32)
    db.add(
        ApiToken(
            user_id=user.id,
            token_hash=hash_secret(token),
            prefix=token[:SHOWN_PREFIX_LENGTH],
            label=label,
        )
    )
    await db.flush()
    return token


async def list_tokens(
    db: AsyncSession, user: User, *, include_revoked: bool = False
) -> list[ApiToken]:
    """The tokens of ``user``, newest first."""
    query = select(ApiToken).where(ApiToken.user_id == user.id)
    if not include_revoked:
        query = query.where(ApiToken.revoked_at.is_(None))
    query = query.order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    return list((await db.scalars(query)).all())


async def revoke_token(db: AsyncSession, username: str, prefix_or_all: str) -> int:
    """Revoke the token(s) of ``username`` whose prefix matches, or every one with ``"all"``.

    Returns how many were revoked; raises ``NotFound`` when none matched.
    """
    user = await get_user(db, username)
    tokens = await list_tokens(db, user)
    if prefix_or_all != "all":
        if len(prefix_or_all) < len(TOKEN_PREFIX) + 4:
            raise ServiceError("Give at least the first 8 characters of the token.", field="prefix")
        tokens = [
            t for t in tokens
            if t.prefix.startswith(prefix_or_all) or prefix_or_all.startswith(t.prefix)
        ]
    if not tokens:
        raise NotFound("No matching token was found.", field="prefix")
    now = utcnow()
    for token in tokens:
        token.revoked_at = now
    await db.flush()
    return len(tokens)


async def revoke_token_by_id(db: AsyncSession, user: User, token_id: int) -> None:
    """Revoke one of ``user``'s own tokens by its row id (the account page's buttons)."""
    token = await db.get(ApiToken, token_id)
    if token is None or token.user_id != user.id or token.revoked_at is not None:
        raise NotFound("No matching token was found.")
    token.revoked_at = utcnow()
    await db.flush()


async def authenticate_token(
    db: AsyncSession, token: str, *, scopes: tuple[str, ...] = ("read", "write")
) -> User | None:
    """The user a bearer token belongs to, or None (unknown, revoked, disabled, unapproved).

    Besides the ``fpt_`` tokens made here, an OAuth access token (issue 14, ``fedi.domain.
    oauth``) authenticates too when it was granted ``scopes`` (C2S needs read and write).
    """
    if token.startswith(oauth.ACCESS_TOKEN_PREFIX):
        access = await oauth.authenticate_access_token(db, token)
        if access is None or access.user is None:
            return None
        if not all(oauth.grants(access.scopes, scope) for scope in scopes):
            return None
        return access.user
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    row = (
        await db.execute(
            select(ApiToken, User)
            .join(User, User.id == ApiToken.user_id)
            .where(ApiToken.token_hash == hash_secret(token))
        )
    ).first()
    if row is None:
        return None
    api_token, user = row
    if api_token.revoked_at is not None or user.disabled or not user.approved:
        return None
    api_token.last_used_at = utcnow()
    await db.flush()
    return user
