"""The workspace keeps an active admin and every project an owner, even when two requests race."""

from __future__ import annotations

import contextlib
import threading

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tessera.accounts.memberships import set_member
from tessera.accounts.models import ProjectRole, User, WorkspaceRole
from tessera.accounts.service import update_user
from tessera.core.errors import Conflict
from tessera.db.session import Database
from tests.support.factories import bearer, make_project, make_token, make_user


def test_two_admins_demoting_each_other_at_once_leave_one_admin(db: Database) -> None:
    with db.write() as session:
        first, second = (
            make_user(session, "ann", role=WorkspaceRole.admin),
            make_user(session, "bob", role=WorkspaceRole.admin),
        )
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def demote(target_id: int) -> None:
        try:
            with db.write() as session:
                target = session.get(User, target_id)
                assert target is not None
                with contextlib.suppress(threading.BrokenBarrierError):
                    barrier.wait(timeout=2)  # PostgreSQL: both meet here; SQLite: the other waits on our lock
                update_user(session, target, workspace_role=WorkspaceRole.member)
            outcomes.append("demoted")
        except Conflict:
            outcomes.append("refused")

    threads = [threading.Thread(target=demote, args=(user.id,)) for user in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with db.read() as session:
        admins = session.scalars(
            select(User.username).where(User.workspace_role == WorkspaceRole.admin)
        ).all()
    assert len(admins) == 1, outcomes
    assert "demoted" in outcomes


def test_the_last_owner_cannot_leave_or_be_demoted(db: Database, client: TestClient) -> None:
    with db.write() as session:
        owner = make_user(session, "own")
        project = make_project(session, owner)
        token = make_token(session, owner)
    members = f"/api/projects/{project.id}/members/{owner.id}"
    assert client.put(members, json={"role": "manager"}, headers=bearer(token)).status_code == 409
    assert client.delete(members, headers=bearer(token)).status_code == 409
    with db.write() as session:
        other = make_user(session, "heir")
        set_member(session, project_id=project.id, user=other, role=ProjectRole.owner)
    assert client.put(members, json={"role": "manager"}, headers=bearer(token)).status_code == 200


@pytest.mark.parametrize("field", [{"is_active": False}, {"workspace_role": "member"}])
def test_an_admin_can_step_down_once_another_admin_exists(
    db: Database, client: TestClient, field: dict[str, object]
) -> None:
    with db.write() as session:
        me = make_user(session, "me", role=WorkspaceRole.admin)
        token = make_token(session, me)
    assert client.patch(f"/api/users/{me.id}", json=field, headers=bearer(token)).status_code == 409
    with db.write() as session:
        make_user(session, "next", role=WorkspaceRole.admin)
    assert client.patch(f"/api/users/{me.id}", json=field, headers=bearer(token)).status_code == 200
