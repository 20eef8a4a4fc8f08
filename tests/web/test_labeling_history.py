"""Back to earlier tasks in Chromium: Alt+← shows the labeler's last label, a number key changes it and
Enter saves it; further back, then Alt+→ forward to the task at hand, which is as it was. A reviewed item's
label can no longer change, and the page says why."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from tessera.accounts.models import User
from tessera.db.session import Database
from tessera.items.models import Item
from tessera.labels.models import Annotation
from tessera.projects.models import LabelClass, TaskType
from tests.support.data_api import ok
from tests.support.labeling import make_team
from tests.support.web import save_screenshot, sign_in

TEXTS = ["the first text", "the second text", "the third text"]


def _stored(db: Database, project_id: int) -> dict[str, list[str]]:
    with db.read() as session:
        names = {row.id: row.name for row in session.scalars(select(LabelClass))}
        rows = session.execute(
            select(Item.text, Annotation.payload).join(Item, Item.id == Annotation.item_id)
            .where(Annotation.project_id == project_id)
        ).all()  # fmt: skip
    return {str(text): [names[i] for i in payload["classes"]] for text, payload in rows}


def test_a_labeler_goes_back_changes_a_label_and_comes_forward(
    page: Any, live_server: str, client: TestClient, db: Database
) -> None:
    team = make_team(
        db, items=3, task_type=TaskType.text_classification_multiclass, labels=("yes", "no"), labelers=1,
        texts=TEXTS, width=None, height=None,
    )  # fmt: skip
    with db.read() as session:
        username = session.scalars(select(User.username).where(User.id == team.labeler_ids[0])).one()
    sign_in(page, live_server, username)
    page.goto(f"{live_server}/projects/{team.project_id}/label")
    seen = []
    for _ in range(2):  # label two texts "yes"
        text = page.locator(".text-item")
        text.wait_for()
        seen.append(text.inner_text())
        page.keyboard.press("1")
        page.keyboard.press("Enter")
        page.wait_for_function(f"document.querySelector('.text-item')?.textContent !== {seen[-1]!r}")
    third = page.locator(".text-item").inner_text()
    page.keyboard.press("2")  # a label on the task at hand, not sent yet

    page.keyboard.press("Alt+ArrowLeft")  # the newest label first
    page.locator(".past-banner").wait_for()
    assert page.locator(".past .text-item").inner_text() == seen[1]
    assert page.locator(".past .chip").all_inner_texts() == ["yes"]
    page.keyboard.press("2")
    assert page.locator("#status").inner_text() == "Changed, not saved: Enter saves it"
    page.keyboard.press("Enter")
    page.get_by_text("Saved", exact=True).wait_for()
    save_screenshot(page, "labeling-earlier-label")
    page.keyboard.press("Alt+ArrowLeft")
    page.wait_for_function(f"document.querySelector('.past .text-item')?.textContent === {seen[0]!r}")
    page.keyboard.press("Alt+ArrowLeft")  # nothing older: stays
    page.get_by_text("That is your first label in this project.").wait_for()
    assert _stored(db, team.project_id) == {seen[0]: ["yes"], seen[1]: ["no"]}

    reviewed = ok(client.get(f"/api/items/{_item_id(db, seen[0])}/review", headers=team.reviewer))
    decision = {"action": "set_label", "version": reviewed["version"], "label": {"classes": ["yes"]}}
    ok(client.post(f"/api/items/{reviewed['id']}/review", json=decision, headers=team.reviewer))
    page.keyboard.press("2")
    page.keyboard.press("Enter")
    page.get_by_text("Not saved: item").wait_for()  # reviewed meanwhile: refused, and said why
    assert "can no longer change" in page.locator("#status").inner_text()

    page.keyboard.press("Alt+ArrowRight")
    page.keyboard.press("Alt+ArrowRight")  # past the newest label: the task at hand, with its draft
    page.wait_for_function("document.querySelector('.past-banner') === null")
    assert page.locator(".tile .text-item").inner_text() == third
    assert page.locator(".tile .chip").all_inner_texts() == ["no"]
    page.keyboard.press("Enter")
    page.get_by_text("Nothing left for you").wait_for()
    assert _stored(db, team.project_id) == {seen[0]: ["yes"], seen[1]: ["no"], third: ["no"]}


def _item_id(db: Database, text: str) -> int:
    with db.read() as session:
        return int(session.scalars(select(Item.id).where(Item.text == text)).one())
