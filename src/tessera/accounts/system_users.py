"""Users that stand for the system rather than a person: `imported`, the labeler of labels imported as
final. Such a user is inactive and has no password, so nobody can sign in as it, and it holds no API
token; it exists so that annotations and the history name who made a label."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tessera.accounts.models import User, WorkspaceRole
from tessera.core.errors import Conflict

IMPORTED = "imported"
DISPLAY_NAMES = {IMPORTED: "Imported labels"}


def system_user(session: Session, username: str) -> User:
    """The system user, made on first use (inactive, no password). A person's account that took the name
    first is never used instead: Conflict."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        user = User(
            username=username,
            display_name=DISPLAY_NAMES.get(username, username),
            password_hash=None,
            workspace_role=WorkspaceRole.member,
            is_active=False,
        )
        try:
            with session.begin_nested():  # two first imports at once: the second finds the first's row
                session.add(user)
        except IntegrityError:
            user = session.scalars(select(User).where(User.username == username)).one()
    if user.is_active or user.password_hash is not None:
        raise Conflict(
            f"the username {username!r} belongs to a person's account; Tessera's system user needs it "
            f"(labels imported as final are made by {username!r}): an admin must free the name first"
        )
    return user
