"""User accounts (workspace admins)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from tessera.accounts.policies import authorize
from tessera.accounts.policies.users import UserPolicy
from tessera.accounts.service import create_user, get_user, list_users, update_user
from tessera.api.deps import ActorDep, PageDep, SessionDep, UserId
from tessera.api.schemas.accounts import UserCreate, UserOut, UserUpdate
from tessera.api.schemas.common import ERROR_RESPONSES, Page, page_response

router = APIRouter(prefix="/api/users", tags=["users"], responses=ERROR_RESPONSES)


@router.get("", response_model=Page[UserOut])
def list_users_route(actor: ActorDep, session: SessionDep, page: PageDep) -> Response:
    authorize(actor, UserPolicy.list())
    users = list_users(session, after_id=page.position, limit=page.limit)
    return page_response(users, page.limit, UserOut)


@router.post("", response_model=UserOut, status_code=201)
def create_user_route(body: UserCreate, actor: ActorDep, session: SessionDep) -> UserOut:
    authorize(actor, UserPolicy.create())
    user = create_user(
        session,
        username=body.username,
        password=body.password,
        display_name=body.display_name,
        email=body.email,
        workspace_role=body.workspace_role,
    )
    return UserOut.model_validate(user)


@router.patch("/{user_id}", response_model=UserOut)
def update_user_route(user_id: UserId, body: UserUpdate, actor: ActorDep, session: SessionDep) -> UserOut:
    authorize(actor, UserPolicy.update())  # first: a 404 must not tell a non-admin which ids exist
    user = get_user(session, user_id)
    user = update_user(
        session,
        user,
        display_name=body.display_name,
        workspace_role=body.workspace_role,
        is_active=body.is_active,
        password=body.password,
    )
    return UserOut.model_validate(user)
