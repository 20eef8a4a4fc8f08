"""Who may manage API tokens: every signed-in user, their own only (the service scopes by owner)."""

from __future__ import annotations

from tessera.accounts.policies import Check, signed_in


class TokenPolicy:
    @staticmethod
    def manage_own() -> Check:
        return signed_in()
