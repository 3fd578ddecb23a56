"""Accounts: creating people, registration modes, logging in, passwords, invites, admins.

Every rule about local accounts lives here; the web pages, the CLI and the C2S API call
these functions and only translate the errors they raise.
"""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from fedi.domain.audit import Target, record_audit
from fedi.domain.errors import Conflict, Forbidden, NotFound, ServiceError
from fedi.domain.instance_settings import get_registration_mode, set_registration_mode
from fedi.domain.local_actors import create_local_actor
from fedi.domain.names import name_is_taken, normalise_name, validate_local_name
from fedi.domain.passwords import (
    burn_verify_time,
    check_password_strength,
    hash_password,
    verify_password,
)
from fedi.domain.secrets_util import hash_secret, new_secret
from fedi.domain.tokens import (
    authenticate_token,
    create_token,
    list_tokens,
    revoke_token,
    revoke_token_by_id,
)
from fedi.domain.users import find_user, find_user_by_email, get_user
from fedi.settings import Settings
from models import (
    Actor,
    LoginSession,
    PasswordReset,
    RegistrationInvite,
    User,
    utcnow,
)

__all__ = [
    "approve_user",
    "authenticate",
    "authenticate_token",
    "change_password",
    "count_users",
    "create_invite",
    "create_reset_link",
    "create_token",
    "create_user",
    "find_invite",
    "find_user",
    "get_registration_mode",
    "get_user",
    "list_tokens",
    "list_users",
    "register",
    "reject_user",
    "reset_password",
    "revoke_token",
    "revoke_token_by_id",
    "set_admin",
    "set_disabled",
    "set_locale",
    "set_registration_mode",
    "valid_reset_token",
    "validate_email",
]

RESET_LIFETIME = timedelta(hours=24)
MAX_REASON_LENGTH = 1000
MAX_DISPLAY_NAME_LENGTH = 100
# Deliberately simple: one @, no spaces, a dot in the domain. Real validation of an address
# is sending mail to it, which this server does not do.
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s.]{2,}$")
LOCALES = ("nl", "en")


def validate_email(raw: str) -> str:
    """The normalised (lower-case) e-mail address, or ``ServiceError``."""
    email = raw.strip().lower()
    if not email:
        raise ServiceError("Please fill in your e-mail address.", field="email")
    if len(email) > 320 or not _EMAIL.match(email):
        raise ServiceError(
            "This does not look like an e-mail address (like name@example.org).", field="email"
        )
    return email


async def create_user(
    db: AsyncSession,
    settings: Settings,
    *,
    username: str,
    email: str,
    password: str,
    is_admin: bool = False,
    approved: bool = True,
    display_name: str = "",
    locale: str | None = None,
    reason: str = "",
) -> User:
    """Create a local person: their ``Person`` actor (with a key pair) and their ``User``."""
    name = validate_local_name(username)
    email = validate_email(email)
    check_password_strength(password, username=name, email=email)
    if len(display_name) > MAX_DISPLAY_NAME_LENGTH:
        raise ServiceError(
            "A display name has at most %(max)s characters.", field="display_name",
            max=MAX_DISPLAY_NAME_LENGTH,
        )
    if await name_is_taken(db, name):
        raise Conflict("The name %(name)s is already taken.", field="username", name=name)
    if await find_user_by_email(db, email) is not None:
        raise Conflict("An account with this e-mail address already exists.", field="email")
    actor = await create_local_actor(
        db, settings, username=name, actor_type="Person", display_name=display_name
    )
    user = User(
        actor_id=actor.id,
        email=email,
        password_hash=hash_password(password),
        is_admin=is_admin,
        approved=approved,
        disabled=False,
        locale=locale if locale in LOCALES else None,
        registration_reason=reason[:MAX_REASON_LENGTH],
    )
    user.actor = actor
    db.add(user)
    await db.flush()
    return user


async def find_invite(db: AsyncSession, token: str) -> RegistrationInvite | None:
    """The usable invite for ``token`` (not used up, not expired), or None."""
    if not token or len(token) > 200:
        return None
    invite = await db.scalar(
        select(RegistrationInvite).where(RegistrationInvite.token_hash == hash_secret(token))
    )
    if invite is None or invite.uses >= invite.max_uses:
        return None
    if invite.expires_at is not None and invite.expires_at <= utcnow():
        return None
    return invite


async def register(
    db: AsyncSession,
    settings: Settings,
    *,
    username: str,
    email: str,
    password: str,
    invite_token: str | None = None,
    reason: str = "",
    locale: str | None = None,
) -> User:
    """Sign up through the registration form, following the instance's registration mode.

    ``open``: the account is ready at once. ``approval``: the account waits until an admin
    approves it (the reason is shown to them). ``invite``: a valid invite token is needed.
    """
    mode = await get_registration_mode(db, settings)
    approved = True
    invite: RegistrationInvite | None = None
    reason = reason.strip()
    if mode == "invite":
        invite = await find_invite(db, invite_token or "")
        if invite is None:
            raise Forbidden(
                "Joining this instance needs an invitation, and this invitation link is not "
                "valid (any more).",
                field="invite",
            )
    elif mode == "approval":
        approved = False
        if not reason:
            raise ServiceError(
                "Please tell the admins briefly why you want to join.", field="reason"
            )
        if len(reason) > MAX_REASON_LENGTH:
            raise ServiceError(
                "Please keep it under %(max)s characters.", field="reason", max=MAX_REASON_LENGTH
            )
    user = await create_user(
        db, settings, username=username, email=email, password=password, approved=approved,
        reason=reason, locale=locale,
    )
    if invite is not None:
        invite.uses += 1
        await db.flush()
    return user


async def authenticate(db: AsyncSession, name_or_email: str, password: str) -> User:
    """The user with these credentials, or ``ServiceError``.

    The password is verified first, and only then is a pending or disabled account told
    apart: otherwise anybody could learn the state of any account without its password.
    """
    login = name_or_email.strip()
    user: User | None = None
    if login:
        if "@" in login.lstrip("@"):
            user = await find_user_by_email(db, login)
            if user is None:
                # "alice@example.org" may also be a handle of a local person.
                name, _, host = login.lstrip("@").partition("@")
                if host.lower() == (await _local_host(db, name)):
                    user = await find_user(db, name)
        else:
            user = await find_user(db, login)
    if user is None:
        burn_verify_time(password)
        raise ServiceError("The name or password is not right.", field="password")
    matches, needs_rehash = verify_password(user.password_hash, password)
    if not matches:
        raise ServiceError("The name or password is not right.", field="password")
    if needs_rehash:
        user.password_hash = hash_password(password)
    if user.disabled:
        raise Forbidden("This account has been disabled by an admin.")
    if not user.approved:
        raise Forbidden("Your registration is waiting for approval by an admin.")
    await db.flush()
    return user


async def _local_host(db: AsyncSession, name: str) -> str | None:
    host = await db.scalar(
        select(Actor.domain).where(
            Actor.local.is_(True), func.lower(Actor.username) == normalise_name(name)
        )
    )
    return host.lower() if host else None


async def change_password(db: AsyncSession, user: User, current: str, new: str) -> None:
    """Change a password after checking the current one."""
    db_user = await db.get(User, user.id)
    if db_user is None:
        raise NotFound("This account does not exist any more.")
    matches, _ = verify_password(db_user.password_hash, current)
    if not matches:
        raise ServiceError("Your current password is not right.", field="current_password")
    check_password_strength(new, username=db_user.actor.username, email=db_user.email)
    if verify_password(db_user.password_hash, new)[0]:
        raise ServiceError("The new password is the same as the current one.", field="password")
    db_user.password_hash = hash_password(new)
    db_user.password_changed_at = utcnow()
    await db.flush()


async def create_reset_link(
    db: AsyncSession, settings: Settings, username: str, *, acting: User | None = None,
    self_service: bool = False,
) -> str:
    """A one-time link (valid 24 hours) with which ``username`` sets a new password.

    An admin creates one to hand over (recorded in the audit log), or the person asks for
    one by e-mail (``self_service``: not an administration action, so not audited).
    """
    user = await get_user(db, username)
    token = new_secret(32)
    db.add(
        PasswordReset(
            user_id=user.id, token_hash=hash_secret(token), expires_at=utcnow() + RESET_LIFETIME
        )
    )
    await db.flush()
    if not self_service:
        await record_audit(db, "user.reset_link", by=acting, target=_user_target(user))
    return settings.url(f"/reset/{token}")


async def valid_reset_token(db: AsyncSession, token: str) -> PasswordReset | None:
    """The unused, unexpired reset for ``token``, or None."""
    if not token or len(token) > 200:
        return None
    reset = await db.scalar(
        select(PasswordReset).where(PasswordReset.token_hash == hash_secret(token))
    )
    if reset is None or reset.used_at is not None or reset.expires_at <= utcnow():
        return None
    return reset


async def reset_password(db: AsyncSession, token: str, new_password: str) -> User:
    """Set a new password with a reset link; the link then stops working.

    Every session of the account ends too: whoever asked for the reset may have lost
    control of a logged-in device.
    """
    reset = await valid_reset_token(db, token)
    if reset is None:
        raise NotFound(
            "This reset link is not valid (any more). Ask for a new one on the login page."
        )
    user = await db.get(User, reset.user_id)
    if user is None:
        raise NotFound("This account does not exist any more.")
    check_password_strength(new_password, username=user.actor.username, email=user.email)
    now = utcnow()
    user.password_hash = hash_password(new_password)
    user.password_changed_at = now
    others = await db.scalars(
        select(PasswordReset).where(
            PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None)
        )
    )
    for row in others:
        row.used_at = now
    await db.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
    await db.flush()
    return user


def _user_target(user: User) -> Target:
    """An account as the target of an audit entry."""
    return Target("user", str(user.id), user.actor.username)


async def approve_user(db: AsyncSession, username: str, *, acting: User | None = None) -> User:
    """Let a pending registration in."""
    user = await get_user(db, username)
    if user.approved:
        raise Conflict("%(name)s is already approved.", name=user.actor.username)
    user.approved = True
    await db.flush()
    await record_audit(db, "user.approve", by=acting, target=_user_target(user))
    return user


async def reject_user(db: AsyncSession, username: str, *, acting: User | None = None) -> None:
    """Refuse a pending registration: the account and its actor are deleted."""
    user = await get_user(db, username)
    if user.approved:
        raise Conflict(
            "%(name)s is not waiting for approval; disable the account instead.",
            name=user.actor.username,
        )
    actor = await db.get(Actor, user.actor_id)
    # Recorded before the delete: the entry keeps the name and what the person wrote to be
    # let in (the e-mail address is not kept: the log is never pruned).
    await record_audit(
        db, "user.reject", by=acting, target=_user_target(user),
        details={"registration_reason": user.registration_reason},
    )
    await db.delete(user)
    if actor is not None:
        await db.delete(actor)
    await db.flush()


async def _active_admin_count(db: AsyncSession) -> int:
    return int(
        await db.scalar(
            select(func.count(User.id)).where(
                User.is_admin.is_(True), User.disabled.is_(False), User.approved.is_(True)
            )
        )
        or 0
    )


async def set_disabled(
    db: AsyncSession, username: str, disabled: bool, *, acting: User | None = None
) -> User:
    """Disable (or enable again) an account; a disabled account cannot log in or use tokens."""
    user = await get_user(db, username)
    if disabled and acting is not None and acting.id == user.id:
        raise Forbidden("You cannot disable your own account.")
    if disabled and user.is_admin and not user.disabled and await _active_admin_count(db) <= 1:
        raise Conflict("This is the last admin; make someone else admin first.")
    user.disabled = disabled
    if disabled:
        await db.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
    await db.flush()
    action = "user.disable" if disabled else "user.enable"
    await record_audit(db, action, by=acting, target=_user_target(user))
    return user


async def set_admin(
    db: AsyncSession, username: str, is_admin: bool, *, acting: User | None = None
) -> User:
    """Give or take the admin role; the last active admin keeps theirs."""
    user = await get_user(db, username)
    if not is_admin and user.is_admin and await _active_admin_count(db) <= 1:
        raise Conflict("This is the last admin; make someone else admin first.")
    user.is_admin = is_admin
    await db.flush()
    action = "user.admin_grant" if is_admin else "user.admin_revoke"
    await record_audit(db, action, by=acting, target=_user_target(user))
    return user


async def set_locale(db: AsyncSession, user: User, locale: str) -> None:
    """Save the language a person prefers for the interface."""
    if locale not in LOCALES:
        raise ServiceError("This language is not available.", field="locale")
    db_user = await db.get(User, user.id)
    if db_user is None:
        raise NotFound("This account does not exist any more.")
    db_user.locale = locale
    await db.flush()


async def create_invite(
    db: AsyncSession,
    settings: Settings,
    created_by: User | None,
    max_uses: int = 1,
    expires_in_days: int | None = 7,
    note: str = "",
) -> str:
    """An invitation link to register (needed in invite mode, harmless in the others)."""
    if max_uses < 1 or max_uses > 1000:
        raise ServiceError("An invitation can be used 1 to 1000 times.", field="max_uses")
    if expires_in_days is not None and (expires_in_days < 1 or expires_in_days > 365):
        raise ServiceError("An invitation is valid for 1 to 365 days.", field="expires_in_days")
    token = new_secret(24)
    invite = RegistrationInvite(
        token_hash=hash_secret(token),
        created_by_id=created_by.id if created_by is not None else None,
        note=note.strip()[:255],
        max_uses=max_uses,
        expires_at=(utcnow() + timedelta(days=expires_in_days)) if expires_in_days else None,
    )
    db.add(invite)
    await db.flush()
    await record_audit(
        db, "invite.create", by=created_by, target=Target("invite", str(invite.id), invite.note),
        details={"max_uses": max_uses, "expires_in_days": expires_in_days},
    )
    return settings.url(f"/register?invite={token}")


async def list_users(
    db: AsyncSession, *, pending: bool | None = None, limit: int = 500, offset: int = 0
) -> list[User]:
    """Local users by name; ``pending=True`` gives only registrations waiting for approval."""
    query = select(User).join(Actor, Actor.id == User.actor_id)
    if pending is not None:
        query = query.where(User.approved.is_(not pending))
    query = query.order_by(Actor.username).limit(limit).offset(offset)
    return list((await db.scalars(query)).unique().all())


async def count_users(db: AsyncSession) -> dict[str, int]:
    """Numbers for the admin overview."""

    async def count(*conditions: object) -> int:
        return int(await db.scalar(select(func.count(User.id)).where(*conditions)) or 0)  # type: ignore[arg-type]

    return {
        "total": await count(),
        "active": await count(User.approved.is_(True), User.disabled.is_(False)),
        "pending": await count(User.approved.is_(False)),
        "disabled": await count(User.disabled.is_(True)),
        "admins": await count(User.is_admin.is_(True)),
        "remote_actors": int(
            await db.scalar(select(func.count(Actor.id)).where(Actor.local.is_(False))) or 0
        ),
    }
