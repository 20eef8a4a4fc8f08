"""Users, tokens, sign-in and members as the API shows them."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from tessera.accounts.models import ProjectRole, WorkspaceRole


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    display_name: str
    email: str | None
    workspace_role: WorkspaceRole
    is_active: bool
    created_at: datetime


class UserCreate(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1000)
    display_name: str | None = Field(None, max_length=200)
    email: str | None = Field(None, max_length=320)
    workspace_role: WorkspaceRole = WorkspaceRole.member


class UserUpdate(BaseModel):
    display_name: str | None = Field(None, max_length=200)
    workspace_role: WorkspaceRole | None = None
    is_active: bool | None = None
    password: str | None = Field(None, min_length=1, max_length=1000)


class SignIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1000)


class SignedIn(BaseModel):
    user: UserOut
    csrf_token: str | None = Field(
        None, description="Send as the X-CSRF-Token header on unsafe requests made with the session cookie."
    )


class TokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    expires_at: AwareDatetime | None = Field(None, description="With a timezone, e.g. 2030-01-01T00:00:00Z.")


class TokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    display_prefix: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenOut):
    token: str = Field(description="The secret. Shown this once: store it now.")


class MemberOut(BaseModel):
    user: UserOut
    role: ProjectRole


class MemberSet(BaseModel):
    role: ProjectRole
