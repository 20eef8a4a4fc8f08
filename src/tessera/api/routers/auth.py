"""Browser sign-in and sign-out, and who am I."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request, Response

from tessera.accounts.policies import authorize
from tessera.accounts.policies.users import UserPolicy
from tessera.accounts.service import end_browser_session, sign_in_with_password
from tessera.api.deps import ActorDep, DatabaseDep, SessionDep, SettingsDep
from tessera.api.schemas.accounts import SignedIn, SignIn, UserOut
from tessera.api.schemas.common import ERROR_RESPONSES

router = APIRouter(prefix="/api/auth", tags=["auth"], responses=ERROR_RESPONSES)


@router.post("/sign-in", response_model=SignedIn)
def sign_in(body: SignIn, response: Response, database: DatabaseDep, settings: SettingsDep) -> SignedIn:
    """Check a username and password and set the session cookie. Unsafe requests made with the cookie
    must carry the returned CSRF token in the X-CSRF-Token header."""
    max_age = timedelta(hours=settings.session_max_age_hours)
    user, browser_session, cookie = sign_in_with_password(
        database, username=body.username, password=body.password, max_age=max_age
    )
    response.set_cookie(
        settings.session_cookie_name,
        cookie,
        max_age=int(max_age.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path="/",
    )
    return SignedIn(user=UserOut.model_validate(user), csrf_token=browser_session.csrf_token)


@router.post("/sign-out", status_code=204)
def sign_out(
    request: Request, response: Response, actor: ActorDep, session: SessionDep, settings: SettingsDep
) -> None:
    authorize(actor, UserPolicy.read_self())
    browser_session = getattr(request.state, "browser_session", None)
    if browser_session is not None:
        end_browser_session(session, browser_session_id=browser_session.id)
    response.delete_cookie(settings.session_cookie_name, path="/")


@router.get("/me", response_model=SignedIn)
def read_me(request: Request, actor: ActorDep) -> SignedIn:
    authorize(actor, UserPolicy.read_self())
    browser_session = getattr(request.state, "browser_session", None)
    return SignedIn(
        user=UserOut.model_validate(actor.user),
        csrf_token=browser_session.csrf_token if browser_session is not None else None,
    )
