"""Tables of people and their credentials."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from tessera.core.clock import now
from tessera.db.base import Base, UTCDateTime, str_enum


class WorkspaceRole(StrEnum):
    """What a user may do outside any project."""

    admin = "admin"  # everything, in every project
    creator = "creator"  # may create projects (and becomes their owner)
    member = "member"  # only what project memberships grant


class ProjectRole(StrEnum):
    """What a member may do inside one project (ordered from most to least)."""

    owner = "owner"
    manager = "manager"
    reviewer = "reviewer"
    labeler = "labeler"


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    workspace_role: Mapped[WorkspaceRole] = mapped_column(
        str_enum(WorkspaceRole), default=WorkspaceRole.member
    )
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    @property
    def is_admin(self) -> bool:
        return self.workspace_role == WorkspaceRole.admin


class ApiToken(Base):
    """A personal API token. Only its SHA-256 digest is stored; the token is shown once, at creation."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    display_prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class BrowserSession(Base):
    """A browser sign-in. The cookie holds a random token; the row holds its digest and the CSRF token."""

    __tablename__ = "browser_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Membership(Base):
    """A user's role in one project."""

    __tablename__ = "memberships"
    __table_args__ = (Index("ix_memberships_user_id_project_id", "user_id", "project_id"),)

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[ProjectRole] = mapped_column(str_enum(ProjectRole))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
