"""Personal API tokens of the signed-in user."""

from __future__ import annotations

from fastapi import APIRouter

from tessera.accounts.policies import authorize
from tessera.accounts.policies.tokens import TokenPolicy
from tessera.accounts.service import create_api_token, list_api_tokens, revoke_api_token
from tessera.api.deps import ActorDep, SessionDep, TokenId
from tessera.api.schemas.accounts import TokenCreate, TokenCreated, TokenOut
from tessera.api.schemas.common import ERROR_RESPONSES

router = APIRouter(prefix="/api/tokens", tags=["tokens"], responses=ERROR_RESPONSES)


@router.get("", response_model=list[TokenOut])
def list_tokens(actor: ActorDep, session: SessionDep) -> list[TokenOut]:
    authorize(actor, TokenPolicy.manage_own())
    return [TokenOut.model_validate(token) for token in list_api_tokens(session, user=actor.user)]


@router.post("", response_model=TokenCreated, status_code=201)
def create_token(body: TokenCreate, actor: ActorDep, session: SessionDep) -> TokenCreated:
    """A new token. Its secret is in this response only; Tessera keeps just a digest of it."""
    authorize(actor, TokenPolicy.manage_own())
    token, secret = create_api_token(session, user=actor.user, name=body.name, expires_at=body.expires_at)
    return TokenCreated(**TokenOut.model_validate(token).model_dump(), token=secret)


@router.delete("/{token_id}", response_model=TokenOut)
def revoke_token(token_id: TokenId, actor: ActorDep, session: SessionDep) -> TokenOut:
    authorize(actor, TokenPolicy.manage_own())
    return TokenOut.model_validate(revoke_api_token(session, user=actor.user, token_id=token_id))
