"""The labeling tool on a multi-label text project, one item a page: the text is shown as text (markup
included), number keys toggle labels, Enter submits and the next item comes, S skips."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from tessera.accounts.models import User
from tessera.db.session import Database
from tessera.items.models import Item, ItemState
from tessera.projects.models import TaskType
from tests.support.labeling import make_team
from tests.support.web import save_screenshot, sign_in

TEXTS = ["<b>bold?</b> great phone, bad battery", "fast delivery", "nothing to say"]


def test_text_items_are_labeled_with_toggling_keys_and_skipped(
    page: Any, live_server: str, db: Database
) -> None:
    team = make_team(
        db, items=3, task_type=TaskType.text_classification_multilabel, labels=("praise", "complaint"),
        labelers=1, texts=TEXTS, width=None, height=None,
    )  # fmt: skip
    with db.read() as session:
        username = session.scalars(select(User.username).where(User.id == team.labeler_ids[0])).one()
    sign_in(page, live_server, username)
    page.goto(f"{live_server}/projects/{team.project_id}/label")
    seen = []
    for keys in (["1", "2"], ["1", "2", "2"]):
        text = page.locator(".text-item")
        text.wait_for()
        seen.append(text.inner_text())
        for key in keys:
            page.keyboard.press(key)
        if len(seen) == 1:
            assert page.locator(".tile .chip").all_inner_texts() == ["praise", "complaint"]
            save_screenshot(page, "labeling-text-multilabel")
        page.keyboard.press("Enter")
        page.wait_for_function(f"document.querySelector('.text-item')?.textContent !== {seen[-1]!r}")
    seen.append(page.locator(".text-item").inner_text())
    page.keyboard.press("s")
    page.get_by_text("Nothing left for you").wait_for()

    assert sorted(seen) == sorted(TEXTS)  # each shown once, markup as text
    assert page.evaluate("document.querySelector('b')") is None
    with db.read() as session:
        query = select(Item.text, Item.state).where(Item.project_id == team.project_id)
        states = dict(session.execute(query).all())  # rows: dict() takes a result itself for a mapping
    assert states == {seen[0]: ItemState.labeled, seen[1]: ItemState.labeled, seen[2]: ItemState.skipped}
