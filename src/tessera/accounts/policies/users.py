"""Who may see and manage user accounts."""

from __future__ import annotations

from tessera.accounts.policies import Check, signed_in, workspace_admin


class UserPolicy:
    @staticmethod
    def read_self() -> Check:
        return signed_in()

    @staticmethod
    def list() -> Check:
        return workspace_admin("list users")

    @staticmethod
    def create() -> Check:
        return workspace_admin("create users")

    @staticmethod
    def update() -> Check:
        return workspace_admin("change users")
