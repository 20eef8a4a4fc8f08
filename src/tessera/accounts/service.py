"""Users, API tokens and browser sessions. Functions take a session and raise tessera.core.errors."""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from tessera.accounts.models import ApiToken, BrowserSession, User, WorkspaceRole
from tessera.accounts.passwords import (
    MIN_PASSWORD_LENGTH,
    dummy_password_hash,
    hash_password,
    needs_rehash,
    verify_password,
)
from tessera.accounts.system_users import DISPLAY_NAMES
from tessera.core import clock
from tessera.core.errors import Conflict, Forbidden, Invalid, NotFound, Unauthenticated
from tessera.core.ids import digest, new_secret
from tessera.db.session import Database

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
API_TOKEN_PREFIX = "tsr_"  # noqa: S105 (a prefix, not a secret)
TOKEN_LAST_USED_PRECISION = timedelta(minutes=5)


def normalize_username(username: str) -> str:
    folded = username.strip().lower()
    if not USERNAME_PATTERN.match(folded):
        raise Invalid(
            "must be 1-64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit",
            field="username",
        )
    return folded


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid(f"must be at least {MIN_PASSWORD_LENGTH} characters", field="password")


def create_user(
    session: Session,
    *,
    username: str,
    password: str | None,
    display_name: str | None = None,
    email: str | None = None,
    workspace_role: WorkspaceRole = WorkspaceRole.member,
) -> User:
    key = normalize_username(username)
    if key in DISPLAY_NAMES:  # the system's own users (accounts/system_users.py)
        raise Invalid(f"{key!r} is reserved for the system", field="username")
    if password is not None:
        check_password_strength(password)
    if session.scalar(select(User.id).where(User.username == key)) is not None:
        raise Conflict(f"a user named {key!r} already exists", details={"field": "username"})
    user = User(
        username=key,
        display_name=(display_name or "").strip() or key,
        email=email,
        password_hash=hash_password(password) if password is not None else None,
        workspace_role=workspace_role,
    )
    session.add(user)
    session.flush()
    return user


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} does not exist")
    return user


def get_user_by_username(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise NotFound(f"user {username!r} does not exist")
    return user


def list_users(session: Session, *, after_id: int = 0, limit: int = 50) -> Sequence[User]:
    return session.scalars(select(User).where(User.id > after_id).order_by(User.id).limit(limit)).all()


def any_user_exists(session: Session) -> bool:
    return session.scalar(select(User.id).limit(1)) is not None


def update_user(
    session: Session,
    user: User,
    *,
    display_name: str | None = None,
    workspace_role: WorkspaceRole | None = None,
    is_active: bool | None = None,
    password: str | None = None,
) -> User:
    if display_name is not None:
        user.display_name = display_name.strip() or user.username
    losing_admin = user.is_admin and (
        (workspace_role is not None and workspace_role != WorkspaceRole.admin) or is_active is False
    )
    if losing_admin and not _another_active_admin(session, user):
        raise Conflict("the workspace keeps at least one active admin; make someone else admin first")
    if workspace_role is not None:
        user.workspace_role = workspace_role
    if is_active is not None:
        user.is_active = is_active
        if not is_active:
            _end_all_sessions(session, user)
    if password is not None:
        check_password_strength(password)
        user.password_hash = hash_password(password)
        _end_all_sessions(session, user)
    session.flush()
    return user


def _another_active_admin(session: Session, user: User) -> bool:
    """Lock every active admin's row, in id order, before counting: two admins demoting each other at
    once then run one after the other, and the second sees the first's change (PostgreSQL; SQLite's
    writers are serialized anyway)."""
    admins = session.scalars(
        select(User.id)
        .where(User.workspace_role == WorkspaceRole.admin, User.is_active.is_(True))
        .order_by(User.id)
        .with_for_update()
    ).all()
    return any(admin_id != user.id for admin_id in admins)


def authenticate_password(session: Session, *, username: str, password: str) -> tuple[int, str | None]:
    """The id of the user whose password this is, and a new hash when the hashing costs changed.
    Reads only. An unknown user costs the same hashing as a wrong password, and gets the same message."""
    row = session.execute(
        select(User.id, User.password_hash, User.is_active).where(User.username == username.strip().lower())
    ).first()
    if row is None or not row.is_active or row.password_hash is None:
        verify_password(dummy_password_hash(), password)
        raise Unauthenticated("wrong username or password")
    if not verify_password(row.password_hash, password):
        raise Unauthenticated("wrong username or password")
    return row.id, hash_password(password) if needs_rehash(row.password_hash) else None


def sign_in_with_password(
    database: Database, *, username: str, password: str, max_age: timedelta
) -> tuple[User, BrowserSession, str]:
    """Check the password in a read transaction, then start the session in a short write one: on SQLite
    the write lock is never held while Argon2 runs."""
    with database.read() as session:
        user_id, new_hash = authenticate_password(session, username=username, password=password)
    with database.write() as session:
        user = get_user(session, user_id)
        if not user.is_active:
            raise Unauthenticated("wrong username or password")
        if new_hash is not None:
            user.password_hash = new_hash
        browser_session, cookie_value = start_browser_session(session, user=user, max_age=max_age)
    return user, browser_session, cookie_value


# -- API tokens -----------------------------------------------------------------------------------------


def create_api_token(
    session: Session, *, user: User, name: str, expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """A new token and its secret. The secret is returned here once and never stored."""
    name = name.strip()
    if not name:
        raise Invalid("must not be empty", field="name")
    if expires_at is not None and (expires_at.tzinfo is None or expires_at <= clock.now()):
        raise Invalid("must be a moment in the future, with a timezone", field="expires_at")
    secret = new_secret(API_TOKEN_PREFIX)
    token = ApiToken(
        user_id=user.id,
        name=name[:100],
        token_digest=digest(secret),
        display_prefix=secret[:10],
        expires_at=expires_at,
    )
    session.add(token)
    session.flush()
    return token, secret


def list_api_tokens(session: Session, *, user: User) -> Sequence[ApiToken]:
    return session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)).all()


def revoke_api_token(session: Session, *, user: User, token_id: int) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound(f"token {token_id} does not exist")
    if token.revoked_at is None:
        token.revoked_at = clock.now()
    return token


# Asked on every request with a token: built once, run with the digest as a parameter (building the
# comparison anew each time was a fifth of the lookup's time), its user in the same statement.
_TOKEN_BY_DIGEST = (
    select(ApiToken, User)
    .join(User, User.id == ApiToken.user_id)
    .where(ApiToken.token_digest == bindparam("digest"))
)


def find_api_token(session: Session, secret: str) -> tuple[ApiToken, User]:
    """The live token for a secret and its user, or Unauthenticated saying why it is not accepted."""
    found = session.execute(_TOKEN_BY_DIGEST, {"digest": digest(secret)}).one_or_none()
    if found is None:
        raise Unauthenticated("the API token is not valid")
    token, user = found
    if token.revoked_at is not None:
        raise Unauthenticated("the API token was revoked")
    if token.expires_at is not None and token.expires_at <= clock.now():
        raise Unauthenticated("the API token has expired")
    return token, user


def token_use_is_stale(token: ApiToken) -> bool:
    """Whether `last_used_at` is worth a write (it is kept to the nearest few minutes, not per request)."""
    return token.last_used_at is None or clock.now() - token.last_used_at > TOKEN_LAST_USED_PRECISION


def record_api_token_use(session: Session, token_id: int) -> None:
    session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=clock.now()))


# -- browser sessions -----------------------------------------------------------------------------------


def start_browser_session(session: Session, *, user: User, max_age: timedelta) -> tuple[BrowserSession, str]:
    """A new sign-in and the cookie value for it."""
    cookie_value = secrets.token_urlsafe(32)
    row = BrowserSession(
        user_id=user.id,
        token_digest=digest(cookie_value),
        csrf_token=secrets.token_urlsafe(32),
        expires_at=clock.now() + max_age,
    )
    session.add(row)
    session.flush()
    return row, cookie_value


def find_browser_session(session: Session, cookie_value: str) -> BrowserSession:
    row = session.scalar(select(BrowserSession).where(BrowserSession.token_digest == digest(cookie_value)))
    if row is None:
        raise Forbidden("the session cookie is not valid; sign in again")
    if row.expires_at <= clock.now():
        raise Unauthenticated("the session has expired; sign in again")
    return row


def end_browser_session(session: Session, *, browser_session_id: int) -> None:
    row = session.get(BrowserSession, browser_session_id)
    if row is not None:
        session.delete(row)


def _end_all_sessions(session: Session, user: User) -> None:
    for row in session.scalars(select(BrowserSession).where(BrowserSession.user_id == user.id)):
        session.delete(row)
